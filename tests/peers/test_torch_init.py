"""Port of PyTorch's `torch.nn.init` tests onto jaxinit's torch-named schemes (`*_`).

Upstream: pytorch/pytorch `test/nn/test_init.py` at commit
12f7cd7a4fb3a7888915a1dde501e482c0ac1810 (`TestNNInit`): test_uniform, test_normal,
test_trunc_normal, test_constant, test_ones_and_zeros, test_eye, test_eye_only_works_on_2d_inputs,
test_dirac_properties, test_dirac_only_works_on_3_4_5d_inputs,
test_xavier_*_errors_on_inputs_smaller_than_2d, test_xavier_uniform, test_xavier_normal,
test_kaiming_*_errors_on_inputs_smaller_than_2d, test_kaiming_*_warning_on_0element_tensor,
test_kaiming_uniform, test_kaiming_normal, test_calculate_gain_* and the deprecated
un-suffixed names.

Adapted: torch fills a tensor in place in its `(out, in, *k)` layout; jaxinit returns an array
in the Flax layout `(*k, in, out)`, so a torch size `(a, b, *k)` is drawn here as `(*k, b, a)`
(torch's fan_in = b * prod(k) is Flax's in_axis=-2). Sizes and hyperparameters come from
`random.seed(123)` as upstream, keys are fixed, so every case is deterministic; the KS tests
keep torch's threshold (p > 1e-4). torch's `ValueError`s are jaxinit's ShapeError /
HyperparameterError (ValueErrors). torch's deprecated un-suffixed names (`init.normal`,
`init.kaiming_uniform`, ...) warn and run torch's function; here the un-suffixed names keep the
JAX/Flax meaning, and a torch hyperparameter on them is an error naming the torch scheme.
"""

from __future__ import annotations

import math
import random

import jax
import numpy as np
import pytest
from scipy import stats

import jaxinit

KEY = jax.random.key(0)


def flax_shape(torch_size):
    """torch `(out, in, *k)` -> Flax `(*k, in, out)`."""
    torch_size = list(torch_size)
    if len(torch_size) < 2:
        return tuple(torch_size)
    return tuple(torch_size[2:]) + (torch_size[1], torch_size[0])


def _is_normal(x, mean, std):
    return stats.kstest(np.ravel(x), "norm", args=(mean, std))[1] > 0.0001


def _is_trunc_normal(x, mean, std, a, b):
    z = (np.ravel(x).astype(np.float64) - mean) / std
    return stats.kstest(z, "truncnorm", args=((a - mean) / std, (b - mean) / std))[1] > 0.0001


def _is_uniform(x, a, b):
    return stats.kstest(np.ravel(x), "uniform", args=(a, (b - a)))[1] > 0.0001


@pytest.fixture
def rng():
    return random.Random(123)


def _size(rng, dims, size_min, size_max):
    return [rng.randint(size_min, size_max) for _ in range(dims)]


def _float(rng, a, b):
    return (b - a) * rng.random() + a


def test_calculate_gain_linear():
    for fn in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "conv_transpose3d"):
        assert jaxinit.calculate_gain(fn) == 1


def test_calculate_gain_nonlinear():
    assert jaxinit.calculate_gain("sigmoid") == 1
    assert jaxinit.calculate_gain("tanh") == 1.6666666666666667
    assert jaxinit.calculate_gain("relu") == 1.4142135623730951
    assert jaxinit.calculate_gain("leaky_relu") == 1.4141428569978354
    assert jaxinit.calculate_gain("selu") == 0.75


def test_calculate_gain_leaky_relu():
    for param, want in ((None, 1.4141428569978354), (0, 1.4142135623730951), (10, None)):
        got = jaxinit.calculate_gain("leaky_relu", param)
        if want is not None:
            assert got == want
    assert jaxinit.calculate_gain("leaky_relu", 10) == pytest.approx(0.14071950894605836)


def test_calculate_gain_leaky_relu_only_accepts_numbers():
    for param in (True, [1], {"a": "b"}):
        with pytest.raises(ValueError):
            jaxinit.calculate_gain("leaky_relu", param)


def test_calculate_gain_only_accepts_valid_nonlinearities():
    for bad in ("qz", "abcde", "x" * 25):
        with pytest.raises(ValueError):
            jaxinit.calculate_gain(bad)


def test_uniform(rng):
    for i, dims in enumerate((1, 2, 4)):
        size = _size(rng, dims, 30, 50)
        a = _float(rng, -3, 3)
        b = a + _float(rng, 1, 5)
        x = jaxinit.get("uniform_", low=a, high=b)(jax.random.key(i), flax_shape(size))
        assert _is_uniform(x, a, b)


def test_normal(rng):
    for i, dims in enumerate((1, 2, 4)):
        size = _size(rng, dims, 30, 50)
        mean, std = _float(rng, -3, 3), _float(rng, 1, 5)
        x = jaxinit.get("normal_", mean=mean, std=std)(jax.random.key(i), flax_shape(size))
        assert _is_normal(x, mean, std)


def test_trunc_normal(rng):
    for i, dims in enumerate((1, 2, 4)):
        size = _size(rng, dims, 30, 50)
        mean, std = _float(rng, -3, 3), _float(rng, 0.01, 1)
        a = _float(rng, mean - 2 * std, mean)
        b = _float(rng, mean, mean + 2 * std)
        init = jaxinit.get("trunc_normal_", mean=mean, std=std, a=a, b=b)
        assert _is_trunc_normal(init(jax.random.key(i), flax_shape(size)), mean, std, a, b)


def test_constant(rng):
    for dims in (1, 2, 4):
        size = flax_shape(_size(rng, dims, 1, 5))
        val = _float(rng, 1, 10)
        x = jaxinit.get("constant_", value=val)(KEY, size)
        np.testing.assert_array_equal(np.asarray(x), np.full(size, val, np.float32))


def test_ones_and_zeros(rng):
    for name, val in (("ones_", 1), ("zeros_", 0)):
        for dims in (1, 2, 4):
            size = flax_shape(_size(rng, dims, 1, 5))
            np.testing.assert_array_equal(np.asarray(jaxinit.get(name)(KEY, size)), val)


def test_eye(rng):
    size = _size(rng, 2, 1, 5)
    x = np.asarray(jaxinit.get("eye_")(KEY, tuple(size)))
    for i in range(size[0]):
        for j in range(size[1]):
            assert x[i][j] == (1 if i == j else 0)


def test_eye_only_works_on_2d_inputs(rng):
    for dims in (1, 3):
        with pytest.raises(ValueError):
            jaxinit.get("eye_")(KEY, tuple(_size(rng, dims, 1, 3)))


def test_dirac_properties(rng):
    for dims in (3, 4, 5):
        for groups in (1, 2, 3):
            a, c, d, e = (rng.randint(1, 5) for _ in range(4))
            b = rng.randint(1, 5 * groups)
            size = (a * groups, b, c, d, e)[:dims]
            x = np.asarray(jaxinit.get("dirac_", groups=groups)(KEY, flax_shape(size)))
            c_out, c_in = size[0] // groups, size[1]
            min_d = min(c_out, c_in)
            assert np.count_nonzero(x) == min_d * groups
            assert x.sum() == min_d * groups


def test_dirac_only_works_on_3_4_5d_inputs(rng):
    for dims in (1, 2, 6):
        with pytest.raises(ValueError):
            jaxinit.get("dirac_")(KEY, tuple(_size(rng, dims, 1, 3)))


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_"])
def test_xavier_errors_on_inputs_smaller_than_2d(name):
    for dims in (0, 1):
        with pytest.raises(ValueError):
            jaxinit.get(name)(KEY, (1,) * dims)


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_errors_on_inputs_smaller_than_2d(name):
    for dims in (0, 1):
        with pytest.raises(ValueError):
            jaxinit.get(name)(KEY, (1,) * dims)


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_warning_on_0element_tensor(name):
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        x = jaxinit.get(name)(KEY, flax_shape((0, 1)))
    assert x.shape == (1, 0)


def _fans(size):
    rf = math.prod(size[2:])
    return size[1] * rf, size[0] * rf


def test_xavier_uniform(rng):
    for i, (use_gain, dims) in enumerate((g, d) for g in (True, False) for d in (2, 4)):
        size = _size(rng, dims, 20, 25)
        gain = _float(rng, 0.1, 2) if use_gain else 1
        hp = {"gain": gain} if use_gain else {}
        x = jaxinit.get("xavier_uniform_", **hp)(jax.random.key(i), flax_shape(size))
        fan_in, fan_out = _fans(size)
        bounds = gain * math.sqrt(2.0 / (fan_in + fan_out)) * math.sqrt(3)
        assert _is_uniform(x, -bounds, bounds)


def test_xavier_normal(rng):
    for i, (use_gain, dims) in enumerate((g, d) for g in (True, False) for d in (2, 4)):
        size = _size(rng, dims, 20, 25)
        gain = _float(rng, 0.1, 2) if use_gain else 1
        hp = {"gain": gain} if use_gain else {}
        x = jaxinit.get("xavier_normal_", **hp)(jax.random.key(i), flax_shape(size))
        fan_in, fan_out = _fans(size)
        assert _is_normal(x, 0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_cases(rng):
    i = 0
    for use_a in (True, False):
        for dims in (2, 4):
            for mode in ("fan_in", "fan_out"):
                size = _size(rng, dims, 20, 25)
                hp = {"mode": mode}
                a = 0
                if use_a:
                    a = _float(rng, 0, 1)
                    hp["a"] = a
                fan_in, fan_out = _fans(size)
                n = fan_in if mode == "fan_in" else fan_out
                std = math.sqrt(2.0 / ((1 + a**2) * n))
                yield jax.random.key(i), size, hp, std
                i += 1


def test_kaiming_uniform(rng):
    for key, size, hp, std in _kaiming_cases(rng):
        x = jaxinit.get("kaiming_uniform_", **hp)(key, flax_shape(size))
        assert _is_uniform(x, -std * math.sqrt(3.0), std * math.sqrt(3.0))


def test_kaiming_normal(rng):
    for key, size, hp, std in _kaiming_cases(rng):
        x = jaxinit.get("kaiming_normal_", **hp)(key, flax_shape(size))
        assert _is_normal(x, 0, std)


@pytest.mark.parametrize(
    "name,hp,torch_name",
    [
        ("uniform", {"low": 0.0, "high": 1.0}, "uniform_"),
        ("normal", {"mean": 0.0, "std": 1.0}, "normal_"),
        ("xavier_uniform", {"gain": 1.0}, "xavier_uniform_"),
        ("xavier_normal", {"gain": 1.0}, "xavier_normal_"),
        ("kaiming_uniform", {"a": 0.0}, "kaiming_uniform_"),
        ("kaiming_normal", {"a": 0.0}, "kaiming_normal_"),
    ],
)
def test_deprecated_unsuffixed_names(name, hp, torch_name):
    """torch's deprecated `init.kaiming_uniform(t, a=...)`: here the name is JAX's and a torch
    hyperparameter names the torch scheme to use instead."""
    with pytest.raises(jaxinit.HyperparameterError, match=f"did you mean '{torch_name}'"):
        jaxinit.get(name, **hp)
    jaxinit.get(torch_name, **hp)  # the torch scheme takes them
