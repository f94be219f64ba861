"""Port of JAX's own initializer tests onto jaxinit's JAX-named schemes.

Upstream: jax-ml/jax `tests/nn_test.py` at commit 000f87c09ffad5efa8a1f70f123be21c6431ecba,
class `NNInitializersTest` and its `INITIALIZER_RECS` table (`ALL_SHAPES`, `initializer_record`).
Each `nn.initializers.X` is replaced by `functools.partial(jaxinit.get, "X")`: the same factory
call (`X()`, `X(dtype=...)`), the same shapes and dtypes (`jtu.dtypes.floating` is float16,
bfloat16, float32; `jtu.dtypes.inexact` adds complex64; float64/complex128 need x64 and are
checked under `jax.enable_x64`). Beyond the upstream assertions (shape, dtype) every case also
checks that the values equal JAX's own initializer for the same key (in float32 and complex64;
see `_same`), which is what a drop-in means. Adapted: `testVarianceScalingError`'s message is
jaxinit's (a ShapeError, a ValueError); JAX's `random.PRNGKey(0)` is `jax.random.key(0)`.
"""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit

FLOATING = (jnp.float16, jnp.bfloat16, jnp.float32)
INEXACT = FLOATING + (jnp.complex64,)
ALL_SHAPES = [(2,), (2, 2), (2, 3), (3, 2), (2, 3, 4), (4, 3, 2), (2, 3, 4, 5)]


def jx(name, *args, **kw):
    return functools.partial(jaxinit.get, name, *args, **kw)


def initializer_record(name, ours, theirs, dtypes, min_dims=2, max_dims=4):
    shapes = [s for s in ALL_SHAPES if min_dims <= len(s) <= max_dims]
    return (name, ours, theirs, shapes, dtypes)


ini = jax.nn.initializers
INITIALIZER_RECS = [
    initializer_record("uniform", jx("uniform"), ini.uniform, FLOATING, 1),
    initializer_record("normal", jx("normal"), ini.normal, INEXACT, 1),
    initializer_record("he_normal", jx("he_normal"), ini.he_normal, INEXACT),
    initializer_record("he_uniform", jx("he_uniform"), ini.he_uniform, INEXACT),
    initializer_record("glorot_normal", jx("glorot_normal"), ini.glorot_normal, INEXACT),
    initializer_record("glorot_uniform", jx("glorot_uniform"), ini.glorot_uniform, INEXACT),
    initializer_record("lecun_normal", jx("lecun_normal"), ini.lecun_normal, INEXACT),
    initializer_record("lecun_uniform", jx("lecun_uniform"), ini.lecun_uniform, INEXACT),
    initializer_record("orthogonal", jx("orthogonal"), ini.orthogonal, FLOATING, 2, 2),
    initializer_record(
        "truncated_normal", jx("truncated_normal"), ini.truncated_normal, FLOATING, 1
    ),
    initializer_record(
        "delta_orthogonal", jx("delta_orthogonal"), ini.delta_orthogonal, FLOATING, 4, 4
    ),
    initializer_record(
        "variance_scaling_fan_geo_avg",
        jx("variance_scaling", scale=1, mode="fan_geo_avg", distribution="normal"),
        functools.partial(ini.variance_scaling, 1, "fan_geo_avg", "normal"),
        FLOATING,
    ),
]

CASES = [
    (name, ours, theirs, shape, dtype)
    for name, ours, theirs, shapes, dtypes in INITIALIZER_RECS
    for shape, dtype in itertools.product(shapes, dtypes)
]
IDS = [f"{c[0]}-{c[3]}-{jnp.dtype(c[4]).name}" for c in CASES]


def _same(ours, theirs, dtype):
    """Equal to JAX's array in float32/complex64. float16/bfloat16 are not compared: jaxinit
    draws in float32 and casts (README: the distribution of a bfloat16 parameter is the float32
    one), where JAX draws in the low-precision dtype itself."""
    if jnp.dtype(dtype) in (jnp.float32, jnp.complex64):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs()), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name,ours,theirs,shape,dtype", CASES, ids=IDS)
def test_initializer(name, ours, theirs, shape, dtype):
    """testInitializer: `X()(key, shape, dtype)` has that shape and exactly that dtype."""
    key = jax.random.key(0)
    val = ours()(key, shape, dtype)
    assert jnp.shape(val) == shape
    assert val.dtype == jax.dtypes.canonicalize_dtype(dtype)
    _same(val, lambda: theirs()(key, shape, dtype), dtype)


@pytest.mark.parametrize("name,ours,theirs,shape,dtype", CASES, ids=IDS)
def test_initializer_provider(name, ours, theirs, shape, dtype):
    """testInitializerProvider: the build-time `dtype=` is the default dtype of the call."""
    key = jax.random.key(0)
    val = ours(dtype=dtype)(key, shape)
    assert jnp.shape(val) == shape
    assert val.dtype == jax.dtypes.canonicalize_dtype(dtype)
    _same(val, lambda: theirs(dtype=dtype)(key, shape), dtype)


def test_call_time_dtype_overrides_build_time_dtype():
    key = jax.random.key(0)
    for name in ("normal", "glorot_uniform", "truncated_normal", "constant"):
        init = jaxinit.get(name, dtype=jnp.bfloat16)
        assert init(key, (3, 4)).dtype == jnp.bfloat16
        assert init(key, (3, 4), jnp.float16).dtype == jnp.float16


def test_x64_dtypes():
    """float64 and complex128 (jtu.dtypes.inexact under x64), equal to JAX's arrays."""
    key = jax.random.key(0)
    with jax.enable_x64(True):
        for name, ours, theirs, shapes, dtypes in INITIALIZER_RECS:
            wide = [jnp.float64] + ([jnp.complex128] if jnp.complex64 in dtypes else [])
            for dtype in wide:
                val = ours()(key, shapes[-1], dtype)
                assert val.dtype == jnp.dtype(dtype), name
                ref = theirs()(key, shapes[-1], dtype)
                np.testing.assert_allclose(np.asarray(val), np.asarray(ref), rtol=1e-12)


def test_variance_scaling_multi_axis():
    key = jax.random.key(0)
    shape = (2, 3, 4, 5)
    kw = dict(scale=1.0, mode="fan_avg", distribution="truncated_normal")
    val = jaxinit.get("variance_scaling", **kw, in_axis=(0, 1), out_axis=(-2, -1))(key, shape)
    assert jnp.shape(val) == shape
    ref = ini.variance_scaling(**kw, in_axis=(0, 1), out_axis=(-2, -1))(key, shape)
    np.testing.assert_allclose(val, ref, rtol=1e-6)


def test_variance_scaling_batch_axis():
    key = jax.random.key(0)
    shape = (2, 3, 4, 5)
    kw = dict(scale=1.0, mode="fan_avg", distribution="truncated_normal")
    ours = jaxinit.get("variance_scaling", **kw, in_axis=0, out_axis=(2, 3), batch_axis=1)
    val = ours(key, shape)
    assert jnp.shape(val) == shape
    ref = ini.variance_scaling(**kw, in_axis=0, out_axis=(2, 3), batch_axis=1)(key, shape)
    np.testing.assert_allclose(val, ref, rtol=1e-6)


def test_variance_scaling_error():
    """JAX raises a ValueError for rank 1 with the default axes; jaxinit a ShapeError (a
    ValueError) naming the scheme and the shape."""
    init = jaxinit.get(
        "variance_scaling", scale=1.0, mode="fan_avg", distribution="truncated_normal"
    )
    with pytest.raises(ValueError, match=r"variance_scaling: cannot compute .* rank 1 \(5,\)"):
        init(jax.random.key(0), (5,))


@pytest.mark.parametrize(
    "in_axis,out_axis,shape",
    [([0], [], (2,)), ([], [], ()), ([], [], (2,)), (0, -1, (3,)), ([0], [0], (4,))],
)
def test_variance_scaling_explicit_axes_on_rank_0_and_1(in_axis, out_axis, shape):
    """Explicit axes on rank-0/1 shapes: fans from the listed axes, an empty product is 1."""
    key = jax.random.key(0)
    for dist in ("truncated_normal", "normal", "uniform"):
        kw = dict(scale=1.0, mode="fan_avg", distribution=dist, in_axis=in_axis, out_axis=out_axis)
        val = jaxinit.get("variance_scaling", **kw)(key, shape)
        ref = ini.variance_scaling(**kw)(key, shape)
        assert val.shape == shape
        np.testing.assert_allclose(val, ref, rtol=1e-6)


def test_accidental_upcasting():
    """testAccidentalUpcasting: a 0-d float32 array hyperparameter does not upcast bfloat16."""
    rng = jax.random.key(0)
    shape = (4, 4)
    scalar_param = jnp.array(1.0, dtype=jnp.float32)
    for init_fn in (
        jaxinit.get("uniform", scale=scalar_param, dtype=jnp.bfloat16),
        jaxinit.get("normal", stddev=scalar_param, dtype=jnp.bfloat16),
        jaxinit.get("truncated_normal", stddev=scalar_param, dtype=jnp.bfloat16),
    ):
        sub_rng, rng = jax.random.split(rng)
        val = init_fn(sub_rng, shape)
        assert val.dtype == jnp.bfloat16
    # numpy scalars and 0-d numpy arrays as well, and through the Keras/torch names
    for hp in (np.float32(0.5), np.array(0.5), jnp.array(0.5, jnp.bfloat16)):
        assert jaxinit.get("normal_", std=hp)(rng, shape, jnp.bfloat16).dtype == jnp.bfloat16
        assert jaxinit.get("RandomUniform", maxval=hp)(rng, shape).dtype == jnp.float32


def test_complex_semantics():
    """Complex draws are JAX's: E|w|^2 = scale / n, uniform on a disk of radius sqrt(3 var)."""
    key = jax.random.key(3)
    shape = (256, 512)
    fi, fo = 256.0, 512.0
    for name, var, dist in (
        ("glorot_uniform", 2 / (fi + fo), "uniform"),
        ("he_normal", 2 / fi, "truncated_normal"),
        ("lecun_normal", 1 / fi, "truncated_normal"),
    ):
        w = np.asarray(jaxinit.get(name)(key, shape, jnp.complex64), np.complex128)
        p = np.mean(np.abs(w) ** 2)
        assert abs(p - var) < 6 * var / np.sqrt(w.size) * 1.5, (name, p, var)
        assert abs(w.mean()) < 6 * np.sqrt(var / w.size)
        if dist == "uniform":
            assert np.abs(w).max() <= np.sqrt(2 * var) * (1 + 1e-6)  # disk of E|z|^2 = var
        else:
            assert np.abs(w).max() <= 2 * np.sqrt(var) / 0.95311164380491208 * (1 + 1e-6)
    w = np.asarray(jaxinit.get("normal", stddev=0.5)(key, shape, jnp.complex64))
    assert abs(np.mean(np.abs(w) ** 2) - 0.25) < 0.01


def test_which_schemes_take_complex():
    """Complex where JAX has it (variance-scaling family, normal); everything else refuses."""
    key = jax.random.key(0)
    for name in ("uniform", "truncated_normal", "orthogonal", "normal_", "GlorotUniform"):
        with pytest.raises(jaxinit.ShapeError, match="complex64 is not supported"):
            jaxinit.get(name)(key, (4, 4), jnp.complex64)
    assert jaxinit.get("variance_scaling")(key, (0, 4), jnp.complex64).shape == (0, 4)
