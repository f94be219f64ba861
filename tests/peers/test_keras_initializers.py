"""Port of Keras 3's initializer tests onto jaxinit's Keras-named schemes (class names).

Upstream:
* keras-team/keras `keras/src/initializers/random_initializers_test.py` at commit
  359a061219f5d8e6c10896e0c986a021c0e98c0f: test_random_normal, test_random_uniform,
  test_variance_scaling, test_orthogonal_initializer, test_get_method,
  test_variance_scaling_invalid_scale / _mode / _distribution.
* keras-team/keras `keras/src/initializers/constant_initializers_test.py` at commit
  1e3e0e0f5af065e079db26d10417d5271f769df7: test_zeros/ones/constant initializer,
  test_constant_initializer_array_value, test_identity_initializer.

Adapted: Keras's `seed=` is a JAX key here (`jax.random.key(1234)`), so "same seed, same values"
is "same key, same values"; Keras's serialization round trips (`run_class_serialization_test`)
and SeedGenerator cases have no counterpart (jaxinit initializers are pure closures; their
configs are `.hyperparameters`, checked instead); STFTInitializer is not a jaxinit scheme.
Keras's `ValueError` messages are jaxinit's (HyperparameterError / UnknownNameError, both
ValueErrors). The `input_axes`/`output_axes` cases follow Keras's `compute_fans`.
"""

from __future__ import annotations

import numpy as np
import pytest

import jaxinit

SEED = 1234


def key(seed=SEED):
    import jax

    return jax.random.key(seed)


def test_random_normal():
    shape = (25, 20)
    mean, stddev = 0.0, 1.0
    initializer = jaxinit.get("RandomNormal", mean=mean, stddev=stddev)
    values = initializer(key(), shape)
    assert initializer.hyperparameters == {"mean": mean, "stddev": stddev}
    assert values.shape == shape
    np.testing.assert_allclose(np.std(np.asarray(values)), stddev, atol=1e-1)
    # a fixed seed (key) yields the same results each call
    np.testing.assert_array_equal(initializer(key(1337), shape), initializer(key(1337), shape))
    assert not np.allclose(initializer(key(1337), shape), initializer(key(1338), shape))


def test_random_uniform():
    shape = (5, 5)
    minval, maxval = -1.0, 1.0
    initializer = jaxinit.get("RandomUniform", minval=minval, maxval=maxval)
    values = np.asarray(initializer(key(), shape))
    assert initializer.hyperparameters == {"minval": minval, "maxval": maxval}
    assert values.shape == shape
    assert np.min(values) >= minval
    assert np.max(values) < maxval


@pytest.mark.parametrize("mode,fan", [("fan_in", 25), ("fan_out", 20)])
def test_variance_scaling(mode, fan):
    shape = (25, 20)
    scale = 2.0
    initializer = jaxinit.get("VarianceScaling", scale=scale, mode=mode)
    values = initializer(key(), shape)
    assert initializer.hyperparameters["scale"] == scale
    assert values.shape == shape
    np.testing.assert_allclose(np.std(np.asarray(values)), np.sqrt(scale / fan), atol=1e-1)


def test_variance_scaling_input_output_axes():
    """Keras 3 `VarianceScaling(input_axes=, output_axes=)`: fans from exactly those axes."""
    shape = (512, 8, 64)
    for mode, want in (("fan_in", 512), ("fan_out", 64), ("fan_avg", (512 + 64) / 2)):
        init = jaxinit.get("VarianceScaling", scale=2.0, mode=mode, input_axes=[0], output_axes=[2])
        assert init.stats(shape).std == pytest.approx(np.sqrt(2.0 / want))
        x = np.asarray(init(key(), shape), np.float64)
        n = x.size
        assert abs(x.std() - np.sqrt(2.0 / want)) < 6 * np.sqrt(2.0 / want) / np.sqrt(2 * n)
    # the default fans of (512, 8, 64) are (8 * 512, 64 * 512): a different law
    default = jaxinit.get("VarianceScaling", scale=2.0).stats(shape).std
    assert default == pytest.approx(np.sqrt(2.0 / (8 * 512)))
    # only one of the two given: Keras ignores it, so does jaxinit
    only = jaxinit.get("VarianceScaling", scale=2.0, input_axes=[0]).stats(shape).std
    assert only == pytest.approx(default)
    # the class-named specialisations take them too (Keras 3 GlorotUniform(input_axes=...))
    g = jaxinit.get("GlorotUniform", input_axes=[0, 1], output_axes=[2]).stats(shape)
    assert g.high == pytest.approx(np.sqrt(6.0 / (512 * 8 + 64)))
    # Keras's max(1, n): empty axis lists give fan 1
    e = jaxinit.get("HeNormal", input_axes=[], output_axes=[]).stats((3, 4))
    assert e.std == pytest.approx(np.sqrt(2.0))


def test_variance_scaling_axes_equal_keras():
    """The same law as Keras's own initializer on the same shape (Keras's std via its
    compute_fans, read off the Keras source's formula)."""
    from keras.src.initializers.random_initializers import compute_fans

    from jaxinit._src.fans import keras_axes_fans

    for shape, ins, outs in (((512, 8, 64), [0], [2]), ((3, 4, 5), [0, 1], [2]), ((7,), [0], [0])):
        assert compute_fans(shape, ins, outs) == tuple(
            int(f) for f in keras_axes_fans(shape, ins, outs)
        )


def test_orthogonal_initializer():
    shape = (5, 5)
    gain = 2.0
    initializer = jaxinit.get("OrthogonalInitializer", gain=gain)
    values = initializer(key(), shape)
    assert initializer.hyperparameters["gain"] == gain
    assert values.shape == shape
    array = np.asarray(values, np.float64)
    for column in array.T:  # the columns have gain * unit norm
        assert np.linalg.norm(column) == pytest.approx(gain * 1.0, abs=1e-5)
    for i in range(array.shape[-1]):  # and are orthogonal to each other
        for j in range(i + 1, array.shape[-1]):
            assert np.dot(array[..., i], array[..., j]) == pytest.approx(0.0, abs=1e-5)
    # legacy class name
    assert jaxinit.describe("Orthogonal").name == jaxinit.describe("OrthogonalInitializer").name


def test_get_method():
    assert jaxinit.describe("GlorotNormal").name == "keras_glorot_normal"
    with pytest.raises(ValueError):
        jaxinit.get("typo")


def test_variance_scaling_invalid_scale():
    with pytest.raises(ValueError, match=r"scale=-1.0 must be > 0"):
        jaxinit.get("VarianceScaling", scale=-1.0, mode="fan_in")


def test_variance_scaling_invalid_mode():
    with pytest.raises(ValueError, match=r"unknown mode 'invalid_mode'"):
        jaxinit.get("VarianceScaling", scale=2.0, mode="invalid_mode")


def test_variance_scaling_invalid_distribution():
    with pytest.raises(ValueError, match=r"unknown distribution 'invalid_dist'"):
        jaxinit.get("VarianceScaling", scale=2.0, mode="fan_in", distribution="invalid_dist")


# constant_initializers_test.py


def test_zeros_initializer():
    shape = (3, 3)
    values = jaxinit.get("Zeros")(key(), shape)
    assert values.shape == shape
    np.testing.assert_allclose(np.asarray(values), np.zeros(shape=shape))


def test_ones_initializer():
    shape = (3, 3)
    values = jaxinit.get("Ones")(key(), shape)
    assert values.shape == shape
    np.testing.assert_allclose(np.asarray(values), np.ones(shape=shape))


def test_constant_initializer():
    shape = (3, 3)
    constant_value = 6.0
    values = jaxinit.get("Constant", value=constant_value)(key(), shape)
    assert values.shape == shape
    np.testing.assert_allclose(np.asarray(values), np.full(shape=shape, fill_value=6.0))


def test_constant_initializer_array_value():
    shape = (3, 3)
    constant_value = np.random.default_rng(0).random((3, 3))
    values = jaxinit.get("Constant", value=constant_value)(key(), shape)
    assert values.shape == shape
    np.testing.assert_allclose(
        np.asarray(values), np.full(shape=shape, fill_value=constant_value), rtol=1e-6
    )
    # broadcasting, as Keras's cast(value) * ones(shape): a row vector fills every row
    row = np.arange(4.0)
    values = jaxinit.get("Constant", value=row)(key(), (3, 4))
    np.testing.assert_array_equal(np.asarray(values), np.broadcast_to(row, (3, 4)))
    # JAX's constant(value) takes an array too (jnp.full broadcasts), and 0-d arrays as numbers
    import jax.numpy as jnp

    np.testing.assert_array_equal(
        np.asarray(jaxinit.get("constant", value=jnp.array(2.5))(key(), (2,))), [2.5, 2.5]
    )


def test_identity_initializer():
    shape = (3, 3)
    gain = 2
    values = jaxinit.get("Identity", gain=gain)(key(), shape)
    assert values.shape == shape
    np.testing.assert_allclose(np.asarray(values), np.eye(*shape) * gain)
