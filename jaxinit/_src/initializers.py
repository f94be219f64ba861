"""Initializer builders: pure closures `init(key, shape, dtype=None) -> Array`.

Conventions shared by every builder here:

* Hyperparameters are validated when the builder is called (build time); shapes and dtypes when
  the initializer is called, since only then are they known.
* Layout: every array is in the Flax/JAX layout (`(*k, in, out)` for kernels). A scheme named
  after a torch function (`kaiming_uniform_`) reproduces torch's *semantics* expressed in that
  layout (torch's fan_in is dim 1 of `(out, in, *k)`, which is Flax's `in_axis=-2`).
* Sampling happens in float32 (float64 when float64 is requested) and is cast to the requested
  dtype, so QR and truncated sampling stay accurate for bfloat16/float16 parameters.
* Zero-size shapes return an empty array of the requested shape and dtype.
* Every initializer carries `.scheme` (its registry name), `.hyperparameters` and
  `.stats(shape)`, the theoretical mean, std and support, used by `jaxinit.explain`.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import operator
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit._src import fans as fans_lib
from jaxinit._src.errors import HyperparameterError, ShapeError, unknown
from jaxinit._src.gain import NONLINEARITIES, calculate_gain
from jaxinit._src.registry import note_other_meanings, register
from jaxinit._src.tf_random import tf_seedable  # tf_seed= on the Keras-named schemes
from jaxinit._src.types import Array, Axes, DType, PRNGKey, Shape

# The std of a standard normal truncated to [-2, 2]: scipy.stats.truncnorm.std(a=-2, b=2).
# Dividing by it makes a +-2 sigma truncated normal have the requested post-truncation std.
TRUNCATED_STD_FACTOR = 0.87962566103423978

MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
# Keras/TF spellings accepted in addition: "untruncated_normal" is JAX's "normal";
# "truncated_normal_uncorrected" is old TF1 / Haiku-module semantics (no 0.8796 correction).
EXTRA_DISTRIBUTIONS = ("untruncated_normal", "truncated_normal_uncorrected")


@dataclasses.dataclass(frozen=True)
class Stats:
    """Theoretical moments and support of one initializer for one shape."""

    mean: float
    std: float
    low: float
    high: float


def _unknown_stats(shape: Shape) -> Stats | None:
    return None


# --------------------------------------------------------------------------------------------
# Call-time checks and the general wrapper.


def default_dtype() -> Any:
    """float32, or float64 when `jax_enable_x64` is on (JAX's default float dtype)."""
    return jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))


def check_shape_dtype(
    scheme: str,
    shape: Shape,
    dtype: DType | None,
    min_rank: int = 0,
    max_rank: int | None = None,
    allow_int: bool = False,
) -> tuple[tuple[int, ...], Any]:
    """Validates a call's shape and dtype, naming the scheme, the value and what is valid."""
    # Fix: `int(d)` silently truncated non-integer entries ((3.5, 2) drew a (3, 2) array);
    # `operator.index` accepts only true integers (Python, NumPy), as NumPy's shapes do.
    try:
        shape = tuple(operator.index(d) for d in shape)
    except TypeError as e:
        raise ShapeError(f"{scheme}: shape {shape!r} is not a sequence of integers.") from e
    if any(d < 0 for d in shape):
        raise ShapeError(f"{scheme}: shape {shape} has a negative dimension.")
    if len(shape) < min_rank or (max_rank is not None and len(shape) > max_rank):
        valid = f"rank {min_rank}" + (
            f" to {max_rank}" if max_rank is not None and max_rank != min_rank else ""
        )
        if max_rank is None:
            valid = f"rank >= {min_rank}"
        raise ShapeError(
            f"{scheme}: shape {shape} has rank {len(shape)}; this scheme needs {valid}."
        )
    dtype = default_dtype() if dtype is None else jnp.dtype(dtype)
    if allow_int and is_integral(dtype):
        return shape, dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ShapeError(
            f"{scheme}: dtype {dtype} is not supported; parameters must be a real floating dtype "
            "(float16, bfloat16, float32, float64 under x64)"
            + ("; constant fills also take integer and bool dtypes." if not allow_int else ".")
        )
    return shape, dtype


def is_integral(dtype: Any) -> bool:
    """Integer or bool: only the constant fills (zeros, ones, constant) take these (a step
    counter, a cache index); random schemes need a real floating dtype."""
    return jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.bool_)


def compute_dtype(dtype: Any) -> Any:
    """The dtype random draws are made in: float64 for float64, float32 otherwise."""
    return jnp.float64 if jnp.dtype(dtype) == jnp.float64 else jnp.float32


# How the samplers below draw, set only by the draw engine around its own traces:
# * "flat" (default): draws are made FLAT and reshaped. With JAX's partitionable threefry the
#   values are bit-identical to a draw in the target shape, but XLA CPU compiles the flat draw
#   several times faster (a rank-5 conv kernel: 3.7 s -> 0.3 s);
# * "shaped": draws are made in the target shape (sharded programs: reshaping a flat draw into
#   a sharded layout would make XLA materialise it whole);
# * an int S: draws are made flat at S values and NOT reshaped, for the draw engine's size
#   classes (`draw.py`), which keeps the first prod(shape) values and reshapes on the host.
_DRAW_MODE = contextvars.ContextVar("jaxinit_draw_mode", default="flat")


@contextlib.contextmanager
def _draw_mode(mode):
    token = _DRAW_MODE.set(mode)
    try:
        yield
    finally:
        _DRAW_MODE.reset(token)


def shaped_draws():
    """Within this context, draws are made in the target shape (for sharded programs)."""
    return _draw_mode("shaped")


def class_draws(size: int):
    """Within this context, draws are made flat at `size` values (the draw engine's traces)."""
    return _draw_mode(int(size))


def _draw(fn, key, shape, cd, *args):
    shape = tuple(shape)
    mode = _DRAW_MODE.get()
    if isinstance(mode, int):
        return fn(key, *args, (mode,), cd)
    if mode == "flat" and len(shape) != 1:
        return jnp.reshape(fn(key, *args, (math.prod(shape),), cd), shape)
    return fn(key, *args, shape, cd)


def rand_uniform(key, shape, cd, low=0.0, high=1.0):
    """`jax.random.uniform(key, shape, cd, low, high)`, drawn flat (see `_DRAW_MODE`)."""
    return _draw(lambda k, sh, d: jax.random.uniform(k, sh, d, low, high), key, shape, cd)


def rand_normal(key, shape, cd):
    """`rand_normal(key, shape, cd)`, drawn flat."""
    return _draw(jax.random.normal, key, shape, cd)


def rand_truncated_normal(key, lower, upper, shape, cd):
    """`jax.random.truncated_normal(key, lower, upper, shape, cd)`, drawn flat."""
    return _draw(
        lambda k, sh, d: jax.random.truncated_normal(k, lower, upper, sh, d), key, shape, cd
    )


def rand_truncated_normal_tails(key, lower, upper, shape, cd):
    """A standard normal truncated to [lower, upper] by inverse-CDF sampling that stays exact
    in the tails, for torch's `trunc_normal_` (bounds often far out: std=0.02 with a, b = +-2 is
    +-100 sigma). `jax.random.truncated_normal` maps erf(+-100/sqrt(2)) to +-1 in float32, so a
    uniform draw of exactly 0 becomes erfinv(-1) = -inf, clipped to the bound: about one value
    in 2**23 sat at -100 sigma (torch >= 2.12 samples by rejection and never does), and windows
    far in one tail ([4.5, 5.5]) came out as a few hundred distinct values. Here the window is
    mirrored into the lower tail, where Phi has full relative precision in float32, the
    uniform is shifted into the open (0, 1), and `ndtri` inverts; `lower`/`upper` are Python
    floats, so the mirroring is decided at build time."""
    flip = lower >= 0.0
    lo, hi = (-upper, -lower) if flip else (lower, upper)
    p_lo, p_hi = _phi_cdf(lo), _phi_cdf(hi)

    def sample(k, sh, d):
        u = jax.random.uniform(k, sh, d) + jnp.asarray(2.0**-25, d)  # in (0, 1), symmetric
        z = jax.scipy.special.ndtri(jnp.asarray(p_lo, d) + jnp.asarray(p_hi - p_lo, d) * u)
        z = jnp.clip(z, lo, hi)
        return -z if flip else z

    return _draw(sample, key, shape, cd)


def _phi_cdf(x: float) -> float:
    """Phi(x) in float64 on the host, accurate in the lower tail (erfc, no cancellation)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0)) if math.isfinite(x) else float(x > 0)


# Normal draws in float32 stay within about 5.5 sigma; 8 sigma is a safe envelope.
_SIGMA_ENVELOPE = 8.0


def _check_overflow(scheme: str, st: Stats | None, dtype: Any) -> None:
    """Fix: hyperparameters whose values overflow the dtype (`constant(1e5)` in float16, a tiny
    `fan_in=` override giving std 1e150) used to return Inf/NaN silently; reject them here."""
    if st is None:
        return
    if math.isfinite(st.low) and math.isfinite(st.high):
        # Bounded support: the bounds are the reach (uniform_(-3e4, 3e4) fits float16, as in
        # torch and Keras; an 8-sigma envelope around it would not).
        reach = max(abs(st.low), abs(st.high))
    else:
        reach = abs(st.mean) + _SIGMA_ENVELOPE * st.std
        for b in (st.low, st.high):
            if math.isfinite(b):
                reach = max(reach, abs(b))
    # Sampling happens in the compute dtype; the result is cast to `dtype`: both must hold it.
    limit = min(float(jnp.finfo(dtype).max), float(jnp.finfo(compute_dtype(dtype)).max))
    if not reach <= limit:
        raise ShapeError(
            f"{scheme}: values reach about {reach:.3g} (mean {st.mean:g}, std {st.std:g}), which "
            f"overflows {jnp.dtype(dtype).name} (largest finite value {limit:g}); use smaller "
            "hyperparameters or a wider dtype."
        )


def make_initializer(
    scheme: str,
    sample: Callable[[PRNGKey, tuple[int, ...], Any], Array],
    *,
    hyperparameters: dict[str, Any],
    stats: Callable[[tuple[int, ...]], Stats | None] = _unknown_stats,
    min_rank: int = 0,
    max_rank: int | None = None,
    check: Callable[[tuple[int, ...]], None] | None = None,
    allow_int: bool = False,
) -> Callable[..., Array]:
    """Wraps `sample(key, shape, compute_dtype) -> Array` into a checked initializer.
    `allow_int`: integer/bool dtypes too, sampled directly in that dtype (constant fills)."""

    def init(
        key: PRNGKey, shape: Shape, dtype: DType | None = None, out_sharding: Any = None
    ) -> Array:
        shape, dtype = check_shape_dtype(scheme, shape, dtype, min_rank, max_rank, allow_int)
        if math.prod(shape) == 0:
            out = jnp.zeros(shape, dtype)
        elif is_integral(dtype):
            out = jnp.asarray(sample(key, shape, dtype))
        else:
            if check is not None:
                check(shape)
            _check_overflow(scheme, stats(shape), dtype)
            if out_sharding is not None:
                with shaped_draws():
                    out = jnp.asarray(sample(key, shape, compute_dtype(dtype))).astype(dtype)
            else:
                out = jnp.asarray(sample(key, shape, compute_dtype(dtype))).astype(dtype)
        if out_sharding is not None:
            out = jax.lax.with_sharding_constraint(out, out_sharding)
        return out

    init.scheme = scheme
    init.hyperparameters = dict(hyperparameters)
    init.stats = stats
    init.__name__ = scheme
    init.__qualname__ = scheme
    return init


def _is_real_0d(v: Any) -> bool:
    """A 0-d NumPy/JAX array of a real (integer or floating) dtype, e.g. `jnp.array(1.0)`."""
    return (
        isinstance(v, (np.ndarray, jax.Array))
        and not isinstance(v, jax.core.Tracer)
        and v.ndim == 0
        and (jnp.issubdtype(v.dtype, jnp.floating) or jnp.issubdtype(v.dtype, jnp.integer))
    )


def _finite(scheme: str, **values: float) -> None:
    for name, v in values.items():
        if _is_real_0d(v):
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise HyperparameterError(f"{scheme}: {name}={v!r} must be a real number.")
        if not math.isfinite(float(v)):
            raise HyperparameterError(f"{scheme}: {name}={v!r} must be finite.")


def _nonneg(scheme: str, **values: float) -> None:
    _finite(scheme, **values)
    for name, v in values.items():
        if v < 0:
            raise HyperparameterError(f"{scheme}: {name}={v!r} must be >= 0.")


def _positive(scheme: str, **values: float) -> None:
    _finite(scheme, **values)
    for name, v in values.items():
        if v <= 0:
            raise HyperparameterError(f"{scheme}: {name}={v!r} must be > 0.")


def _choice(scheme: str, what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise unknown(what, value, choices, where=scheme)


def _uniform_stats(low: float, high: float) -> Stats:
    return Stats((low + high) / 2, (high - low) / math.sqrt(12.0), low, high)


def _truncnorm_std(lo: float, hi: float) -> tuple[float, float]:
    """Mean and std of a standard normal truncated to [lo, hi] (closed form; a window in the
    upper tail is mirrored so that its mass is computed without cancellation)."""
    if lo >= 0.0:
        m, sd = _truncnorm_std(-hi, -lo)
        return -m, sd
    phi = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    z = cdf(hi) - cdf(lo)
    pa, pb = phi(lo) if math.isfinite(lo) else 0.0, phi(hi) if math.isfinite(hi) else 0.0
    la = lo * pa if math.isfinite(lo) else 0.0
    lb = hi * pb if math.isfinite(hi) else 0.0
    mean = (pa - pb) / z
    var = 1 + (la - lb) / z - mean**2
    return mean, math.sqrt(max(var, 0.0))


def truncated_mass(lo: float, hi: float) -> float:
    """Probability mass of a standard normal inside [lo, hi] (mirrored into the lower tail
    when the window lies in the upper one, so far windows do not cancel to 0)."""
    if lo >= 0.0:
        lo, hi = -hi, -lo
    return _phi_cdf(hi) - _phi_cdf(lo)


# Smallest truncation mass we sample from: below it float32 inverse-CDF sampling degenerates.
MIN_TRUNCATED_MASS = 1e-6
# torch's trunc_normal_ is sampled in the mirrored lower tail (rand_truncated_normal_tails),
# exact as long as Phi stays a normal float32.
MIN_TRUNCATED_MASS_TAILS = 1e-30


def _check_truncation(
    scheme: str, lo: float, hi: float, what: str, min_mass: float = MIN_TRUNCATED_MASS
) -> None:
    if not lo < hi:
        raise HyperparameterError(f"{scheme}: {what} must satisfy lower < upper, got {lo} >= {hi}.")
    mass = truncated_mass(lo, hi)
    if mass < min_mass:
        raise HyperparameterError(
            f"{scheme}: the truncation interval [{lo:g}, {hi:g}] (in std units) holds only "
            f"{mass:.3g} of the normal's mass (need >= {min_mass:g}); "
            "the bounds exclude (almost) all of the distribution."
        )


# --------------------------------------------------------------------------------------------
# Constants.
#
# First the wrapper that gives the JAX-named factories JAX's extras: a build-time default
# `dtype=` (the call-time dtype overrides it, as in `jax.nn.initializers`) and, for the schemes
# JAX draws in complex (the variance-scaling family and `normal`), complex64/complex128.


def _build_dtype(scheme: str, dtype: Any, complex_ok: bool) -> Any:
    """Validates a build-time `dtype=`: a real floating dtype, or complex where JAX has one."""
    if dtype is None:
        return None
    try:
        dt = jnp.dtype(dtype)
    except TypeError as e:
        raise HyperparameterError(f"{scheme}: dtype={dtype!r} is not a dtype.") from e
    if jnp.issubdtype(dt, jnp.floating) or (complex_ok and jnp.issubdtype(dt, jnp.complexfloating)):
        return dt
    kinds = "a real floating dtype" + (" or complex64/complex128" if complex_ok else "")
    raise HyperparameterError(f"{scheme}: dtype={dtype!r} is not supported; use {kinds}.")


def _is_complex(dtype: Any) -> bool:
    return dtype is not None and jnp.issubdtype(jnp.dtype(dtype), jnp.complexfloating)


def _jax_factory(
    init: Callable[..., Array],
    dtype: Any = None,
    complex_sample: Callable[[PRNGKey, tuple[int, ...], Any], Array] | None = None,
) -> Callable[..., Array]:
    """`init` with a default dtype and (when `complex_sample` is given) complex dtypes.

    `complex_sample(key, shape, complex_dtype)` draws the complex array (JAX's construction).
    """
    scheme = init.scheme
    dtype = _build_dtype(scheme, dtype, complex_sample is not None)
    if dtype is None and complex_sample is None:
        return init

    def wrapped(
        key: PRNGKey, shape: Shape, dtype: DType | None = dtype, out_sharding: Any = None
    ) -> Array:
        if complex_sample is None or not _is_complex(dtype):
            return init(key, shape, dtype, out_sharding)
        shape, _ = check_shape_dtype(scheme, shape, jnp.float32)  # the shape checks only
        cd = jnp.dtype(dtype)
        out = jnp.zeros(shape, cd) if math.prod(shape) == 0 else complex_sample(key, shape, cd)
        if out_sharding is not None:
            out = jax.lax.with_sharding_constraint(out, out_sharding)
        return out

    wrapped.__dict__.update(init.__dict__)
    if dtype is not None:
        wrapped.hyperparameters = {**init.hyperparameters, "dtype": dtype.name}
    wrapped.__name__ = wrapped.__qualname__ = scheme
    return wrapped


def _complex_uniform(key: PRNGKey, shape: tuple[int, ...], dtype: Any) -> Array:
    """Uniform on the disk of radius sqrt(2): zero mean, E|z|^2 = 1 (jax `_complex_uniform`)."""
    key_r, key_theta = jax.random.split(key)
    real = jnp.finfo(dtype).dtype
    r = jnp.sqrt(2 * jax.random.uniform(key_r, shape, real)).astype(dtype)
    theta = 2 * np.pi * jax.random.uniform(key_theta, shape, real).astype(dtype)
    return r * jnp.exp(1j * theta)


def _complex_truncated_normal(key: PRNGKey, upper: float, shape: tuple[int, ...], dtype: Any):
    """A centred complex normal (E|z|^2 = 1 before truncation) with modulus truncated to
    `upper` (jax `_complex_truncated_normal`)."""
    key_r, key_theta = jax.random.split(key)
    real = jnp.finfo(dtype).dtype
    t = (1 - jnp.exp(jnp.array(-(upper**2), dtype))) * jax.random.uniform(
        key_r, shape, real
    ).astype(dtype)
    r = jnp.sqrt(-jnp.log(1 - t))
    theta = 2 * np.pi * jax.random.uniform(key_theta, shape, real).astype(dtype)
    return r * jnp.exp(1j * theta)


# The std of a complex standard normal with modulus truncated to 2 (jax's constant).
COMPLEX_TRUNCATED_STD_FACTOR = 0.95311164380491208


@register("zeros", aliases=("zero", "Zeros", "zeros_", "zeros_init"), family="constant")
def zeros() -> Callable[..., Array]:
    """All zeros. Ignores the key.

    Formula: w = 0
    Source: jax `nn.initializers.zeros`, torch `nn.init.zeros_`, Keras `Zeros`.
    """
    return constant(0.0, _scheme="zeros")


@register("ones", aliases=("one", "Ones", "ones_", "ones_init"), family="constant")
def ones() -> Callable[..., Array]:
    """All ones. Ignores the key.

    Formula: w = 1
    Source: jax `nn.initializers.ones`, torch `nn.init.ones_`, Keras `Ones`.
    """
    return constant(1.0, _scheme="ones")


@register("constant", aliases=("Constant", "constant_"), family="constant")
def constant(
    value: Any = 0.0, dtype: DType | None = None, *, _scheme: str = "constant"
) -> Callable[..., Array]:
    """A constant fill. Ignores the key.

    `value` is a number or, as in JAX's `constant` and Keras's `Constant`, an array that is
    broadcast to the requested shape. `dtype` is the default dtype (JAX's build-time `dtype=`).

    Formula: w = value
    Source: jax `nn.initializers.constant(value, dtype)`, torch `nn.init.constant_`,
    Keras `Constant(value)`.
    """
    if _is_real_0d(value):
        value = value.item()
    if isinstance(value, (np.ndarray, jax.Array, list, tuple)):
        return _constant_array(_scheme, value, dtype)
    _finite(_scheme, value=value)
    value = float(value)

    def sample(key, shape, cd):
        if is_integral(cd):  # integer/bool variables: the value must be exactly representable
            info = (0, 1) if jnp.issubdtype(cd, jnp.bool_) else jnp.iinfo(cd)
            lo, hi = info if isinstance(info, tuple) else (int(info.min), int(info.max))
            if value != int(value) or not lo <= value <= hi:
                raise ShapeError(
                    f"{_scheme}: value {value:g} cannot be held exactly by dtype "
                    f"{jnp.dtype(cd).name} (integers {lo} to {hi})."
                )
            return jnp.full(shape, int(value), cd)
        return jnp.full(shape, value, cd)

    init = make_initializer(
        _scheme,
        sample,
        hyperparameters={} if _scheme != "constant" else {"value": value},
        stats=lambda shape: Stats(value, 0.0, value, value),
        allow_int=True,
    )
    init.constant_value = value  # the policy engine fills these on the host, uncompiled
    if dtype is not None:
        init = _jax_factory(init, dtype)
    return init


def _constant_array(scheme: str, value: Any, dtype: Any) -> Callable[..., Array]:
    """`constant(value=array)`: the array broadcast to the shape (JAX `jnp.full`, Keras
    `cast(value) * ones(shape)`)."""
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise HyperparameterError(
            f"{scheme}: value={value!r} must be a real number or an array of them."
        ) from e
    if not np.all(np.isfinite(v)):
        raise HyperparameterError(f"{scheme}: value={value!r} must be finite.")

    def check(shape):
        try:
            np.broadcast_shapes(v.shape, shape)
            ok = np.broadcast_shapes(v.shape, shape) == tuple(shape)
        except ValueError:
            ok = False
        if not ok:
            raise ShapeError(
                f"{scheme}: value of shape {v.shape} cannot be broadcast to shape {shape}."
            )

    def sample(key, shape, cd):
        check(shape)
        if is_integral(cd) and not np.array_equal(v, np.round(v)):
            raise ShapeError(
                f"{scheme}: value {v!r} cannot be held exactly by dtype {jnp.dtype(cd).name}."
            )
        return jnp.broadcast_to(jnp.asarray(v, cd), shape)

    st = Stats(float(v.mean()), float(v.std()), float(v.min()), float(v.max())) if v.size else None
    init = make_initializer(
        scheme,
        sample,
        hyperparameters={"value": v},
        stats=lambda shape: st,
        check=check,
        allow_int=True,
    )
    return _jax_factory(init, dtype)


@register("eye", aliases=("identity", "Identity", "eye_", "IdentityInitializer"), family="constant")
def eye(gain: float = 1.0) -> Callable[..., Array]:
    """The (possibly rectangular) identity matrix times `gain`. 2-D only. Ignores the key.

    Formula: w = gain * I[m, n]
    Source: torch `nn.init.eye_` (gain 1), Keras `Identity(gain)`.
    """
    _finite("eye", gain=gain)
    return make_initializer(
        "eye",
        lambda key, shape, cd: gain * jnp.eye(shape[0], shape[1], dtype=cd),
        hyperparameters={"gain": gain},
        min_rank=2,
        max_rank=2,
    )


@register("dirac", aliases=("dirac_",), family="constant")
def dirac(groups: int = 1) -> Callable[..., Array]:
    """The Dirac delta of a convolution: the conv is the identity on the first channels.

    For a Flax conv kernel `(*k, in_per_group, out)`, with `opg = out // groups`:
    `w[center, d, g * opg + d] = 1` for every group g and `d < min(opg, in_per_group)`, with
    `center = k // 2` along each spatial dim; zeros elsewhere. Rank 3 to 5. Ignores the key.

    Formula: w[k//2, d, g*out/groups + d] = 1
    Source: torch `nn.init.dirac_(tensor, groups)` (same rule, torch layout `(out, in, *k)`).
    """
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise HyperparameterError(f"dirac: groups={groups!r} must be a positive integer.")

    def check(shape):
        if shape[-1] % groups:
            raise ShapeError(
                f"dirac: out channels {shape[-1]} (shape {shape}) are not divisible by "
                f"groups={groups}."
            )

    def sample(key, shape, cd):
        out_per_group = shape[-1] // groups
        n = min(out_per_group, shape[-2])
        center = tuple(s // 2 for s in shape[:-2])
        w = np.zeros(shape, dtype=np.float32)
        for g in range(groups):
            for d in range(n):
                w[center + (d, g * out_per_group + d)] = 1.0
        return jnp.asarray(w, cd)

    return make_initializer(
        "dirac",
        sample,
        hyperparameters={"groups": groups},
        min_rank=3,
        max_rank=5,
        check=check,
    )


# --------------------------------------------------------------------------------------------
# Uniform and normal with explicit parameters.


def _uniform(
    scheme: str, low: float, high: float, hp: dict, names: tuple[str, str] = ("low", "high")
) -> Callable[..., Array]:
    # Fix: errors name the scheme's own hyperparameters (random_uniform's minval/maxval), not
    # always "low"/"high".
    lo_name, hi_name = names
    _finite(scheme, **{lo_name: low, hi_name: high})
    if low > high:
        raise HyperparameterError(
            f"{scheme}: {lo_name}={low} > {hi_name}={high}; need {lo_name} <= {hi_name}."
        )
    low, high = float(low), float(high)
    return make_initializer(
        scheme,
        lambda key, shape, cd: low + (high - low) * rand_uniform(key, shape, cd),
        hyperparameters=hp,
        stats=lambda shape: _uniform_stats(low, high),
    )


@register("torch_uniform", aliases=("uniform_",), family="uniform")
def torch_uniform(low: float = 0.0, high: float = 1.0) -> Callable[..., Array]:
    """torch's uniform on [low, high) (torch calls them `a`, `b`), by default U[0, 1).

    Not JAX's `uniform(scale)`, which the unprefixed name `uniform` means (`jax_uniform`).

    Formula: w ~ U(low, high)
    Source: torch `nn.init.uniform_(a=0, b=1)`.
    """
    return _uniform("torch_uniform", low, high, {"low": low, "high": high})


@register("random_uniform", aliases=("RandomUniform", "keras_uniform"), family="uniform")
@tf_seedable("uniform")
def random_uniform(minval: float = -0.05, maxval: float = 0.05) -> Callable[..., Array]:
    """Keras's uniform, by default U(-0.05, 0.05) (also Keras's `Embedding` default).

    Formula: w ~ U(minval, maxval)
    Source: Keras 3 `RandomUniform(minval=-0.05, maxval=0.05)`.
    """
    return _uniform(
        "random_uniform", minval, maxval, {"minval": minval, "maxval": maxval}, ("minval", "maxval")
    )


@register("keras_embedding", family="layer_default")
def keras_embedding() -> Callable[..., Array]:
    """Keras's `Embedding` default: U(-0.05, 0.05).

    Formula: w ~ U(-0.05, 0.05)
    Source: Keras 3 `Embedding(embeddings_initializer="uniform")`, i.e. `RandomUniform()`.
    """
    return _uniform("keras_embedding", -0.05, 0.05, {})


@register("jax_uniform", aliases=("uniform",), family="uniform")
def jax_uniform(scale: float = 1e-2, dtype: DType | None = None) -> Callable[..., Array]:
    """JAX's (and Flax's) `uniform`, which is U[0, scale), NOT symmetric. The unprefixed name
    `uniform` means this one; torch's U(a, b) is `uniform_`, Keras's `RandomUniform`.

    Formula: w ~ U(0, scale)
    Source: jax `nn.initializers.uniform(scale=1e-2, dtype=None)`.
    """
    _nonneg("jax_uniform", scale=scale)
    return _jax_factory(_uniform("jax_uniform", 0.0, scale, {"scale": scale}), dtype)


@register("symmetric_uniform", aliases=("uniform_bound",), family="uniform")
def symmetric_uniform(bound: float = 1.0) -> Callable[..., Array]:
    """Symmetric uniform U(-bound, bound), drawn as a rescaled U[-1, 1).

    Formula: w ~ U(-bound, bound)
    Source: the building block of torch's layer defaults and Keras `RandomUniform(-b, b)`.
    """
    _nonneg("symmetric_uniform", bound=bound)
    bound = float(bound)
    return make_initializer(
        "symmetric_uniform",
        lambda key, shape, cd: bound * rand_uniform(key, shape, cd, -1.0, 1.0),
        hyperparameters={"bound": bound},
        stats=lambda shape: _uniform_stats(-bound, bound),
    )


def _normal(
    scheme: str, mean: float, std: float, hp: dict, std_name: str = "std"
) -> Callable[..., Array]:
    # Fix: errors name the scheme's own hyperparameter (random_normal's and jax_normal's
    # `stddev`), not always "std".
    _finite(scheme, mean=mean)
    _nonneg(scheme, **{std_name: std})
    mean, std = float(mean), float(std)
    return make_initializer(
        scheme,
        lambda key, shape, cd: mean + std * rand_normal(key, shape, cd),
        hyperparameters=hp,
        stats=lambda shape: Stats(mean, std, -math.inf, math.inf),
    )


@register("torch_normal", aliases=("normal_",), family="normal")
def torch_normal(mean: float = 0.0, std: float = 1.0) -> Callable[..., Array]:
    """torch's normal N(mean, std^2), untruncated, by default N(0, 1).

    Not JAX's `normal(stddev=0.01)`, which the unprefixed name `normal` means (`jax_normal`).

    Formula: w ~ N(mean, std^2)
    Source: torch `nn.init.normal_(mean=0, std=1)`.
    """
    return _normal("torch_normal", mean, std, {"mean": mean, "std": std})


@register("random_normal", aliases=("RandomNormal",), family="normal")
@tf_seedable("normal")
def random_normal(mean: float = 0.0, stddev: float = 0.05) -> Callable[..., Array]:
    """Keras's normal, by default N(0, 0.05^2).

    Formula: w ~ N(mean, stddev^2)
    Source: Keras 3 `RandomNormal(mean=0.0, stddev=0.05)`.
    """
    return _normal("random_normal", mean, stddev, {"mean": mean, "stddev": stddev}, "stddev")


@register("jax_normal", aliases=("normal",), family="normal")
def jax_normal(stddev: float = 1e-2, dtype: DType | None = None) -> Callable[..., Array]:
    """JAX's (and Flax's) `normal`: N(0, stddev^2). The unprefixed name `normal` means this
    one; torch's N(mean, std^2) is `normal_`, Keras's `RandomNormal`. Complex dtypes draw
    `jax.random.normal` in that dtype (E|z|^2 = 1) times stddev, as JAX does.

    Formula: w ~ N(0, stddev^2)
    Source: jax `nn.initializers.normal(stddev=1e-2, dtype=None)`.
    """
    init = _normal("jax_normal", 0.0, stddev, {"stddev": stddev}, "stddev")
    sd = float(stddev)
    return _jax_factory(
        init, dtype, lambda key, shape, cd: jax.random.normal(key, shape, cd) * jnp.array(sd, cd)
    )


@register("torch_embedding", family="layer_default")
def torch_embedding(padding_idx: int | None = None) -> Callable[..., Array]:
    """torch `nn.Embedding`'s default: N(0, 1), with the `padding_idx` row set to zero.

    A negative `padding_idx` counts from the end, as torch wraps it to `n + padding_idx`.

    Formula: w ~ N(0, 1^2); w[padding_idx] = 0
    Source: torch `nn.Embedding.reset_parameters` (`normal_` then `_fill_padding_idx_with_zero`).
    """
    if padding_idx is not None and (
        isinstance(padding_idx, bool) or not isinstance(padding_idx, int)
    ):
        raise HyperparameterError(
            f"torch_embedding: padding_idx={padding_idx!r} must be an integer or None."
        )

    def check(shape):
        if padding_idx is not None and not -shape[0] <= padding_idx < shape[0]:
            raise ShapeError(
                f"torch_embedding: padding_idx={padding_idx} is out of range for "
                f"{shape[0]} embeddings (shape {shape})."
            )

    def sample(key, shape, cd):
        w = rand_normal(key, shape, cd)
        if padding_idx is not None:
            w = w.at[padding_idx % shape[0]].set(0.0)
        return w

    return make_initializer(
        "torch_embedding",
        sample,
        hyperparameters={"padding_idx": padding_idx},
        stats=lambda shape: Stats(0.0, 1.0, -math.inf, math.inf),
        min_rank=2,
        check=check,
    )


# --------------------------------------------------------------------------------------------
# Truncated normals.


def _truncated(
    scheme: str, mean: float, std: float, lo: float, hi: float, hp: dict, tails: bool = False
) -> Callable[..., Array]:
    """mean + std * TN(lo, hi): a standard normal truncated to [lo, hi] (std units).
    `tails`: the tail-exact sampler (torch's trunc_normal_), else JAX's own (bit-identical to
    `jax.nn.initializers` for the JAX/Keras schemes)."""

    def stats(shape):
        m, s = _truncnorm_std(lo, hi)
        return Stats(mean + std * m, std * s, mean + std * lo, mean + std * hi)

    rand = rand_truncated_normal_tails if tails else rand_truncated_normal
    return make_initializer(
        scheme,
        lambda key, shape, cd: mean + std * rand(key, lo, hi, shape, cd),
        hyperparameters=hp,
        stats=stats,
    )


@register("truncated_normal", family="truncated_normal")
def truncated_normal(
    stddev: float = 1e-2,
    mean: float = 0.0,
    lower: float = -2.0,
    upper: float = 2.0,
    dtype: DType | None = None,
) -> Callable[..., Array]:
    """Normal truncated at bounds given in std units, without std correction.

    The post-truncation std is smaller than `stddev` (0.8796 * stddev for the default +-2).

    TN(m, s, lo, hi) below is m + s * Z with Z a standard normal truncated to [lo, hi]: the
    bounds are relative, in units of stddev. (JAX's second positional argument is `dtype`;
    pass it by keyword here.)

    Formula: w ~ TN(mean, stddev, lower, upper)
    Source: jax `nn.initializers.truncated_normal(stddev=1e-2, dtype, lower=-2, upper=2)`,
    Haiku `TruncatedNormal`.
    """
    _finite("truncated_normal", mean=mean, lower=lower, upper=upper)
    _positive("truncated_normal", stddev=stddev)
    _check_truncation("truncated_normal", lower, upper, "the bounds (lower, upper)")
    hp = {"stddev": stddev, "mean": mean, "lower": lower, "upper": upper}
    init = _truncated("truncated_normal", float(mean), float(stddev), lower, upper, hp)
    return _jax_factory(init, dtype)


@register("keras_truncated_normal", aliases=("TruncatedNormal",), family="truncated_normal")
@tf_seedable("truncated")
def keras_truncated_normal(mean: float = 0.0, stddev: float = 0.05) -> Callable[..., Array]:
    """Keras's truncated normal: truncated at +-2 stddev, no std correction.

    Formula: w ~ TN(mean, stddev, -2, 2)
    Source: Keras 3 `TruncatedNormal(mean=0.0, stddev=0.05)`.
    """
    _finite("keras_truncated_normal", mean=mean)
    _positive("keras_truncated_normal", stddev=stddev)
    hp = {"mean": mean, "stddev": stddev}
    return _truncated("keras_truncated_normal", float(mean), float(stddev), -2.0, 2.0, hp)


@register(
    "trunc_normal", aliases=("trunc_normal_", "torch_trunc_normal"), family="truncated_normal"
)
def trunc_normal(
    mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0
) -> Callable[..., Array]:
    """torch's truncated normal: `a` and `b` are ABSOLUTE bounds, `std` is pre-truncation.

    `trunc_normal(std=0.02)` truncates at +-2.0, i.e. +-100 sigma: effectively untruncated.

    Formula: w ~ TN(mean, std, (a - mean) / std, (b - mean) / std); a <= w <= b
    Source: torch `nn.init.trunc_normal_(mean=0, std=1, a=-2, b=2)`.
    """
    _finite("trunc_normal", mean=mean, a=a, b=b)
    _positive("trunc_normal", std=std)
    if not a < b:
        raise HyperparameterError(f"trunc_normal: a={a} >= b={b}; need a < b.")
    lo, hi = (a - mean) / std, (b - mean) / std
    _check_truncation("trunc_normal", lo, hi, "the bounds (a, b)", MIN_TRUNCATED_MASS_TAILS)
    hp = {"mean": mean, "std": std, "a": a, "b": b}
    return _truncated("trunc_normal", float(mean), float(std), lo, hi, hp, tails=True)


# --------------------------------------------------------------------------------------------
# Variance scaling: the general primitive behind glorot/he/lecun and torch's layer defaults.


def _check_axes(scheme: str, **axes: Axes) -> None:
    for name, a in axes.items():
        items = (a,) if isinstance(a, int) and not isinstance(a, bool) else a
        try:
            ok = all(isinstance(i, int) and not isinstance(i, bool) for i in items)
        except TypeError:
            ok = False
        if not ok:
            raise HyperparameterError(f"{scheme}: {name}={a!r} must be an int or a tuple of ints.")


def _norm_axes(a: Axes) -> Axes:
    return a if isinstance(a, int) else tuple(a)


def variance_scaling_builder(
    scheme: str,
    scale: float,
    mode: str,
    distribution: str,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    low_rank: str = "error",
    keras: bool = False,
    hp: dict | None = None,
    keras_axes: tuple[Any, Any] = (None, None),
    dtype: DType | None = None,
    complex_ok: bool = False,
) -> Callable[..., Array]:
    """Shared implementation of every variance-scaling scheme (validated at build time).

    `keras_axes`: Keras 3's `(input_axes, output_axes)`; when both are given the fans are the
    products of exactly those axes (Keras `compute_fans`). `dtype`: a default dtype (JAX's
    build-time `dtype=`). `complex_ok`: complex dtypes draw JAX's complex constructions."""
    _nonneg(scheme, scale=scale)
    _choice(scheme, "mode", mode, MODES)
    _choice(scheme, "distribution", distribution, DISTRIBUTIONS + EXTRA_DISTRIBUTIONS)
    _choice(scheme, "low_rank", low_rank, fans_lib.LOW_RANK_CHOICES)
    _check_axes(scheme, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    input_axes, output_axes = keras_axes
    for name, a in (("input_axes", input_axes), ("output_axes", output_axes)):
        if a is not None and (isinstance(a, int) or not isinstance(a, (list, tuple))):
            raise HyperparameterError(
                f"{scheme}: {name}={a!r} must be a list of ints or None (Keras's axes)."
            )
        if a is not None:
            _check_axes(scheme, **{name: a})
    # Keras uses the listed axes only when both are given (otherwise its default fans).
    explicit = input_axes is not None and output_axes is not None
    for name, f in (("fan_in", fan_in), ("fan_out", fan_out)):
        if f is not None:
            _positive(scheme, **{name: f})
    if keras and distribution == "normal":
        distribution = "truncated_normal"  # Keras 3 maps "normal" to the truncated normal
    if distribution == "untruncated_normal":
        distribution = "normal"
    in_axis, out_axis, batch_axis = map(_norm_axes, (in_axis, out_axis, batch_axis))
    scale = float(scale)

    def variance(shape: tuple[int, ...]) -> float:
        need = {"fan_in": (True, False), "fan_out": (False, True)}.get(mode, (True, True))
        if (need[0] and fan_in is None) or (need[1] and fan_out is None):
            if explicit:
                fi, fo = fans_lib.keras_axes_fans(shape, input_axes, output_axes, scheme)
            else:
                fi, fo = fans_lib.compute_fans(
                    shape, in_axis, out_axis, batch_axis, low_rank=low_rank, scheme=scheme
                )
        else:
            fi = fo = None
        fi = fan_in if fan_in is not None else fi
        fo = fan_out if fan_out is not None else fo
        n = fans_lib.fan_for_mode(fi or 0.0, fo or 0.0, mode)
        if keras:
            n = max(1.0, n)  # Keras: scale / max(1, n)
        if n <= 0:
            raise ShapeError(
                f"{scheme}: {mode} is zero for shape {shape} (fan_in={fi}, fan_out={fo}); "
                "variance scaling would divide by zero."
            )
        return scale / n

    def sample(key, shape, cd):
        var = variance(shape)
        if distribution == "uniform":
            return rand_uniform(key, shape, cd, -1.0, 1.0) * math.sqrt(3.0 * var)
        if distribution == "normal":
            return rand_normal(key, shape, cd) * math.sqrt(var)
        tn = rand_truncated_normal(key, -2.0, 2.0, shape, cd)
        if distribution == "truncated_normal":
            return tn * (math.sqrt(var) / TRUNCATED_STD_FACTOR)
        return tn * math.sqrt(var)  # truncated_normal_uncorrected

    def stats(shape):
        try:
            var = variance(shape)
        except ShapeError:
            return None
        s = math.sqrt(var)
        if distribution == "uniform":
            b = math.sqrt(3.0 * var)
            return Stats(0.0, s, -b, b)
        if distribution == "normal":
            return Stats(0.0, s, -math.inf, math.inf)
        sigma = s / TRUNCATED_STD_FACTOR if distribution == "truncated_normal" else s
        return Stats(0.0, sigma * TRUNCATED_STD_FACTOR, -2 * sigma, 2 * sigma)

    def check(shape):
        variance(shape)

    def complex_sample(key, shape, cd):
        # JAX's complex variance scaling: the same variance, E|w|^2 = scale / n.
        std = jnp.sqrt(jnp.array(variance(shape), cd))
        if distribution == "uniform":
            return _complex_uniform(key, shape, cd) * std
        if distribution == "normal":
            return jax.random.normal(key, shape, cd) * std
        if distribution == "truncated_normal":
            tn = _complex_truncated_normal(key, 2.0, shape, cd)
            return tn * (std / jnp.array(COMPLEX_TRUNCATED_STD_FACTOR, cd))
        raise ShapeError(
            f"{scheme}: distribution {distribution!r} has no complex form (JAX has complex "
            "truncated_normal, normal and uniform); use a real floating dtype."
        )

    if hp is None:
        hp = {
            "scale": scale,
            "mode": mode,
            "distribution": distribution,
            "in_axis": in_axis,
            "out_axis": out_axis,
            "batch_axis": batch_axis,
            "fan_in": fan_in,
            "fan_out": fan_out,
        }
    init = make_initializer(scheme, sample, hyperparameters=hp, stats=stats, check=check)
    init.formula = vs_formula(scale, mode, distribution, keras)
    return _jax_factory(init, dtype, complex_sample if complex_ok else None)


_MODE_TEXT = {
    "fan_in": "fan_in",
    "fan_out": "fan_out",
    "fan_avg": "fan_avg",
    "fan_geo_avg": "fan_geo_avg",
}


def vs_formula(scale: float, mode: str, distribution: str, keras: bool = False) -> str:
    """The formula of one variance-scaling specialisation, in the registry's notation:
    U(lo, hi), N(mean, std^2), TN(mean, sigma, lo, hi) = mean + sigma * (a standard normal
    truncated to [lo, hi]); fan_avg = (fan_in + fan_out) / 2, fan_geo_avg = sqrt(fan_in *
    fan_out)."""
    n = _MODE_TEXT[mode]
    if keras:
        n = f"max(1, {n})"
    if distribution == "uniform":
        return f"limit = sqrt({3 * scale:g} / {n}); w ~ U(-limit, limit)"
    std = f"std = sqrt({scale:g} / {n})"
    if distribution == "normal":
        return f"{std}; w ~ N(0, std^2)"
    if distribution == "truncated_normal":
        return f"{std}; w ~ TN(0, std / {TRUNCATED_STD_FACTOR!r}, -2, 2)"
    return f"{std}; w ~ TN(0, std, -2, 2)"  # truncated_normal_uncorrected


@register("variance_scaling", family="variance_scaling")
def variance_scaling(
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    low_rank: str = "error",
    dtype: DType | None = None,
) -> Callable[..., Array]:
    """Variance scaling with JAX semantics ("normal" is UNtruncated).

    `var = scale / n` with n = fan_in, fan_out, (fan_in + fan_out)/2 or sqrt(fan_in * fan_out).
    uniform: U[-1, 1) * sqrt(3 var); normal: N(0, 1) * sqrt(var); truncated_normal:
    TN(-2, 2) * sqrt(var) / 0.8796... (post-truncation std sqrt(var));
    truncated_normal_uncorrected: TN(-2, 2) * sqrt(var) (old TF1 / Haiku modules).
    Fans come from `in_axis`/`out_axis`/`batch_axis` (Flax layout by default) unless `fan_in=`
    / `fan_out=` override them; `low_rank="keras"` gives rank-0/1 shapes Keras's fans. Explicit
    axes work on rank-0/1 shapes as in JAX (an empty axis list counts 1). Complex dtypes follow
    JAX: uniform on a disk, complex normal, complex normal with modulus truncated at 2. `dtype`
    is the default dtype (JAX's build-time `dtype=`).

    In the formula, n(mode) is fan_in, fan_out, fan_avg = (fan_in + fan_out) / 2 or fan_geo_avg
    = sqrt(fan_in * fan_out), and D(distribution, std) the zero-mean law of that std:
    U(-sqrt(3) std, sqrt(3) std), N(0, std^2), TN(0, std / 0.8796, -2, 2) or TN(0, std, -2, 2).

    Formula: std = sqrt(scale / n(mode)); w ~ D(distribution, std)
    Source: jax `nn.initializers.variance_scaling(scale, mode, distribution, in_axis, out_axis,
    batch_axis, dtype)`.
    """
    return variance_scaling_builder(
        "variance_scaling",
        scale,
        mode,
        distribution,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        fan_in=fan_in,
        fan_out=fan_out,
        low_rank=low_rank,
        dtype=dtype,
        complex_ok=True,
    )


@register("keras_variance_scaling", aliases=("VarianceScaling",), family="variance_scaling")
@tf_seedable("vs")
def keras_variance_scaling(
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> Callable[..., Array]:
    """Variance scaling with Keras 3 semantics: "normal" means the corrected truncated normal,
    `n` is `max(1, n)`, and rank-0/1 shapes get fans (1, 1) and (n, n). With both
    `input_axes` and `output_axes` the fans are the products of exactly those axes (Keras:
    `(512, 8, 64)` with `[0]`, `[2]` gives `(512, 64)`); with only one of them Keras ignores it,
    and so does this.

    Formula: std = sqrt(scale / max(1, n(mode))); w ~ D(keras(distribution), std)
    Source: Keras 3 `VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal",
    input_axes=None, output_axes=None)`.
    """
    # Fix: Keras 3's VarianceScaling raises for scale <= 0 ("must be positive"); so do we.
    _positive("keras_variance_scaling", scale=scale)
    return variance_scaling_builder(
        "keras_variance_scaling",
        scale,
        mode,
        distribution,
        low_rank="keras",
        keras=True,
        hp={
            "scale": scale,
            "mode": mode,
            "distribution": distribution,
            "input_axes": input_axes,
            "output_axes": output_axes,
        },
        keras_axes=(input_axes, output_axes),
    )


def _named_vs(name: str, scale: float, mode: str, dist: str, keras: bool, source: str, aliases):
    """Registers a fixed variance-scaling specialisation (a one-liner over the primitive).

    The JAX ones take JAX's build-time `dtype=` and complex dtypes; the Keras ones Keras 3's
    `input_axes`/`output_axes`."""

    def common(in_axis, out_axis, batch_axis, fan_in, fan_out, **kw):
        return variance_scaling_builder(
            name,
            scale,
            mode,
            dist,
            in_axis=in_axis,
            out_axis=out_axis,
            batch_axis=batch_axis,
            fan_in=fan_in,
            fan_out=fan_out,
            low_rank="keras" if keras else "error",
            keras=keras,
            **kw,
        )

    if keras:

        def builder(
            in_axis: Axes = -2,
            out_axis: Axes = -1,
            batch_axis: Axes = (),
            fan_in: float | None = None,
            fan_out: float | None = None,
            input_axes: Sequence[int] | None = None,
            output_axes: Sequence[int] | None = None,
        ) -> Callable[..., Array]:
            hp = {"in_axis": in_axis, "out_axis": out_axis, "batch_axis": batch_axis}
            if input_axes is not None or output_axes is not None:
                hp.update(input_axes=input_axes, output_axes=output_axes)
            axes = (input_axes, output_axes)
            return common(in_axis, out_axis, batch_axis, fan_in, fan_out, hp=hp, keras_axes=axes)

    else:

        def builder(
            in_axis: Axes = -2,
            out_axis: Axes = -1,
            batch_axis: Axes = (),
            fan_in: float | None = None,
            fan_out: float | None = None,
            dtype: DType | None = None,
        ) -> Callable[..., Array]:
            hp = {"in_axis": in_axis, "out_axis": out_axis, "batch_axis": batch_axis}
            kw = {"hp": hp, "dtype": dtype, "complex_ok": True}
            return common(in_axis, out_axis, batch_axis, fan_in, fan_out, **kw)

    shown = {"truncated_normal": "truncated_normal (corrected)"}.get(dist, dist)
    extra = (
        "Keras 3 semantics: rank-0/1 shapes get fans (1, 1) / (n, n), n is max(1, n), and\n"
        "    `input_axes`/`output_axes` (both given) choose the fan axes as Keras does."
        if keras
        else "JAX semantics; `dtype` is the default dtype, complex dtypes draw as JAX does."
    )
    builder.__doc__ = (
        f"Variance scaling with scale={scale:g}, mode={mode}, distribution={shown}.\n\n"
        f"    {extra}\n\n"
        f"    Formula: {vs_formula(scale, mode, dist, keras)}\n"
        f"    Source: {source}.\n"
    )
    builder.__name__ = name
    if keras:
        builder = tf_seedable("vs", dist)(builder)
    register(name, aliases=aliases, family="variance_scaling")(builder)


for _name, _scale, _mode, _dist, _aliases, _src in (
    ("glorot_uniform", 1.0, "fan_avg", "uniform", ("xavier_uniform",), "jax `glorot_uniform`"),
    (
        "glorot_normal",
        1.0,
        "fan_avg",
        "truncated_normal",
        ("xavier_normal",),
        "jax `glorot_normal`",
    ),
    ("he_uniform", 2.0, "fan_in", "uniform", ("kaiming_uniform",), "jax `he_uniform`"),
    ("he_normal", 2.0, "fan_in", "truncated_normal", ("kaiming_normal",), "jax `he_normal`"),
    ("lecun_uniform", 1.0, "fan_in", "uniform", (), "jax `lecun_uniform`"),
    ("lecun_normal", 1.0, "fan_in", "truncated_normal", (), "jax `lecun_normal` (Flax's default)"),
):
    _named_vs(_name, _scale, _mode, _dist, False, _src, _aliases)
    # Keras classes: same fans for rank >= 2, Keras's rank-0/1 fans and max(1, n).
    _keras = "".join(p.capitalize() for p in _name.split("_"))
    _named_vs("keras_" + _name, _scale, _mode, _dist, True, f"Keras 3 `{_keras}`", (_keras,))


# torch's variance-scaling functions, in the Flax layout (torch fan_in = Flax in_axis).


def _torch_mode(scheme: str, mode: str) -> None:
    _choice(scheme, "mode", mode, ("fan_in", "fan_out"))  # torch has no fan_avg here


@register("torch_xavier_uniform", aliases=("xavier_uniform_",), family="variance_scaling")
def torch_xavier_uniform(
    gain: float = 1.0, in_axis: Axes = -2, out_axis: Axes = -1
) -> Callable[..., Array]:
    """torch's Xavier uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Formula: limit = gain * sqrt(6 / (fan_in + fan_out)); w ~ U(-limit, limit)
    Source: torch `nn.init.xavier_uniform_(gain=1.0)`.
    """
    _nonneg("torch_xavier_uniform", gain=gain)
    return variance_scaling_builder(
        "torch_xavier_uniform",
        gain**2,
        "fan_avg",
        "uniform",
        in_axis=in_axis,
        out_axis=out_axis,
        hp={"gain": gain, "in_axis": in_axis, "out_axis": out_axis},
    )


@register("torch_xavier_normal", aliases=("xavier_normal_",), family="variance_scaling")
def torch_xavier_normal(
    gain: float = 1.0, in_axis: Axes = -2, out_axis: Axes = -1
) -> Callable[..., Array]:
    """torch's Xavier normal, UNtruncated: N(0, gain^2 * 2 / (fan_in + fan_out)).

    Formula: std = gain * sqrt(2 / (fan_in + fan_out)); w ~ N(0, std^2)
    Source: torch `nn.init.xavier_normal_(gain=1.0)`.
    """
    _nonneg("torch_xavier_normal", gain=gain)
    return variance_scaling_builder(
        "torch_xavier_normal",
        gain**2,
        "fan_avg",
        "normal",
        in_axis=in_axis,
        out_axis=out_axis,
        hp={"gain": gain, "in_axis": in_axis, "out_axis": out_axis},
    )


def _torch_kaiming(name: str, dist: str, a, mode, nonlinearity, in_axis, out_axis):
    _finite(name, a=a)
    _torch_mode(name, mode)
    # Fix: the error for an unknown nonlinearity named only `calculate_gain`, not the scheme.
    _choice(name, "nonlinearity", nonlinearity, NONLINEARITIES)
    gain = calculate_gain(nonlinearity, a)
    init = variance_scaling_builder(
        name,
        gain**2,
        mode,
        dist,
        in_axis=in_axis,
        out_axis=out_axis,
        hp={
            "a": a,
            "mode": mode,
            "nonlinearity": nonlinearity,
            "in_axis": in_axis,
            "out_axis": out_axis,
        },
    )
    return _warn_zero_element(init)


def _warn_zero_element(init: Callable[..., Array]) -> Callable[..., Array]:
    """torch's kaiming_uniform_/kaiming_normal_ warn on a zero-element tensor ("Initializing
    zero-element tensors is a no-op") and return it; so do their torch-named schemes."""

    def wrapped(
        key: PRNGKey, shape: Shape, dtype: DType | None = None, out_sharding: Any = None
    ) -> Array:
        out = init(key, shape, dtype, out_sharding)
        if out.size == 0:
            import warnings

            warnings.warn(
                f"{init.scheme}: Initializing zero-element tensors is a no-op "
                f"(shape {tuple(out.shape)}).",
                UserWarning,
                stacklevel=2,
            )
        return out

    wrapped.__dict__.update(init.__dict__)
    wrapped.__name__ = wrapped.__qualname__ = init.scheme
    return wrapped


@register("torch_kaiming_uniform", aliases=("kaiming_uniform_",), family="variance_scaling")
def torch_kaiming_uniform(
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
) -> Callable[..., Array]:
    """torch's Kaiming uniform: U(-b, b), b = sqrt(3) * gain / sqrt(fan), gain from `a`.

    Formula: limit = calculate_gain(nonlinearity, a) * sqrt(3 / fan(mode)); w ~ U(-limit, limit)
    Source: torch `nn.init.kaiming_uniform_(a=0, mode="fan_in", nonlinearity="leaky_relu")`.
    """
    return _torch_kaiming(
        "torch_kaiming_uniform", "uniform", a, mode, nonlinearity, in_axis, out_axis
    )


@register("torch_kaiming_normal", aliases=("kaiming_normal_",), family="variance_scaling")
def torch_kaiming_normal(
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
) -> Callable[..., Array]:
    """torch's Kaiming normal, UNtruncated: N(0, gain^2 / fan).

    Formula: std = calculate_gain(nonlinearity, a) / sqrt(fan(mode)); w ~ N(0, std^2)
    Source: torch `nn.init.kaiming_normal_(a=0, mode="fan_in", nonlinearity="leaky_relu")`.
    """
    return _torch_kaiming(
        "torch_kaiming_normal", "normal", a, mode, nonlinearity, in_axis, out_axis
    )


@register(
    "torch_kernel",
    aliases=("torch_linear", "torch_conv", "torch_linear_weight", "torch_conv_weight"),
    family="layer_default",
)
def torch_kernel(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
) -> Callable[..., Array]:
    """torch's Linear/Conv weight default: `kaiming_uniform_(a=sqrt(5))`, i.e. U(+-1/sqrt(fan_in)).

    gain(leaky_relu, sqrt(5)) = sqrt(1/3), so the bound is sqrt(3) * sqrt(1/3) / sqrt(fan_in)
    = 1/sqrt(fan_in) and the variance 1/(3 fan_in): variance_scaling(1/3, "fan_in", "uniform").
    For torch's ConvTranspose (fan_in from OUTPUT channels) pass in_axis=-1, out_axis=-2.

    Formula: w ~ U(-1 / sqrt(fan_in), 1 / sqrt(fan_in))
    Source: torch `nn.Linear/_ConvNd.reset_parameters` (pytorch/pytorch#57109).
    """
    return variance_scaling_builder(
        "torch_kernel",
        1.0 / 3.0,
        "fan_in",
        "uniform",
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        fan_in=fan_in,
        hp={"in_axis": in_axis, "out_axis": out_axis, "batch_axis": batch_axis, "fan_in": fan_in},
    )


def _summed_uniform(scheme: str, bound: float, terms, hp: dict) -> Callable[..., Array]:
    """Sum of `terms` independent U(-bound, bound) draws (torch's b_ih + b_hh for terms=2).

    `terms` may be a tuple: the last axis is split into len(terms) equal segments and segment
    j sums terms[j] draws (torch GRU seen from NNX: r and z biases merge two, n keeps one).
    """
    seg = tuple(terms) if isinstance(terms, (tuple, list)) else (terms,)
    if not seg or any(isinstance(t, bool) or not isinstance(t, int) or t < 1 for t in seg):
        raise HyperparameterError(
            f"{scheme}: terms={terms!r} must be a positive integer or a tuple of them."
        )
    most = max(seg)

    def check(shape):
        if len(seg) > 1 and (not shape or shape[-1] % len(seg)):
            raise ShapeError(
                f"{scheme}: terms={terms!r} splits the last axis into {len(seg)} segments, "
                f"but shape {shape} does not divide."
            )

    def sample(key, shape, cd):
        if most == 1:
            # One term: the same flat draw as the (1, *shape) draw summed over its unit axis
            # (bit for bit), and elementwise, so the draw engine's size classes can take it.
            return bound * rand_uniform(key, shape, cd, -1.0, 1.0)
        u = rand_uniform(key, (most,) + tuple(shape), cd, -1.0, 1.0)
        if len(seg) == 1:
            return bound * jnp.sum(u, axis=0)
        count = np.repeat(np.array(seg), shape[-1] // len(seg))  # terms of each last-axis entry
        mask = np.arange(most)[:, None] < count[None, :]
        mask = mask.reshape((most,) + (1,) * (len(shape) - 1) + (shape[-1],))
        return bound * jnp.sum(jnp.where(mask, u, 0.0), axis=0)

    def stats(shape):
        t = max(seg)
        return Stats(0.0, bound * math.sqrt(sum(seg) / len(seg) / 3.0), -t * bound, t * bound)

    return make_initializer(scheme, sample, hyperparameters=hp, stats=stats, check=check)


@register("torch_bias", aliases=("torch_linear_bias", "torch_conv_bias"), family="layer_default")
def torch_bias(fan_in: float, terms: int | tuple[int, ...] = 1) -> Callable[..., Array]:
    """torch's Linear/Conv bias default: U(+-1/sqrt(fan_in)), fan_in taken from the KERNEL.

    A bias cannot know its kernel's fan_in from its own shape; the policy engine binds it from
    context (`fan_in="ctx:kernel_fan_in"`). `terms=2` draws the sum of two such uniforms.
    torch gives a zero bias when fan_in == 0; here a zero fan_in is rejected instead.

    Formula: w ~ sum_of(terms, U(-1 / sqrt(fan_in), 1 / sqrt(fan_in)))
    Source: torch `nn.Linear.reset_parameters` (`bound = 1 / math.sqrt(fan_in)`).
    """
    _positive("torch_bias", fan_in=fan_in)
    return _summed_uniform(
        "torch_bias", 1.0 / math.sqrt(fan_in), terms, {"fan_in": fan_in, "terms": terms}
    )


@register(
    "torch_rnn", aliases=("torch_rnn_uniform", "torch_lstm", "torch_gru"), family="layer_default"
)
def torch_rnn(hidden_size: int, terms: int | tuple[int, ...] = 1) -> Callable[..., Array]:
    """torch's RNN/LSTM/GRU default for every weight and bias: U(+-1/sqrt(hidden_size)).

    A Flax gate bias that stands for torch's b_ih + b_hh is the SUM of two such draws
    (`terms=2`): triangular on [-2/sqrt(H), 2/sqrt(H)] with variance 2/(3H).

    Formula: w ~ sum_of(terms, U(-1 / sqrt(hidden_size), 1 / sqrt(hidden_size)))
    Source: torch `nn.RNNBase.reset_parameters` / `nn.RNNCellBase.reset_parameters`.
    """
    _positive("torch_rnn", hidden_size=hidden_size)
    return _summed_uniform(
        "torch_rnn",
        1.0 / math.sqrt(hidden_size),
        terms,
        {"hidden_size": hidden_size, "terms": terms},
    )


# --------------------------------------------------------------------------------------------
# Structured schemes.


def orthogonal_matrix(key: PRNGKey, n_rows: int, n_cols: int, cd: Any) -> Array:
    """A Haar-random (n_rows, n_cols) matrix with orthonormal rows or columns.

    Draws N(0, 1) of shape (max, min), takes `q, r = qr(a)`, `q *= sign(diag(r))`, and
    transposes when n_rows < n_cols (jax `random.orthogonal`, Keras `Orthogonal`).
    """
    big, small = max(n_rows, n_cols), min(n_rows, n_cols)
    a = jax.random.normal(key, (big, small), cd)
    q, r = jnp.linalg.qr(a)
    q = q * jnp.sign(jnp.diagonal(r))
    return q.T if n_rows < n_cols else q


@register(
    "orthogonal",
    aliases=("Orthogonal", "orthogonal_", "OrthogonalInitializer"),
    family="orthogonal",
)
def orthogonal(
    gain: float = 1.0, column_axis: int = -1, dtype: DType | None = None
) -> Callable[..., Array]:
    """A (semi-)orthogonal matrix over `shape` flattened to (prod(others), shape[column_axis]).

    The kept axis is `column_axis` (-1: Keras/JAX/Haiku). torch's `orthogonal_` keeps dim 0 of
    its `(out, in, *k)` layout, which is the last axis of the Flax layout, so for Flax kernels
    the default reproduces torch too; for an array in torch's layout pass `column_axis=0`.
    QR is done in float32 (float64 under x64) and cast.

    Formula: w = gain * reshape(q), q with orthonormal rows/columns (Haar measure)
    Source: jax `nn.initializers.orthogonal(scale, column_axis)`, Keras `Orthogonal(gain)`,
    torch `nn.init.orthogonal_(gain)`.
    """
    _finite("orthogonal", gain=gain)
    if isinstance(column_axis, bool) or not isinstance(column_axis, int):
        raise HyperparameterError(f"orthogonal: column_axis={column_axis!r} must be an int.")

    def check(shape):
        if not -len(shape) <= column_axis < len(shape):
            raise ShapeError(
                f"orthogonal: column_axis={column_axis} is out of range for shape {shape}."
            )

    def sample(key, shape, cd):
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        q = orthogonal_matrix(key, n_rows, n_cols, cd)
        moved = list(shape)
        moved.append(moved.pop(column_axis % len(shape)))
        q = jnp.reshape(q, moved)
        return gain * jnp.moveaxis(q, -1, column_axis % len(shape))

    def stats(shape):
        big = max(shape[column_axis], math.prod(shape) // max(shape[column_axis], 1))
        return Stats(0.0, abs(gain) / math.sqrt(big), -abs(gain), abs(gain))

    init = make_initializer(
        "orthogonal",
        sample,
        hyperparameters={"gain": gain, "column_axis": column_axis},
        stats=stats,
        min_rank=2,
        check=check,
    )
    return _jax_factory(init, dtype)


@register("delta_orthogonal", aliases=("ConvolutionDeltaOrthogonal",), family="orthogonal")
def delta_orthogonal(gain: float = 1.0, dtype: DType | None = None) -> Callable[..., Array]:
    """Delta-orthogonal conv kernel: an orthogonal (in, out) matrix at the center tap.

    Shape `(*k, in, out)` with rank 3 to 5 and in <= out; the tap is `(k - 1) // 2`.

    Formula: w[(k-1)//2, :, :] = gain * orthogonal(in, out); 0 elsewhere
    Source: jax `nn.initializers.delta_orthogonal(scale)` (Xiao et al. 2018).
    """
    _finite("delta_orthogonal", gain=gain)

    def check(shape):
        if shape[-2] > shape[-1]:
            raise ShapeError(
                f"delta_orthogonal: shape {shape} has in={shape[-2]} > out={shape[-1]}; "
                "the center tap must have in <= out."
            )

    def sample(key, shape, cd):
        q = gain * orthogonal_matrix(key, shape[-2], shape[-1], cd)
        center = tuple((s - 1) // 2 for s in shape[:-2])
        return jnp.zeros(shape, cd).at[center].set(q)

    init = make_initializer(
        "delta_orthogonal",
        sample,
        hyperparameters={"gain": gain},
        min_rank=3,
        max_rank=5,
        check=check,
    )
    return _jax_factory(init, dtype)


@register("sparse", aliases=("sparse_",), family="sparse")
def sparse(sparsity: float, std: float = 0.01) -> Callable[..., Array]:
    """torch's sparse init on a 2-D kernel in the Flax layout `(in, out)`: N(0, std^2), then in
    every row (every input unit) `ceil(sparsity * out)` entries, at random columns, are zero.

    torch's `sparse_` zeroes `ceil(sparsity * rows)` entries of every column of its `(out, in)`
    weight, i.e. for every input unit a fixed number of its `out` outgoing weights; that is every
    row of the Flax `(in, out)` kernel, as for every other torch-named scheme here.

    Formula: w ~ N(0, std^2); per row (input unit), ceil(sparsity * out) zeros
    Source: torch `nn.init.sparse_(tensor, sparsity, std=0.01)` (Martens 2010).
    """
    _finite("sparse", sparsity=sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise HyperparameterError(f"sparse: sparsity={sparsity!r} must lie in [0, 1].")
    _nonneg("sparse", std=std)

    def sample(key, shape, cd):
        k_val, k_perm = jax.random.split(key)
        # Fix: zeros were counted down axis 0 (torch's rule applied to the array as given, i.e. to
        # torch's layout); in the Flax layout torch's `out` axis is the last one.
        num_zeros = int(math.ceil(sparsity * shape[-1]))
        w = std * rand_normal(k_val, shape, cd)
        ranks = jnp.argsort(jnp.argsort(jax.random.uniform(k_perm, shape), axis=-1), axis=-1)
        return jnp.where(ranks < num_zeros, jnp.zeros((), cd), w)

    return make_initializer(
        "sparse",
        sample,
        hyperparameters={"sparsity": sparsity, "std": std},
        min_rank=2,
        max_rank=2,
    )


@register("uniform_unit_scaling", aliases=("UniformUnitScaling",), family="variance_scaling")
def uniform_unit_scaling(factor: float = 1.0) -> Callable[..., Array]:
    """TF1's uniform unit scaling: U(-limit, limit), limit = factor * sqrt(3 / input_size).

    `input_size = max(1, prod(shape[:-1]))`.

    Formula: limit = factor * sqrt(3 / max(1, prod(shape[:-1]))); w ~ U(-limit, limit)
    Source: TF1 `tf.uniform_unit_scaling_initializer(factor=1.0)`, Haiku `UniformScaling`.
    """
    _nonneg("uniform_unit_scaling", factor=factor)

    def limit(shape):
        return factor * math.sqrt(3.0 / max(1, math.prod(shape[:-1])))

    return make_initializer(
        "uniform_unit_scaling",
        lambda key, shape, cd: limit(shape) * rand_uniform(key, shape, cd, -1.0, 1.0),
        hyperparameters={"factor": factor},
        stats=lambda shape: _uniform_stats(-limit(shape), limit(shape)),
    )


@register(
    "keras_conv_glorot_uniform",
    aliases=("keras_depthwise_glorot_uniform",),
    family="variance_scaling",
)
def keras_conv_glorot_uniform(groups: int = 1) -> Callable[..., Array]:
    """Keras's glorot_uniform for a Flax conv kernel, reading a depthwise conv as Keras's
    `DepthwiseConv` (whose fans differ); any other conv gets plain glorot_uniform.

    A Flax depthwise conv (feature_group_count=C) stores `(*k, 1, C*m)`; Keras's
    `DepthwiseConv2D` stores `(*k, C, m)` and its glorot uses fan_in = C*rf, fan_out = m*rf
    (torch/Flax/Haiku use fan_in = rf). With in-per-group 1 and groups > 1 this uses Keras's
    fans; otherwise (a regular or grouped conv) it is plain glorot_uniform.

    Formula: limit = sqrt(6 / (fan_in + fan_out)); w ~ U(-limit, limit); Keras depthwise fans
    Source: Keras 3 `DepthwiseConv2D(depthwise_initializer="glorot_uniform")`.
    """
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise HyperparameterError(
            f"keras_conv_glorot_uniform: groups={groups!r} must be a positive integer."
        )

    def fans(shape):
        rf = math.prod(shape[:-2])
        if shape[-2] == 1 and groups > 1:
            return groups * rf, shape[-1] // groups * rf
        return shape[-2] * rf, shape[-1] * rf

    def limit(shape):
        fi, fo = fans(shape)
        return math.sqrt(6.0 / (fi + fo))

    def check(shape):
        if shape[-2] == 1 and groups > 1 and shape[-1] % groups:
            raise ShapeError(
                f"keras_conv_glorot_uniform: out channels {shape[-1]} are not divisible "
                f"by groups={groups}."
            )

    init = make_initializer(
        "keras_conv_glorot_uniform",
        lambda key, shape, cd: limit(shape) * rand_uniform(key, shape, cd, -1.0, 1.0),
        hyperparameters={"groups": groups},
        stats=lambda shape: _uniform_stats(-limit(shape), limit(shape)),
        min_rank=3,
        check=check,
    )
    init.fans = fans  # the explain table shows the fans the scheme uses, not generic ones
    return init


@register("unit_forget_bias", aliases=("keras_lstm_bias",), family="layer_default")
def unit_forget_bias(gates: int = 4, forget_gate: int = 1) -> Callable[..., Array]:
    """A fused LSTM bias with the forget block set to one, zeros elsewhere. Ignores the key.

    The last axis is split into `gates` equal blocks; block `forget_gate` is 1 (Keras's gate
    order [i, f, c, o] and Flax NNX's [i, f, g, o] both put f at index 1).

    Formula: b = concat(0_H, 1_H, 0_H, 0_H)
    Source: Keras 3 `LSTMCell(unit_forget_bias=True)`.
    """
    for n, v in (("gates", gates), ("forget_gate", forget_gate)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise HyperparameterError(f"unit_forget_bias: {n}={v!r} must be a non-negative int.")
    if not 0 <= forget_gate < gates:
        raise HyperparameterError(
            f"unit_forget_bias: forget_gate={forget_gate} must lie in [0, gates={gates})."
        )

    def check(shape):
        if shape[-1] % gates:
            raise ShapeError(
                f"unit_forget_bias: the last axis of shape {shape} is not divisible by "
                f"gates={gates}."
            )

    def sample(key, shape, cd):
        h = shape[-1] // gates
        idx = jnp.arange(shape[-1])
        return jnp.broadcast_to((idx // h == forget_gate).astype(cd), shape)

    return make_initializer(
        "unit_forget_bias",
        sample,
        hyperparameters={"gates": gates, "forget_gate": forget_gate},
        min_rank=1,
        check=check,
    )


# --------------------------------------------------------------------------------------------
# Names that mean something else in another framework. The unprefixed names keep their JAX/Flax
# meaning; a hyperparameter error on one of them names the other frameworks' schemes (torch's
# deprecated `kaiming_uniform(tensor, a=...)` is `kaiming_uniform_`, Keras's `"normal"` string
# is `RandomNormal`). The README's naming table lists them all.

for _name, _choices in (
    ("normal", (("normal_", "torch"), ("RandomNormal", "Keras 3"))),
    ("uniform", (("uniform_", "torch"), ("RandomUniform", "Keras 3"))),
    ("truncated_normal", (("trunc_normal_", "torch"), ("TruncatedNormal", "Keras 3"))),
    ("variance_scaling", (("VarianceScaling", "Keras 3"),)),
    ("xavier_uniform", (("xavier_uniform_", "torch"),)),
    ("xavier_normal", (("xavier_normal_", "torch"),)),
    ("kaiming_uniform", (("kaiming_uniform_", "torch"),)),
    ("kaiming_normal", (("kaiming_normal_", "torch"),)),
    ("glorot_uniform", (("GlorotUniform", "Keras 3"), ("xavier_uniform_", "torch"))),
    ("glorot_normal", (("GlorotNormal", "Keras 3"), ("xavier_normal_", "torch"))),
    ("he_uniform", (("HeUniform", "Keras 3"), ("kaiming_uniform_", "torch"))),
    ("he_normal", (("HeNormal", "Keras 3"), ("kaiming_normal_", "torch"))),
    ("lecun_uniform", (("LecunUniform", "Keras 3"),)),
    ("lecun_normal", (("LecunNormal", "Keras 3"),)),
):
    note_other_meanings(_name, *_choices)
