"""The registry and every registered initializer: contract, exact definitions, statistics.

Three layers, as jax's `tests/nn_test.py` and optax's noise tests do it:

1. `INITIALIZER_RECS`, one row per canonical name (a new registration fails
   `test_table_covers_every_registered_name` until it gets a row), crossed with shapes and dtypes:
   shape, exact dtype, determinism, key sensitivity, `jit` == eager, `vmap` == loop, zero size.
2. Exact tests: with the same key each scheme equals the rescaled unit draw that defines it, and
   equals `jax.nn.initializers` where the scheme is JAX's.
3. Statistics at fixed keys: bounds, and sample mean/std against `.stats(shape)` within
   tolerances derived from the sample size (6 standard errors). The keys are fixed, so these
   tests are deterministic: they cannot flake, they can only break when the code changes.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import jaxinit
from jaxinit import TRUNCATED_STD_FACTOR
from jaxinit._src import registry, sampling

KEY = jax.random.key(0)
KEY2 = jax.random.key(1)
DTYPES = (jnp.float32, jnp.bfloat16, jnp.float16)


@dataclasses.dataclass(frozen=True)
class Rec:
    """One row of the table: hyperparameters, valid shapes, and whether the key is ignored."""

    hp: dict
    shapes: tuple
    constant: bool = False  # ignores the key (zeros, eye, dirac, ...)
    big: tuple = (200, 256)  # a shape with >= 20000 entries for the statistical tests


KERNELS = ((8, 5), (3, 3, 4, 6))  # a Dense kernel and a Conv2D kernel, Flax layout
KERAS_SHAPES = ((), (7,), (8, 5), (3, 3, 4, 6))  # Keras gives rank 0/1 fans

INITIALIZER_RECS: dict[str, Rec] = {
    "constant": Rec({"value": 0.5}, ((), (7,), (4, 5)), constant=True),
    "delta_orthogonal": Rec({"gain": 1.5}, ((3, 4, 6), (3, 3, 2, 4), (3, 3, 3, 2, 2))),
    "dirac": Rec({"groups": 2}, ((3, 2, 4), (3, 3, 4, 6), (3, 3, 3, 2, 4)), constant=True),
    "eye": Rec({"gain": 2.0}, ((4, 4), (3, 5), (5, 3)), constant=True),
    "glorot_normal": Rec({}, KERNELS),
    "glorot_uniform": Rec({}, KERNELS),
    "he_normal": Rec({}, KERNELS),
    "he_uniform": Rec({}, KERNELS),
    "jax_normal": Rec({"stddev": 0.1}, ((7,), (4, 5))),
    "jax_uniform": Rec({"scale": 0.2}, ((7,), (4, 5))),
    "keras_conv_glorot_uniform": Rec({"groups": 4}, ((3, 3, 1, 8), (3, 2, 4)), big=(5, 5, 1, 1024)),
    "keras_embedding": Rec({}, ((10, 4),)),
    "keras_glorot_normal": Rec({}, KERAS_SHAPES),
    "keras_glorot_uniform": Rec({}, KERAS_SHAPES),
    "keras_he_normal": Rec({}, KERAS_SHAPES),
    "keras_he_uniform": Rec({}, KERAS_SHAPES),
    "keras_lecun_normal": Rec({}, KERAS_SHAPES),
    "keras_lecun_uniform": Rec({}, KERAS_SHAPES),
    "keras_truncated_normal": Rec({"mean": 0.1, "stddev": 0.2}, ((7,), (4, 5))),
    "keras_variance_scaling": Rec(
        {"scale": 2.0, "mode": "fan_avg", "distribution": "normal"}, KERAS_SHAPES
    ),
    "lecun_normal": Rec({}, KERNELS),
    "lecun_uniform": Rec({}, KERNELS),
    "ones": Rec({}, ((), (7,), (4, 5)), constant=True),
    "orthogonal": Rec({"gain": 2.0}, ((4, 6), (6, 4), (3, 3, 4, 8))),
    "padded_normal": Rec({"std": 0.5, "mean": 0.25}, ((10, 4), (3, 3, 4, 6))),
    "random_normal": Rec({}, ((7,), (4, 5))),
    "random_uniform": Rec({"minval": -0.3, "maxval": 0.1}, ((7,), (4, 5))),
    "sparse": Rec({"sparsity": 0.3}, ((10, 6), (6, 10))),
    "symmetric_uniform": Rec({"bound": 0.3}, ((7,), (4, 5))),
    "torch_bias": Rec({"fan_in": 16}, ((7,),), big=(51200,)),
    "torch_embedding": Rec({"padding_idx": -2}, ((10, 4),)),
    "torch_kaiming_normal": Rec({"a": 0.2, "mode": "fan_out"}, KERNELS),
    "torch_kaiming_uniform": Rec({"nonlinearity": "relu"}, KERNELS),
    "torch_kernel": Rec({}, KERNELS),
    "torch_normal": Rec({"mean": 1.0, "std": 0.5}, ((), (7,), (4, 5))),
    "torch_uniform": Rec({"low": -1.0, "high": 2.0}, ((), (7,), (4, 5))),
    "torch_rnn": Rec({"hidden_size": 8, "terms": 2}, ((32,), (5, 32))),
    "torch_xavier_normal": Rec({"gain": 1.5}, KERNELS),
    "torch_xavier_uniform": Rec({"gain": 0.5}, KERNELS),
    "trunc_normal": Rec({"mean": 0.1, "std": 0.5, "a": -0.6, "b": 0.8}, ((), (7,), (4, 5))),
    "truncated_normal": Rec({"stddev": 0.1, "lower": -1.0, "upper": 3.0}, ((7,), (4, 5))),
    "unit_forget_bias": Rec({"gates": 4}, ((8,), (2, 12)), constant=True),
    "uniform_unit_scaling": Rec({"factor": 1.5}, ((7,), (4, 5), (3, 3, 4))),
    "variance_scaling": Rec(
        {"scale": 2.0, "mode": "fan_geo_avg", "distribution": "uniform"}, KERNELS
    ),
    "zeros": Rec({}, ((), (7,), (4, 5)), constant=True),
}


def build(name: str):
    return jaxinit.get(name, **INITIALIZER_RECS[name].hp)


# --------------------------------------------------------------------------------------------
# 1. The table.


def test_table_covers_every_registered_name():
    """A new registered scheme is not done until it has a row here."""
    assert sorted(INITIALIZER_RECS) == jaxinit.names()


def test_every_alias_resolves_to_a_canonical_name():
    canonical = set(jaxinit.names())
    aliases = set(jaxinit.all_names()) - canonical
    assert aliases, "the registry should have aliases"
    for alias in aliases:
        info = jaxinit.describe(alias)
        assert info.name in canonical
        assert alias in info.aliases


@pytest.mark.parametrize(
    "alias,canonical",
    [
        # unprefixed JAX names keep JAX semantics
        ("xavier_uniform", "glorot_uniform"),
        ("xavier_normal", "glorot_normal"),
        ("kaiming_uniform", "he_uniform"),
        ("kaiming_normal", "he_normal"),
        # torch function names (trailing underscore) keep torch semantics
        ("xavier_uniform_", "torch_xavier_uniform"),
        ("xavier_normal_", "torch_xavier_normal"),
        ("kaiming_uniform_", "torch_kaiming_uniform"),
        ("kaiming_normal_", "torch_kaiming_normal"),
        ("trunc_normal_", "trunc_normal"),
        ("uniform_", "torch_uniform"),
        ("normal_", "torch_normal"),
        # unprefixed normal/uniform are JAX/Flax's
        ("normal", "jax_normal"),
        ("uniform", "jax_uniform"),
        ("orthogonal_", "orthogonal"),
        ("sparse_", "sparse"),
        ("eye_", "eye"),
        ("dirac_", "dirac"),
        ("zeros_", "zeros"),
        ("ones_", "ones"),
        ("constant_", "constant"),
        # Keras class names keep Keras 3 semantics
        ("GlorotUniform", "keras_glorot_uniform"),
        ("GlorotNormal", "keras_glorot_normal"),
        ("HeUniform", "keras_he_uniform"),
        ("HeNormal", "keras_he_normal"),
        ("LecunUniform", "keras_lecun_uniform"),
        ("LecunNormal", "keras_lecun_normal"),
        ("VarianceScaling", "keras_variance_scaling"),
        ("TruncatedNormal", "keras_truncated_normal"),
        ("RandomUniform", "random_uniform"),
        ("RandomNormal", "random_normal"),
        ("Orthogonal", "orthogonal"),
        ("Identity", "eye"),
        ("Constant", "constant"),
        ("Zeros", "zeros"),
        ("Ones", "ones"),
        # torch layer defaults
        ("torch_linear", "torch_kernel"),
        ("torch_conv", "torch_kernel"),
        ("torch_linear_bias", "torch_bias"),
        ("torch_lstm", "torch_rnn"),
    ],
)
def test_alias_meaning(alias, canonical):
    assert jaxinit.describe(alias).name == canonical


@pytest.mark.parametrize("name", sorted(INITIALIZER_RECS))
def test_describe_has_formula_source_and_defaults(name):
    info = jaxinit.describe(name)
    assert info.formula and info.source and info.summary
    init = build(name)
    assert init.scheme == name
    assert callable(init.stats)
    # every hyperparameter of the table row is one the registry advertises
    assert set(INITIALIZER_RECS[name].hp) <= set(info.defaults)


@pytest.mark.parametrize("name", sorted(INITIALIZER_RECS))
def test_alias_builds_the_same_initializer(name):
    for alias in jaxinit.describe(name).aliases:
        a = jaxinit.get(alias, **INITIALIZER_RECS[name].hp)
        shape = INITIALIZER_RECS[name].shapes[-1]
        np.testing.assert_array_equal(a(KEY, shape), build(name)(KEY, shape))


DTYPE_CASES = [
    (name, shape, dtype)
    for name, rec in INITIALIZER_RECS.items()
    for i, shape in enumerate(rec.shapes)
    for dtype in (DTYPES if i == 0 else DTYPES[:1])
]


@pytest.mark.parametrize(
    "name,shape,dtype",
    DTYPE_CASES,
    ids=[f"{n}-{s}-{jnp.dtype(d).name}" for n, s, d in DTYPE_CASES],
)
def test_shape_dtype_and_determinism(name, shape, dtype):
    init = build(name)
    x = init(KEY, shape, dtype)
    assert x.shape == shape
    assert x.dtype == jnp.dtype(dtype)  # exact: bfloat16 stays bfloat16
    assert bool(jnp.all(jnp.isfinite(x)))
    np.testing.assert_array_equal(np.asarray(init(KEY, shape, dtype)), np.asarray(x))
    if math.prod(shape) > 1:
        differs = not np.array_equal(np.asarray(init(KEY2, shape, dtype)), np.asarray(x))
        assert differs != INITIALIZER_RECS[name].constant
    if dtype == jnp.float32:
        assert init(KEY, shape).dtype == jnp.float32  # dtype=None: the default float dtype


# jit/vmap once per scheme, on its highest-rank shape (compiles dominate the runtime).
@pytest.mark.parametrize("name", sorted(INITIALIZER_RECS))
def test_jit_equals_eager_and_vmap_equals_loop(name):
    shape = INITIALIZER_RECS[name].shapes[-1]
    init = build(name)
    eager = init(KEY, shape, jnp.float32)
    jitted = jax.jit(init, static_argnums=(1, 2))(KEY, shape, jnp.float32)
    np.testing.assert_allclose(jitted, eager, rtol=1e-6, atol=1e-6)
    keys = jax.random.split(KEY, 3)
    batched = jax.vmap(lambda k: init(k, shape, jnp.float32))(keys)
    looped = jnp.stack([init(k, shape, jnp.float32) for k in keys])
    assert batched.shape == (3,) + shape
    np.testing.assert_allclose(batched, looped, rtol=1e-5, atol=1e-6)


def _zero_size(shape):
    return shape[:-1] + (0,)


# torch's kaiming_uniform_/kaiming_normal_ warn on zero-element tensors; so do these.
WARN_ZERO = {"torch_kaiming_uniform", "torch_kaiming_normal"}


@pytest.mark.parametrize("dtype", (jnp.float32, jnp.bfloat16), ids=lambda d: jnp.dtype(d).name)
@pytest.mark.parametrize("name", sorted(INITIALIZER_RECS))
def test_zero_size_shapes_give_empty_arrays(name, dtype):
    for shape in INITIALIZER_RECS[name].shapes:
        if not shape:
            continue
        for zshape in sorted({_zero_size(shape), (0,) + shape[1:]}):
            if name in WARN_ZERO:
                with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
                    x = build(name)(KEY, zshape, dtype)
            else:
                x = build(name)(KEY, zshape, dtype)
            assert x.shape == zshape and x.dtype == jnp.dtype(dtype) and x.size == 0


def test_float64_under_enable_x64_context():
    """Under x64, float64 is sampled in float64 and is the default dtype (as in jax.nn)."""
    with jax.enable_x64(True):
        for name, rec in INITIALIZER_RECS.items():
            shape = rec.shapes[-1]
            init = build(name)
            x = init(KEY, shape, jnp.float64)
            assert x.dtype == jnp.float64 and x.shape == shape, name
            assert init(KEY, shape).dtype == jnp.float64, name
            assert bool(jnp.all(jnp.isfinite(x))), name
            st = init.stats(shape)
            if st is not None:
                assert st.low <= float(x.min()) and float(x.max()) <= st.high, name


# --------------------------------------------------------------------------------------------
# Registry errors.


def test_unknown_name_has_did_you_mean():
    with pytest.raises(jaxinit.UnknownNameError, match=r"Did you mean 'glorot_uniform'"):
        jaxinit.get("glorot_unifrom")
    with pytest.raises(jaxinit.UnknownNameError, match=r"kaiming_uniform_"):
        jaxinit.get("kaiming_unifrom_")
    # a JaxinitError is a ValueError, an UnknownNameError a KeyError too
    with pytest.raises(ValueError):
        jaxinit.describe("nope")
    with pytest.raises(KeyError):
        jaxinit.describe("nope")
    with pytest.raises(jaxinit.UnknownNameError):
        jaxinit.get(3)


def test_unknown_and_missing_hyperparameters():
    with pytest.raises(jaxinit.HyperparameterError, match=r"Did you mean 'gain'"):
        jaxinit.get("orthogonal", gian=2.0)
    with pytest.raises(jaxinit.HyperparameterError, match="fan_in"):
        jaxinit.get("torch_bias")
    with pytest.raises(jaxinit.HyperparameterError, match="hidden_size"):
        jaxinit.get("torch_rnn")
    # private builder arguments are not hyperparameters
    with pytest.raises(jaxinit.HyperparameterError):
        jaxinit.get("constant", _scheme="x")


@pytest.mark.parametrize(
    "name,hp",
    [
        ("variance_scaling", {"mode": "fan_ni"}),
        ("variance_scaling", {"distribution": "gaussian"}),
        ("variance_scaling", {"scale": -1.0}),
        ("variance_scaling", {"in_axis": 1.5}),
        ("torch_kaiming_uniform", {"mode": "fan_avg"}),  # torch has no fan_avg
        ("torch_kaiming_uniform", {"nonlinearity": "identity"}),
        ("trunc_normal", {"a": 2.0, "b": -2.0}),
        ("trunc_normal", {"mean": 50.0, "std": 1.0}),  # [-2, 2] holds no mass
        ("truncated_normal", {"stddev": 0.0}),
        ("sparse", {"sparsity": 1.5}),
        ("dirac", {"groups": 0}),
        ("dirac", {"groups": True}),
        ("torch_bias", {"fan_in": 0}),
        ("torch_rnn", {"hidden_size": 8, "terms": 0}),
        ("uniform_", {"low": 1.0, "high": 0.0}),
        ("normal_", {"std": float("nan")}),
        ("normal", {"stddev": -1.0}),
        ("torch_embedding", {"padding_idx": 1.0}),
    ],
)
def test_bad_hyperparameter_values_fail_at_build_time(name, hp):
    with pytest.raises(jaxinit.JaxinitError):
        jaxinit.get(name, **hp)


@pytest.mark.parametrize(
    "name,hp,shape",
    [
        ("glorot_uniform", {}, (5,)),  # JAX: fans need rank >= 2
        ("torch_kernel", {}, ()),
        ("eye", {}, (2, 2, 2)),
        ("dirac", {}, (3, 3)),
        ("dirac", {"groups": 3}, (3, 3, 2, 4)),
        ("delta_orthogonal", {}, (3, 5, 4)),  # in > out
        ("orthogonal", {}, (4,)),
        ("orthogonal", {"column_axis": 2}, (4, 4)),
        ("torch_embedding", {"padding_idx": 10}, (10, 4)),
        ("sparse", {"sparsity": 0.1}, (2, 3, 4)),
        ("variance_scaling", {"in_axis": 2}, (4, 4)),
        ("keras_conv_glorot_uniform", {"groups": 3}, (3, 3, 1, 8)),
        ("unit_forget_bias", {"gates": 4}, (6,)),
        ("uniform_", {}, (-1, 3)),
    ],
)
def test_bad_shapes_fail_at_call_time(name, hp, shape):
    with pytest.raises(jaxinit.ShapeError):
        jaxinit.get(name, **hp)(KEY, shape)


def test_integer_dtype_is_rejected_by_random_schemes():
    with pytest.raises(jaxinit.ShapeError, match="int32"):
        jaxinit.get("normal_")(KEY, (3,), jnp.int32)


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.int8, jnp.uint8, jnp.bool_])
def test_constant_fills_take_integer_and_bool_dtypes(dtype):
    """A step counter or cache index can be filled (an abstract NNX module needs it)."""
    for name, hp, want in (("zeros", {}, 0), ("ones", {}, 1), ("constant", {"value": 1.0}, 1)):
        x = jaxinit.get(name, **hp)(KEY, (2, 3), dtype)
        assert x.dtype == jnp.dtype(dtype) and x.shape == (2, 3)
        np.testing.assert_array_equal(np.asarray(x), want)
    with pytest.raises(jaxinit.ShapeError, match="cannot be held exactly"):
        jaxinit.get("constant", value=0.5)(KEY, (2,), dtype)


SCHEME_MODULES = {
    "jaxinit._src.schemes_basic",
    "jaxinit._src.variance_scaling",
    "jaxinit._src.schemes_torch",
    "jaxinit._src.schemes_keras",
    "jaxinit._src.ported_schemes",
}


@pytest.mark.parametrize("name", sorted(INITIALIZER_RECS))
def test_every_scheme_is_a_def_named_after_it(name):
    """Every registered scheme is a module-level `def <name>` in a scheme module (no builders
    made in a loop), with a docstring that has Returns: (and Args: when it takes any)."""
    builder = jaxinit.describe(name).builder
    fn = inspect.unwrap(builder)
    assert fn.__name__ == name and fn.__module__ in SCHEME_MODULES
    assert getattr(sys.modules[fn.__module__], name) is builder
    doc = inspect.getdoc(builder)
    assert "Returns:" in doc and ("Args:" in doc or not jaxinit.describe(name).defaults)


def test_register_rejects_duplicate_names():
    with pytest.raises(jaxinit.JaxinitError, match="already registered"):
        jaxinit.register("glorot_uniform")(lambda: None)
    with pytest.raises(jaxinit.JaxinitError, match="already registered"):
        jaxinit.register("brand_new_name_xyz", aliases=("xavier_uniform_",))(lambda: None)
    assert "brand_new_name_xyz" not in jaxinit.all_names()


def _temp_builder(value: float = 0.5):
    """A temporary constant.

    Formula: w = value
    Source: tests.
    """
    return jaxinit.get("constant", value=value)


def test_unregister_removes_the_scheme_and_its_aliases():
    registry.register("temp_scheme_xyz", aliases=("TempXyz", "temp_xyz_"))(_temp_builder)
    registry.note_other_meanings("TempXyz", ("glorot_uniform", "elsewhere"))
    before = registry.other_meanings("xavier_normal")
    registry.note_other_meanings("xavier_normal", *before, ("temp_xyz_", "elsewhere"))
    assert jaxinit.describe("TempXyz").name == "temp_scheme_xyz"
    info = registry.unregister("temp_scheme_xyz")
    assert info.name == "temp_scheme_xyz" and info.aliases == ("TempXyz", "temp_xyz_")
    for n in ("temp_scheme_xyz", "TempXyz", "temp_xyz_"):
        assert n not in jaxinit.all_names()
        with pytest.raises(jaxinit.UnknownNameError):
            jaxinit.get(n)
    assert registry.other_meanings("TempXyz") == ()
    assert registry.other_meanings("xavier_normal") == before == (("xavier_normal_", "torch"),)
    # The returned entry puts it back, under the same names.
    registry.register(info.name, aliases=info.aliases, family=info.family)(info.builder)
    assert jaxinit.get("temp_xyz_", value=2.0).constant_value == 2.0
    registry.unregister("temp_scheme_xyz")
    assert "temp_scheme_xyz" not in jaxinit.all_names()


def test_unregister_unknown_name_says_did_you_mean():
    with pytest.raises(jaxinit.UnknownNameError, match="Did you mean 'glorot_uniform'"):
        registry.unregister("glorot_unifrom")
    with pytest.raises(jaxinit.UnknownNameError, match="jaxinit.unregister: unknown scheme 7"):
        registry.unregister(7)


def test_unregister_refuses_an_alias_and_names_its_scheme():
    with pytest.raises(
        jaxinit.JaxinitError, match="'xavier_uniform' is an alias of 'glorot_uniform'"
    ):
        registry.unregister("xavier_uniform")
    assert jaxinit.describe("xavier_uniform").name == "glorot_uniform"  # nothing removed


@pytest.mark.parametrize("name", sorted(INITIALIZER_RECS))
def test_every_initializer_satisfies_the_protocol(name):
    """What the draw engine and explain read, on every scheme: `.scheme`, `.hyperparameters`,
    `.stats(shape)` and `.constant_value` (a number exactly for the scalar constant fills)."""
    init = build(name)
    assert isinstance(init, jaxinit.Initializer)
    assert init.scheme == name and isinstance(init.hyperparameters, dict)
    shape = INITIALIZER_RECS[name].shapes[-1]
    st = init.stats(shape)
    assert st is None or isinstance(st, jaxinit.Stats)
    scalar_fill = name in ("zeros", "ones", "constant")
    assert (init.constant_value is not None) == scalar_fill
    if scalar_fill:
        np.testing.assert_array_equal(init(KEY, shape), init.constant_value)


def test_tf_seeded_initializer_satisfies_the_protocol():
    init = jaxinit.get("GlorotUniform", tf_seed=0)
    assert isinstance(init, jaxinit.Initializer) and init.constant_value is None
    assert init.ignores_key and init.hyperparameters["tf_seed"] == 0


def test_draw_mode_is_scoped_and_restored_after_an_exception():
    assert sampling.current_draw_mode() == "flat"
    with pytest.raises(RuntimeError, match="inside"):
        with sampling.class_draws(64):
            assert sampling.current_draw_mode() == 64
            with sampling.shaped_draws():
                assert sampling.current_draw_mode() == "shaped"
                raise RuntimeError("inside")
    assert sampling.current_draw_mode() == "flat"
    # The size class changes the layout of the draw only: the first values are the same.
    init = jaxinit.get("uniform_")
    with sampling.class_draws(64):
        flat64 = init(KEY, (6,))
    assert flat64.shape == (64,)
    np.testing.assert_array_equal(flat64[:6], init(KEY, (6,)))
    with pytest.raises(ValueError, match="must be 'flat', 'shaped' or an int >= 1"):
        with sampling.draw_mode("sharded"):
            pass


def test_draw_mode_is_local_to_the_thread():
    seen = []
    with sampling.shaped_draws():
        t = threading.Thread(target=lambda: seen.append(sampling.current_draw_mode()))
        t.start()
        t.join()
        assert sampling.current_draw_mode() == "shaped"
    assert seen == ["flat"]


# --------------------------------------------------------------------------------------------
# 2. Exact: each scheme is the rescaled unit draw that defines it.

SHAPE = (6, 5, 7, 9)  # Flax conv kernel (*k, in, out): fan_in = 6*5*7, fan_out = 6*5*9
FI, FO = 6 * 5 * 7.0, 6 * 5 * 9.0
F32 = jnp.float32


def unif(key=KEY, shape=SHAPE):
    return jax.random.uniform(key, shape, F32, -1.0, 1.0)


def tn_tails(key=KEY, shape=SHAPE, lo=-2.0, hi=2.0):
    return sampling.rand_truncated_normal_tails(key, lo, hi, shape, F32)


def tn(key=KEY, shape=SHAPE, lo=-2.0, hi=2.0):
    return jax.random.truncated_normal(key, lo, hi, shape, F32)


def norm(key=KEY, shape=SHAPE):
    return jax.random.normal(key, shape, F32)


def close(a, b, rtol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize(
    "name,hp,expected",
    [
        # JAX semantics: "normal" untruncated, truncated_normal corrected by 0.8796.
        (
            "variance_scaling",
            {"distribution": "uniform", "scale": 3.0},
            lambda: unif() * math.sqrt(9 / FI),
        ),
        (
            "variance_scaling",
            {"distribution": "normal", "mode": "fan_out"},
            lambda: norm() * math.sqrt(1 / FO),
        ),
        (
            "variance_scaling",
            {"mode": "fan_geo_avg"},
            lambda: tn() * (FI * FO) ** -0.25 / TRUNCATED_STD_FACTOR,
        ),
        (
            "variance_scaling",
            {"distribution": "truncated_normal_uncorrected"},
            lambda: tn() / math.sqrt(FI),
        ),
        (
            "variance_scaling",
            {"distribution": "untruncated_normal"},
            lambda: norm() / math.sqrt(FI),
        ),
        (
            "variance_scaling",
            {"distribution": "uniform", "fan_in": 10.0},
            lambda: unif() * math.sqrt(3 / 10),
        ),
        ("glorot_uniform", {}, lambda: unif() * math.sqrt(6 / (FI + FO))),
        ("glorot_normal", {}, lambda: tn() * math.sqrt(2 / (FI + FO)) / TRUNCATED_STD_FACTOR),
        ("he_uniform", {}, lambda: unif() * math.sqrt(6 / FI)),
        ("he_normal", {}, lambda: tn() * math.sqrt(2 / FI) / TRUNCATED_STD_FACTOR),
        ("lecun_uniform", {}, lambda: unif() * math.sqrt(3 / FI)),
        ("lecun_normal", {}, lambda: tn() * math.sqrt(1 / FI) / TRUNCATED_STD_FACTOR),
        # Keras: same as JAX for rank >= 2; VarianceScaling "normal" is the corrected truncated.
        ("keras_glorot_uniform", {}, lambda: unif() * math.sqrt(6 / (FI + FO))),
        ("keras_he_normal", {}, lambda: tn() * math.sqrt(2 / FI) / TRUNCATED_STD_FACTOR),
        (
            "keras_variance_scaling",
            {"distribution": "normal", "mode": "fan_avg"},
            lambda: tn() * math.sqrt(2 / (FI + FO)) / TRUNCATED_STD_FACTOR,
        ),
        (
            "keras_variance_scaling",
            {"distribution": "untruncated_normal"},
            lambda: norm() / math.sqrt(FI),
        ),
        # torch semantics in the Flax layout: fan_in = in * rf, untruncated normals.
        ("torch_kernel", {}, lambda: unif() * (1 / math.sqrt(FI))),
        ("torch_xavier_uniform", {"gain": 2.0}, lambda: unif() * 2.0 * math.sqrt(6 / (FI + FO))),
        ("torch_xavier_normal", {"gain": 2.0}, lambda: norm() * 2.0 * math.sqrt(2 / (FI + FO))),
        ("torch_kaiming_uniform", {}, lambda: unif() * math.sqrt(2.0) * math.sqrt(3 / FI)),
        ("torch_kaiming_uniform", {"a": math.sqrt(5)}, lambda: unif() / math.sqrt(FI)),
        (
            "torch_kaiming_normal",
            {"a": 0.3, "mode": "fan_out"},
            lambda: norm() * math.sqrt(2 / (1 + 0.09)) / math.sqrt(FO),
        ),
        (
            "torch_kaiming_normal",
            {"nonlinearity": "tanh"},
            lambda: norm() * (5 / 3) / math.sqrt(FI),
        ),
        # explicit parameters
        (
            "uniform_",
            {"low": -1.0, "high": 3.0},
            lambda: -1.0 + 4.0 * jax.random.uniform(KEY, SHAPE, F32),
        ),
        ("random_uniform", {}, lambda: -0.05 + 0.1 * jax.random.uniform(KEY, SHAPE, F32)),
        ("keras_embedding", {}, lambda: -0.05 + 0.1 * jax.random.uniform(KEY, SHAPE, F32)),
        ("jax_uniform", {"scale": 0.3}, lambda: 0.3 * jax.random.uniform(KEY, SHAPE, F32)),
        ("symmetric_uniform", {"bound": 0.3}, lambda: 0.3 * unif()),
        ("normal_", {"mean": 1.0, "std": 2.0}, lambda: 1.0 + 2.0 * norm()),
        ("normal", {"stddev": 0.3}, lambda: 0.3 * norm()),
        ("uniform", {"scale": 0.3}, lambda: 0.3 * jax.random.uniform(KEY, SHAPE, F32)),
        ("random_normal", {}, lambda: 0.05 * norm()),
        ("jax_normal", {}, lambda: 0.01 * norm()),
        (
            "truncated_normal",
            {"stddev": 0.5, "lower": -1.0, "upper": 3.0},
            lambda: 0.5 * tn(lo=-1.0, hi=3.0),
        ),
        ("keras_truncated_normal", {"mean": 1.0}, lambda: 1.0 + 0.05 * tn()),
        # torch trunc_normal_: ABSOLUTE bounds a, b -> std units (a - mean)/std, (b - mean)/std,
        # drawn by the tail-exact sampler (conformance: tests/conformance/test_init_functions.py)
        (
            "trunc_normal",
            {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 4.0},
            lambda: 0.5 + 2.0 * tn_tails(lo=-0.75, hi=1.75),
        ),
        ("trunc_normal", {"std": 0.02}, lambda: 0.02 * tn_tails(lo=-100.0, hi=100.0)),
        (
            "uniform_unit_scaling",
            {"factor": 2.0},
            lambda: 2.0 * math.sqrt(3 / (6 * 5 * 7)) * unif(),
        ),
    ],
)
def test_equals_rescaled_unit_draw(name, hp, expected):
    close(jaxinit.get(name, **hp)(KEY, SHAPE, F32), expected())


def test_keras_low_rank_fans_and_max_one():
    # Keras: rank 0 -> fans (1, 1); rank 1 -> (n, n); the denominator is max(1, n).
    close(jaxinit.get("keras_he_uniform")(KEY, (), F32), unif(shape=()) * math.sqrt(6.0))
    close(
        jaxinit.get("keras_lecun_uniform")(KEY, (50,), F32), unif(shape=(50,)) * math.sqrt(3 / 50)
    )
    vs = jaxinit.get("keras_variance_scaling", scale=0.5, distribution="uniform", mode="fan_out")
    close(vs(KEY, (3, 0 + 1), F32), unif(shape=(3, 1)) * math.sqrt(1.5 / 1))
    # JAX semantics instead raise on rank < 2, unless low_rank="keras"
    with pytest.raises(jaxinit.ShapeError):
        jaxinit.get("lecun_uniform")(KEY, (50,))
    vs = jaxinit.get("variance_scaling", distribution="uniform", low_rank="keras")
    close(vs(KEY, (50,), F32), unif(shape=(50,)) * math.sqrt(3 / 50))


def test_variance_scaling_axes():
    shape = (4, 5, 6, 7)
    init = jaxinit.get(
        "variance_scaling",
        distribution="uniform",
        mode="fan_avg",
        in_axis=0,
        out_axis=(1, 2),
        batch_axis=3,
    )
    fi, fo = 4.0, 30.0  # no receptive field: the batch axis is excluded
    close(init(KEY, shape, F32), unif(shape=shape) * math.sqrt(3 / ((fi + fo) / 2)))
    # torch's ConvTranspose quirk: fan_in from the OUTPUT channels
    init = jaxinit.get("torch_kernel", in_axis=-1, out_axis=-2)
    shape = (3, 3, 16, 8)
    close(init(KEY, shape, F32), unif(shape=shape) / math.sqrt(8 * 9))


@pytest.mark.parametrize("terms", [1, 2, 3])
def test_torch_rnn_and_bias_are_sums_of_unit_draws(terms):
    shape = (5, 12)
    draws = jax.random.uniform(KEY, (terms,) + shape, F32, -1.0, 1.0)
    expected = jnp.sum(draws, axis=0) / math.sqrt(8)
    close(jaxinit.get("torch_rnn", hidden_size=8, terms=terms)(KEY, shape, F32), expected)
    close(jaxinit.get("torch_bias", fan_in=8, terms=terms)(KEY, shape, F32), expected)
    if terms == 2:  # the sum of the two draws torch makes for b_ih and b_hh
        close(expected, (draws[0] + draws[1]) / math.sqrt(8))


def test_constants_and_torch_embedding():
    np.testing.assert_array_equal(jaxinit.get("zeros")(KEY, (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(jaxinit.get("ones")(KEY, (2, 3)), np.ones((2, 3)))
    np.testing.assert_array_equal(jaxinit.get("constant", value=-2.5)(KEY, (4,)), np.full(4, -2.5))
    w = jaxinit.get("torch_embedding", padding_idx=-3)(KEY, (10, 4), F32)
    expected = np.asarray(norm(shape=(10, 4))).copy()
    expected[7] = 0.0  # torch wraps a negative padding_idx to n + padding_idx
    np.testing.assert_array_equal(np.asarray(w), expected)
    np.testing.assert_array_equal(
        jaxinit.get("torch_embedding")(KEY, (10, 4), F32), norm(shape=(10, 4))
    )


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_eye_exact(shape):
    np.testing.assert_array_equal(jaxinit.get("eye", gain=-1.5)(KEY, shape), -1.5 * np.eye(*shape))


@pytest.mark.parametrize(
    "shape,groups",
    [((3, 2, 4), 1), ((3, 2, 4), 2), ((3, 4, 4, 6), 3), ((5, 3, 3, 2, 8), 4), ((2, 4, 3), 1)],
)
def test_dirac_exact(shape, groups):
    w = np.asarray(jaxinit.get("dirac", groups=groups)(KEY, shape))
    expected = np.zeros(shape, np.float32)
    opg = shape[-1] // groups
    center = tuple(s // 2 for s in shape[:-2])  # torch: size // 2 (right of centre when even)
    for g in range(groups):
        for d in range(min(opg, shape[-2])):
            expected[center + (d, g * opg + d)] = 1.0
    np.testing.assert_array_equal(w, expected)
    # as a conv, every group is the identity on its first channels
    assert w.sum() == groups * min(opg, shape[-2])


def _orthogonal_reference(key, n_rows, n_cols):
    """The QR construction, written out: normal (max, min), q * sign(diag r), transpose."""
    a = jax.random.normal(key, (max(n_rows, n_cols), min(n_rows, n_cols)), F32)
    q, r = jnp.linalg.qr(a)
    q = q * jnp.sign(jnp.diagonal(r))
    return q.T if n_rows < n_cols else q


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 4, 8), (2, 3, 4)])
def test_orthogonal_equals_qr_construction(shape):
    w = jaxinit.get("orthogonal", gain=1.5)(KEY, shape, F32)
    q = _orthogonal_reference(KEY, math.prod(shape[:-1]), shape[-1])
    close(w, 1.5 * q.reshape(shape), rtol=1e-5)
    flat = np.asarray(w, np.float64).reshape(-1, shape[-1])
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, 2.25 * np.eye(len(gram)), atol=1e-5)


def test_orthogonal_column_axis_0_is_torch_layout():
    # column_axis=0 on a torch-layout (out, in, k) array keeps dim 0, like torch's orthogonal_.
    shape = (4, 3, 5)
    w = jaxinit.get("orthogonal", column_axis=0)(KEY, shape, F32)
    q = _orthogonal_reference(KEY, 15, 4)  # (rows = in*k, cols = out)
    close(w, jnp.moveaxis(q.reshape(3, 5, 4), -1, 0), rtol=1e-5)
    flat = np.asarray(w, np.float64).reshape(4, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(4), atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 4, 6), (3, 3, 5, 5), (3, 2, 3, 2, 4)])
def test_delta_orthogonal_exact(shape):
    w = jaxinit.get("delta_orthogonal", gain=2.0)(KEY, shape, F32)
    center = tuple((s - 1) // 2 for s in shape[:-2])
    expected = jnp.zeros(shape).at[center].set(2.0 * _orthogonal_reference(KEY, *shape[-2:]))
    close(w, expected, rtol=1e-5)
    assert int(jnp.count_nonzero(w)) == int(jnp.count_nonzero(w[center]))


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("shape", [(10, 6), (7, 13), (1, 4)])
def test_sparse_zero_count_per_row_along_out(shape, sparsity):
    """torch `sparse_` on (out, in) zeroes ceil(sparsity * out) entries of every column; in the
    Flax layout (in, out) that is ceil(sparsity * out) zeros in every row (`schemes_torch.sparse`
    counts the zeros along the last axis)."""
    w = np.asarray(jaxinit.get("sparse", sparsity=sparsity, std=0.5)(KEY, shape, F32))
    zeros_per_row = (w == 0).sum(axis=1)
    np.testing.assert_array_equal(zeros_per_row, math.ceil(sparsity * shape[1]))
    # the kept entries are the N(0, std^2) draw itself
    k_val, _ = jax.random.split(KEY)
    dense = np.asarray(0.5 * jax.random.normal(k_val, shape, F32))
    np.testing.assert_allclose(w[w != 0], dense[w != 0], rtol=1e-6)


def test_sparse_zero_positions_depend_on_key():
    a = np.asarray(jaxinit.get("sparse", sparsity=0.5)(KEY, (20, 20))) == 0
    b = np.asarray(jaxinit.get("sparse", sparsity=0.5)(KEY2, (20, 20))) == 0
    assert not np.array_equal(a, b)


# Where jaxinit's scheme is JAX's scheme, it must be JAX's array for the same key.
JAX_SAME = [
    ("glorot_uniform", {}, jax.nn.initializers.glorot_uniform()),
    ("glorot_normal", {}, jax.nn.initializers.glorot_normal()),
    ("he_uniform", {}, jax.nn.initializers.he_uniform()),
    ("he_normal", {}, jax.nn.initializers.he_normal()),
    ("lecun_uniform", {}, jax.nn.initializers.lecun_uniform()),
    ("lecun_normal", {}, jax.nn.initializers.lecun_normal()),
    ("orthogonal", {"gain": 1.5}, jax.nn.initializers.orthogonal(1.5)),
    ("orthogonal", {"column_axis": 0}, jax.nn.initializers.orthogonal(column_axis=0)),
    ("orthogonal", {"column_axis": -2}, jax.nn.initializers.orthogonal(column_axis=-2)),
    ("truncated_normal", {"stddev": 0.2}, jax.nn.initializers.truncated_normal(0.2)),
    (
        "truncated_normal",
        {"lower": -1.0, "upper": 0.5},
        jax.nn.initializers.truncated_normal(lower=-1.0, upper=0.5),
    ),
    ("jax_normal", {}, jax.nn.initializers.normal()),
    ("jax_uniform", {}, jax.nn.initializers.uniform()),
    ("normal", {"stddev": 0.5}, jax.nn.initializers.normal(0.5)),
    ("uniform", {"scale": 2.0}, jax.nn.initializers.uniform(2.0)),
    (
        "variance_scaling",
        {"scale": 2.0, "mode": "fan_avg", "distribution": "normal"},
        jax.nn.initializers.variance_scaling(2.0, "fan_avg", "normal"),
    ),
    (
        "variance_scaling",
        {"scale": 0.5, "mode": "fan_geo_avg", "distribution": "uniform"},
        jax.nn.initializers.variance_scaling(0.5, "fan_geo_avg", "uniform"),
    ),
    (
        "variance_scaling",
        {"mode": "fan_out", "distribution": "truncated_normal"},
        jax.nn.initializers.variance_scaling(1.0, "fan_out", "truncated_normal"),
    ),
    (
        "variance_scaling",
        {"in_axis": 0, "out_axis": 1, "batch_axis": -1, "distribution": "normal"},
        jax.nn.initializers.variance_scaling(
            1.0, "fan_in", "normal", in_axis=0, out_axis=1, batch_axis=-1
        ),
    ),
    ("zeros", {}, jax.nn.initializers.zeros),
    ("ones", {}, jax.nn.initializers.ones),
    ("constant", {"value": 3.0}, jax.nn.initializers.constant(3.0)),
]


@pytest.mark.parametrize("shape", [(24, 8, 40), (2, 3, 4, 5, 6)])
@pytest.mark.parametrize("name,hp,ref", JAX_SAME, ids=[f"{n}{hp}" for n, hp, _ in JAX_SAME])
def test_equals_jax_nn_initializers(name, hp, ref, shape):
    close(jaxinit.get(name, **hp)(KEY, shape, F32), ref(KEY, shape, F32), rtol=1e-6)


@pytest.mark.parametrize("shape", [(3, 4, 6), (3, 3, 8, 8), (3, 3, 3, 2, 4)])
def test_delta_orthogonal_equals_jax(shape):
    ref = jax.nn.initializers.delta_orthogonal(scale=1.5)
    close(jaxinit.get("delta_orthogonal", gain=1.5)(KEY, shape, F32), ref(KEY, shape, F32), 1e-6)


# --------------------------------------------------------------------------------------------
# 3. Statistics at fixed keys, against `.stats(shape)`.

# Kurtosis bound used for the std tolerance: var(sample std) ~ std^2 (kurt - 1) / (4 n).
MAX_KURTOSIS = 3.0  # normal; uniform 1.8, triangular 2.4, truncated normals < 3


def _moment_tolerances(std: float, n: int, z: float = 6.0) -> tuple[float, float]:
    """z standard errors of the sample mean and of the sample std."""
    return z * std / math.sqrt(n), z * std * math.sqrt((MAX_KURTOSIS - 1) / (4 * n))


STAT_NAMES = [
    n for n in sorted(INITIALIZER_RECS) if build(n).stats(INITIALIZER_RECS[n].big) is not None
]


def test_statistical_table_covers_the_random_schemes():
    # every scheme without .stats is a constant or a structured one, tested exactly above
    assert set(INITIALIZER_RECS) - set(STAT_NAMES) <= {
        "eye",
        "dirac",
        "delta_orthogonal",
        "sparse",
        "unit_forget_bias",
    }


@pytest.mark.parametrize("name", STAT_NAMES)
def test_samples_agree_with_stats(name):
    rec = INITIALIZER_RECS[name]
    init = build(name)
    shape = rec.big
    st = init.stats(shape)
    x = np.asarray(init(jax.random.key(1234), shape, F32), np.float64).ravel()
    n = x.size
    assert n >= 20000
    # support: never outside [low, high] (float32 rounding may touch the bound)
    eps = 1e-6 * max(1.0, abs(st.low), abs(st.high))
    assert x.min() >= st.low - eps and x.max() <= st.high + eps
    if st.std == 0:
        np.testing.assert_array_equal(x, st.mean)
        return
    tol_mean, tol_std = _moment_tolerances(st.std, n)
    if name == "torch_embedding":  # one padding row of exact zeros among 200
        rows = np.ones(shape[0], bool)
        rows[INITIALIZER_RECS[name].hp["padding_idx"]] = False
        x = np.asarray(init(jax.random.key(1234), shape, F32))[rows].ravel()
    assert abs(x.mean() - st.mean) <= tol_mean, (x.mean(), st.mean, tol_mean)
    assert abs(x.std() - st.std) <= tol_std, (x.std(), st.std, tol_std)
    # bounded schemes nearly attain their bounds (truncated normal and uniform densities are
    # positive at the bound; the triangular sum of two uniforms gets within ~1/sqrt(n))
    if math.isfinite(st.high):
        # (orthogonal's [-gain, gain] is a bound only, far from attained: not checked)
        if name == "orthogonal":
            return
        uniform_law = math.isclose(st.std, (st.high - st.low) / math.sqrt(12), rel_tol=1e-9)
        gap = 2e-3 if uniform_law else 0.05
        span = st.high - st.low
        assert st.high - x.max() <= gap * span and x.min() - st.low <= gap * span


def test_stats_formulas():
    fi, fo = 4 * 3 * 3.0, 6 * 3 * 3.0
    shape = (3, 3, 4, 6)
    st = jaxinit.get("glorot_uniform").stats(shape)
    assert st.high == pytest.approx(math.sqrt(6 / (fi + fo))) and st.low == -st.high
    assert st.std == pytest.approx(math.sqrt(2 / (fi + fo)))
    st = jaxinit.get("he_normal").stats(shape)  # corrected: post-truncation std is exact
    assert st.std == pytest.approx(math.sqrt(2 / fi))
    assert st.high == pytest.approx(2 * math.sqrt(2 / fi) / TRUNCATED_STD_FACTOR)
    st = jaxinit.get("torch_kernel").stats(shape)
    assert st.high == pytest.approx(1 / math.sqrt(fi))
    st = jaxinit.get("keras_truncated_normal", stddev=1.0).stats(shape)
    assert st.std == pytest.approx(TRUNCATED_STD_FACTOR)  # no std correction in Keras
    assert (st.low, st.high) == (-2.0, 2.0)
    st = jaxinit.get("torch_rnn", hidden_size=9, terms=2).stats((5,))
    assert st.std == pytest.approx(math.sqrt(2 / (3 * 9))) and st.high == pytest.approx(2 / 3)
    st = jaxinit.get("jax_uniform", scale=0.5).stats((3,))
    assert (st.low, st.high, st.mean) == (0.0, 0.5, 0.25)
    assert jaxinit.get("variance_scaling").stats((5,)) is None  # fans undefined: no stats


def test_truncated_normal_constant_is_scipy():
    assert TRUNCATED_STD_FACTOR == pytest.approx(scipy.stats.truncnorm.std(-2, 2), rel=1e-12)


@pytest.mark.parametrize(
    "hp",
    [
        {"mean": 0.3, "std": 0.5, "a": -0.6, "b": 0.8},
        {"std": 2.0, "a": 0.0, "b": 10.0},
        {"mean": -1.0, "std": 0.1, "a": -1.35, "b": -0.9},
    ],
)
def test_trunc_normal_stats_match_scipy(hp):
    mean, std = hp.get("mean", 0.0), hp["std"]
    ref = scipy.stats.truncnorm((hp["a"] - mean) / std, (hp["b"] - mean) / std, loc=mean, scale=std)
    st = jaxinit.get("trunc_normal", **hp).stats((10,))
    assert st.mean == pytest.approx(ref.mean(), abs=1e-9)
    assert st.std == pytest.approx(ref.std(), rel=1e-9)
    assert (st.low, st.high) == (pytest.approx(hp["a"]), pytest.approx(hp["b"]))
    x = np.asarray(jaxinit.get("trunc_normal", **hp)(KEY, (40000,), F32), np.float64)
    assert x.min() >= hp["a"] and x.max() <= hp["b"]  # absolute bounds
    assert scipy.stats.kstest(x, ref.cdf).pvalue > 1e-4


def test_low_precision_draws_keep_the_float32_distribution():
    """Sampling happens in float32 and is cast: the bfloat16 array is the cast float32 one."""
    for name in ("glorot_normal", "torch_kernel", "orthogonal", "trunc_normal"):
        init = jaxinit.get(name)
        f32 = init(KEY, (64, 32), jnp.float32)
        for dt in (jnp.bfloat16, jnp.float16):
            np.testing.assert_array_equal(
                np.asarray(init(KEY, (64, 32), dt), np.float32),
                np.asarray(f32.astype(dt), np.float32),
            )


# --------------------------------------------------------------------------------------------
# 4. calculate_gain against torch.

GAIN_CASES = [
    ("linear", None),
    ("conv1d", None),
    ("conv2d", None),
    ("conv3d", None),
    ("conv_transpose1d", None),
    ("conv_transpose2d", None),
    ("conv_transpose3d", None),
    ("sigmoid", None),
    ("tanh", None),
    ("relu", None),
    ("selu", None),
    ("leaky_relu", None),
    ("leaky_relu", 0),
    ("leaky_relu", 0.2),
    ("leaky_relu", math.sqrt(5)),
    ("leaky_relu", 3),
    ("leaky_relu", -0.5),
    ("relu", 0.7),  # param ignored except for leaky_relu
]


@pytest.mark.parametrize("nonlinearity,param", GAIN_CASES)
def test_calculate_gain_matches_torch(nonlinearity, param):
    import torch

    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert jaxinit.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-12)


def test_calculate_gain_errors():
    import torch

    for bad in ("identity", "gelu", "Relu"):
        with pytest.raises(ValueError):
            torch.nn.init.calculate_gain(bad)
        with pytest.raises(jaxinit.UnknownNameError, match="Valid choices"):
            jaxinit.calculate_gain(bad)
    with pytest.raises(jaxinit.UnknownNameError, match="Did you mean 'leaky_relu'"):
        jaxinit.calculate_gain("leaky_rleu")
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain("leaky_relu", True)
    with pytest.raises(jaxinit.HyperparameterError, match="True"):
        jaxinit.calculate_gain("leaky_relu", True)
    with pytest.raises(jaxinit.HyperparameterError):
        jaxinit.calculate_gain("leaky_relu", "0.1")


def test_unit_forget_bias_exact():
    b = jaxinit.get("unit_forget_bias")(KEY, (2, 12))
    expected = np.tile(np.repeat([0.0, 1.0, 0.0, 0.0], 3), (2, 1))  # gates [i, f, c, o]
    np.testing.assert_array_equal(b, expected)


def test_torch_rnn_segmented_terms():
    """terms=(2, 2, 1): GRU r/z biases are b_i + b_h sums, n keeps a single draw."""
    shape = (4, 9)
    draws = jax.random.uniform(KEY, (2,) + shape, F32, -1.0, 1.0)
    second = np.where(np.arange(9) < 6, np.asarray(draws[1]), 0.0)
    expected = (np.asarray(draws[0]) + second) / math.sqrt(5)
    close(jaxinit.get("torch_rnn", hidden_size=5, terms=(2, 2, 1))(KEY, shape, F32), expected)


def test_keras_depthwise_glorot_uniform_fans():
    # Flax depthwise (*k, 1, C*m) with C=groups=4, m=2: Keras fans fan_in = C*rf, fan_out = m*rf
    shape = (3, 3, 1, 8)
    w = jaxinit.get("keras_conv_glorot_uniform", groups=4)(KEY, shape, F32)
    close(w, unif(shape=shape) * math.sqrt(6 / (4 * 9 + 2 * 9)))
    # a regular conv kernel: plain glorot_uniform
    shape = (3, 3, 4, 8)
    w = jaxinit.get("keras_conv_glorot_uniform", groups=4)(KEY, shape, F32)
    close(w, jax.nn.initializers.glorot_uniform()(KEY, shape, F32))


def test_bounded_draws_that_fit_float16_are_not_rejected_as_overflowing():
    """torch's uniform_(-3e4, 3e4) and Keras's RandomUniform(-3e4, 3e4) fill float16; the
    overflow check used an 8-sigma envelope even for bounded supports and refused them."""
    for name, hp in (
        ("uniform_", {"low": -3e4, "high": 3e4}),
        ("RandomUniform", {"minval": -3e4, "maxval": 3e4}),
        ("uniform_", {"low": 0.0, "high": 25000.0}),
    ):
        x = jaxinit.get(name, **hp)(KEY, (4096,), jnp.float16)
        assert x.dtype == jnp.float16 and bool(jnp.isfinite(x).all())
        assert float(jnp.abs(x).max()) > 0.9 * max(abs(v) for v in hp.values())
    with pytest.raises(jaxinit.ShapeError, match="overflows float16"):
        jaxinit.get("uniform_", low=-1e5, high=1e5)(KEY, (3,), jnp.float16)


# --------------------------------------------------------------------------------------------
# 5. Every scheme's formula (`describe(name).formula`) evaluated against its `.stats()`.
#
# The formulas use one small notation: `name = expr` definitions, then `w ~ LAW` or `w = expr`,
# then free text. LAW is U(lo, hi), N(mean, std^2), TN(mean, sigma, lo, hi) (mean + sigma * a
# standard normal truncated to [lo, hi]), sum_of(terms, LAW), D(distribution, std) (JAX's
# variance-scaling laws) or D(keras(distribution), std). Names are hyperparameters, fan_in,
# fan_out, fan_avg, fan_geo_avg, n(mode), fan(mode), shape, and math functions.

STRUCTURED = {  # formulas that describe a construction, not a law with moments
    "delta_orthogonal",
    "dirac",
    "eye",
    "orthogonal",
    "sparse",
    "unit_forget_bias",
}


def _law_u(lo, hi):
    return jaxinit.Stats((lo + hi) / 2, (hi - lo) / math.sqrt(12), lo, hi)


def _law_n(mean, var):
    return jaxinit.Stats(mean, math.sqrt(var), -math.inf, math.inf)


def _law_tn(mean, sigma, lo, hi):
    ref = scipy.stats.truncnorm(lo, hi, loc=mean, scale=sigma)
    return jaxinit.Stats(float(ref.mean()), float(ref.std()), mean + sigma * lo, mean + sigma * hi)


def _law_sum(terms, law):
    return jaxinit.Stats(
        terms * law.mean, math.sqrt(terms) * law.std, terms * law.low, terms * law.high
    )


def _law_d(distribution, std):
    if distribution == "uniform":
        return _law_u(-math.sqrt(3) * std, math.sqrt(3) * std)
    if distribution in ("normal", "untruncated_normal"):
        return _law_n(0.0, std**2)
    if distribution == "truncated_normal":
        return _law_tn(0.0, std / TRUNCATED_STD_FACTOR, -2, 2)
    assert distribution == "truncated_normal_uncorrected"
    return _law_tn(0.0, std, -2, 2)


def evaluate_formula(formula: str, names: dict) -> jaxinit.Stats:
    env = {
        "sqrt": math.sqrt,
        "max": max,
        "prod": math.prod,
        "calculate_gain": jaxinit.calculate_gain,
        "U": _law_u,
        "N": _law_n,
        "TN": _law_tn,
        "sum_of": _law_sum,
        "D": _law_d,
        "keras": lambda d: "truncated_normal" if d == "normal" else d,
        **names,
    }
    for part in formula.split("; "):
        lhs, op, rhs = part.partition(" ~ " if " ~ " in part else " = ")
        rhs = rhs.replace("^2", "**2")
        if lhs.strip() == "w":
            law = eval(rhs, {"__builtins__": {}}, env)  # noqa: S307 - our own docstrings
            if not isinstance(law, jaxinit.Stats):
                law = jaxinit.Stats(float(law), 0.0, float(law), float(law))
            return law
        env[lhs.strip()] = eval(rhs, {"__builtins__": {}}, env)  # noqa: S307
    raise AssertionError(f"no 'w ~ ...' or 'w = ...' in {formula!r}")


def _formula_names(name: str, hp: dict, shape: tuple) -> dict:
    info = jaxinit.describe(name)
    full = {k: v for k, v in info.defaults.items() if k not in info.required}
    full.update(hp)
    init = jaxinit.get(name, **hp)
    if hasattr(init, "fans"):
        fi, fo = init.fans(shape)
    else:
        kw = {k: full[k] for k in ("in_axis", "out_axis", "batch_axis") if k in full}
        low = "keras" if name.startswith("keras_") or name == "uniform_unit_scaling" else "error"
        try:
            fi, fo = jaxinit.compute_fans(shape, **kw, low_rank=low)
        except jaxinit.ShapeError:
            fi = fo = float("nan")
    n = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2, "fan_geo_avg": math.sqrt(fi * fo)}
    names = {"fan_avg": n["fan_avg"], "fan_geo_avg": n["fan_geo_avg"], "shape": shape}
    names.update(fan_in=fi, fan_out=fo, n=lambda m: n[m], fan=lambda m: n[m])
    names.update({k: v for k, v in full.items() if v is not None})
    return names


FORMULA_CASES = (
    [(name, rec.hp, rec.big) for name, rec in INITIALIZER_RECS.items() if name not in STRUCTURED]
    + [
        ("variance_scaling", {"distribution": d, "mode": m, "scale": 0.7}, (6, 5, 7, 9))
        for d in ("uniform", "normal", "truncated_normal", "truncated_normal_uncorrected")
        for m in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
    ]
    + [
        ("keras_variance_scaling", {"distribution": d, "mode": "fan_avg"}, (3, 2))
        for d in ("uniform", "normal", "untruncated_normal", "truncated_normal")
    ]
    + [
        (
            "torch_kaiming_uniform",
            {"a": 0.3, "mode": "fan_out", "nonlinearity": "leaky_relu"},
            SHAPE,
        ),
        ("torch_bias", {"fan_in": 9, "terms": 2}, (40,)),
        ("keras_he_uniform", {}, ()),
    ]
)


@pytest.mark.parametrize(
    "name,hp,shape", FORMULA_CASES, ids=[f"{n}{hp}{s}" for n, hp, s in FORMULA_CASES]
)
def test_formula_agrees_with_stats(name, hp, shape):
    """The registry formula, evaluated, gives the moments and support `.stats()` reports (the
    old generated `w ~ uniform(0, 1 / fan_avg)` for glorot_uniform fails here)."""
    formula = jaxinit.describe(name).formula
    init = jaxinit.get(name, **hp)
    st = init.stats(shape)
    assert st is not None, name
    got = evaluate_formula(formula, _formula_names(name, hp, shape))
    for field in ("mean", "std", "low", "high"):
        want = getattr(st, field)
        assert getattr(got, field) == pytest.approx(want, rel=1e-6, abs=1e-12), (
            name,
            formula,
            field,
        )


def test_structured_formulas_are_constructions():
    for name in STRUCTURED:
        f = jaxinit.describe(name).formula
        assert f and jaxinit.describe(name).source, name
        # a construction: `w = ...` of a structure, or zeros placed in a normal draw (sparse)
        assert f.startswith(("w = ", "w[", "b = ")) or "zeros" in f, (name, f)


def test_glorot_uniform_formula_reads_right():
    assert jaxinit.describe("glorot_uniform").formula == (
        "limit = sqrt(3 / fan_avg); w ~ U(-limit, limit)"
    )
    assert jaxinit.describe("xavier_uniform_").formula == (
        "limit = gain * sqrt(6 / (fan_in + fan_out)); w ~ U(-limit, limit)"
    )


# --------------------------------------------------------------------------------------------
# 6. Names with other meanings elsewhere: kept (JAX/Flax meaning), documented, hinted.


def _ambiguous_names():
    return [n for n in jaxinit.all_names() if registry.other_meanings(n)]


def test_readme_naming_table_lists_every_ambiguous_name():
    import pathlib

    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    table = readme.split("| name | JAX / Flax |", 1)[1].split("\n\n", 1)[0]
    names = _ambiguous_names()
    assert len(names) >= 10
    for name in names:
        family = name.split("_")[0] + "_*"
        assert f"`{name}`" in table or f"`{family}`" in table, name


@pytest.mark.parametrize("name", _ambiguous_names())
def test_every_hyperparameter_error_on_an_ambiguous_name_names_the_alternatives(name):
    other_meanings = registry.other_meanings
    with pytest.raises(jaxinit.HyperparameterError) as e:
        jaxinit.get(name, not_a_hyperparameter=1)
    for scheme, framework in other_meanings(name):
        assert f"'{scheme}' ({framework} semantics)" in str(e.value)
        jaxinit.describe(scheme)  # every suggestion is a registered name
    # the torch/Keras names the hints point to are unambiguous: no hint on them
    for scheme, _ in other_meanings(name):
        with pytest.raises(jaxinit.HyperparameterError) as e:
            jaxinit.get(scheme, not_a_hyperparameter=1)
        assert "semantics)" not in str(e.value), scheme
