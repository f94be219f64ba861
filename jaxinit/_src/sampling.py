"""Sampling machinery shared by every scheme: dtypes, the samplers, overflow checks,
truncation math, and `make_initializer`, which turns a sampling function into a checked
initializer.

Conventions every scheme gets from here:

* Shapes and dtypes are validated when the initializer is called (only then are they known);
  hyperparameters are validated by the builders, at build time (`validate.py`).
* Sampling happens in float32 (float64 when float64 is requested) and is cast to the requested
  dtype, so QR and truncated sampling stay accurate for bfloat16/float16 parameters.
* Zero-size shapes return an empty array of the requested shape and dtype.
* Every initializer carries `.scheme`, `.hyperparameters`, `.stats(shape)` and
  `.constant_value` (the `Initializer` protocol of `types.py`).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import operator
from typing import Any, Callable, Iterator, Union

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit._src.errors import HyperparameterError, ShapeError

# Stats lives in types.py (the Initializer protocol names it); `sampling.Stats` is the same class.
from jaxinit._src.types import Array, DType, Initializer, PRNGKey, Shape, Stats

# The std of a standard normal truncated to [-2, 2]: scipy.stats.truncnorm.std(a=-2, b=2).
# Dividing by it makes a +-2 sigma truncated normal have the requested post-truncation std.
TRUNCATED_STD_FACTOR = 0.87962566103423978
# The std of a complex standard normal with modulus truncated to 2 (jax's constant).
COMPLEX_TRUNCATED_STD_FACTOR = 0.95311164380491208


def _unknown_stats(shape: tuple[int, ...]) -> Stats | None:
    return None


# --------------------------------------------------------------------------------------------
# Dtypes and call-time shape checks.


def default_dtype() -> Any:
    """JAX's default float dtype.

    Returns:
      float32, or float64 when `jax_enable_x64` is on.
    """
    return jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))


def is_integral(dtype: Any) -> bool:
    """Whether `dtype` is an integer or bool dtype.

    Only the constant fills (zeros, ones, constant) take these (a step counter, a cache index);
    random schemes need a real floating dtype.

    Args:
      dtype: anything `jnp.dtype` accepts.

    Returns:
      True for integer and bool dtypes.
    """
    return jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.bool_)


def compute_dtype(dtype: Any) -> Any:
    """The dtype random draws are made in before the cast to `dtype`.

    Args:
      dtype: the requested (floating) dtype.

    Returns:
      float64 for float64, float32 otherwise.
    """
    return jnp.float64 if jnp.dtype(dtype) == jnp.float64 else jnp.float32


def check_shape_dtype(
    scheme: str,
    shape: Shape,
    dtype: DType | None,
    min_rank: int = 0,
    max_rank: int | None = None,
    allow_int: bool = False,
) -> tuple[tuple[int, ...], Any]:
    """Validates one call's shape and dtype.

    Shape entries must be true integers (`operator.index`, as NumPy's shapes: `(3.5, 2)` is
    rejected, not truncated) and non-negative.

    Args:
      scheme: the scheme name the error messages start with.
      shape: the requested shape.
      dtype: the requested dtype; None means `default_dtype()`.
      min_rank: the smallest rank the scheme accepts.
      max_rank: the largest rank the scheme accepts (None: no limit).
      allow_int: whether integer and bool dtypes are accepted (constant fills).

    Returns:
      `(shape, dtype)` normalised: a tuple of ints and a `jnp.dtype`.

    Raises:
      ShapeError: naming the scheme, the bad value and what is valid.
    """
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


# --------------------------------------------------------------------------------------------
# The draw mode: how the samplers below lay out their random draws.

DrawMode = Union[str, int]  # "flat", "shaped", or a size class S (an int >= 1)

_DRAW_MODE: contextvars.ContextVar[DrawMode] = contextvars.ContextVar(
    "jaxinit_draw_mode", default="flat"
)


@contextlib.contextmanager
def draw_mode(mode: DrawMode) -> Iterator[None]:
    """Within this context, every sampler of this module draws in `mode`.

    The modes (the drawn values are the same in all three; only the compiled program differs):

    * ``"flat"`` (the default, outside any context): draws are made flat and reshaped. With
      JAX's partitionable threefry the values are bit-identical to a draw in the target shape,
      but XLA CPU compiles the flat draw several times faster (a rank-5 conv kernel: 3.7 s ->
      0.3 s);
    * ``"shaped"``: draws are made in the target shape (sharded programs: reshaping a flat draw
      into a sharded layout would make XLA materialise it whole);
    * an int ``S``: draws are made flat at S values and NOT reshaped (the draw engine's size
      classes, `draw.py`, which keep the first prod(shape) values and reshape on the host).

    The mode is a `contextvars.ContextVar`: it is local to the thread (and asyncio task) that
    enters the context, and the previous mode is restored on exit, also when the body raises.
    Only the draw engine sets it, around its own traces (and `make_initializer` for a call
    with `out_sharding=`); user code never needs it.

    Args:
      mode: ``"flat"``, ``"shaped"`` or a positive int size class.

    Yields:
      None; the mode holds until the context exits.

    >>> from jaxinit._src import sampling
    >>> with sampling.draw_mode("shaped"):
    ...     sampling.current_draw_mode()
    'shaped'
    >>> sampling.current_draw_mode()
    'flat'
    """
    if not (mode in ("flat", "shaped") or (isinstance(mode, int) and mode >= 1)):
        raise ValueError(f"draw_mode: mode={mode!r} must be 'flat', 'shaped' or an int >= 1.")
    token = _DRAW_MODE.set(mode)
    try:
        yield
    finally:
        _DRAW_MODE.reset(token)


def current_draw_mode() -> DrawMode:
    """The draw mode in effect here (see `draw_mode`).

    Returns:
      ``"flat"``, ``"shaped"`` or the int size class.
    """
    return _DRAW_MODE.get()


def shaped_draws() -> contextlib.AbstractContextManager[None]:
    """`draw_mode("shaped")`: draws in the target shape (for sharded programs).

    Returns:
      The context manager.
    """
    return draw_mode("shaped")


def class_draws(size: int) -> contextlib.AbstractContextManager[None]:
    """`draw_mode(size)`: draws flat at `size` values (the draw engine's size-class traces).

    Args:
      size: the size class S, at least the number of values of every draw in the context.

    Returns:
      The context manager.
    """
    return draw_mode(int(size))


def _draw(fn, key, shape, cd, *args):
    shape = tuple(shape)
    mode = _DRAW_MODE.get()
    if isinstance(mode, int):
        return fn(key, *args, (mode,), cd)
    if mode == "flat" and len(shape) != 1:
        return jnp.reshape(fn(key, *args, (math.prod(shape),), cd), shape)
    return fn(key, *args, shape, cd)


# --------------------------------------------------------------------------------------------
# The samplers: `jax.random` draws laid out by the draw mode.


def rand_uniform(key: PRNGKey, shape: Shape, cd: Any, low: float = 0.0, high: float = 1.0):
    """`jax.random.uniform(key, shape, cd, low, high)`, laid out by the draw mode.

    Args:
      key: a PRNG key.
      shape: the target shape.
      cd: the compute dtype.
      low: the lower bound (included).
      high: the upper bound (excluded).

    Returns:
      The draw, in `shape` (or flat at the size class under `class_draws`).
    """
    return _draw(lambda k, sh, d: jax.random.uniform(k, sh, d, low, high), key, shape, cd)


def rand_normal(key: PRNGKey, shape: Shape, cd: Any):
    """`jax.random.normal(key, shape, cd)`, laid out by the draw mode.

    Args:
      key: a PRNG key.
      shape: the target shape.
      cd: the compute dtype.

    Returns:
      Standard normal values, in `shape` (or flat at the size class under `class_draws`).
    """
    return _draw(jax.random.normal, key, shape, cd)


def rand_truncated_normal(key: PRNGKey, lower: float, upper: float, shape: Shape, cd: Any):
    """`jax.random.truncated_normal(key, lower, upper, shape, cd)`, laid out by the draw mode.

    Args:
      key: a PRNG key.
      lower: the lower bound in std units.
      upper: the upper bound in std units.
      shape: the target shape.
      cd: the compute dtype.

    Returns:
      Standard normal values truncated to [lower, upper] (bit-identical to JAX's).
    """
    return _draw(
        lambda k, sh, d: jax.random.truncated_normal(k, lower, upper, sh, d), key, shape, cd
    )


# The uniform is shifted by 2**-25 into the open (0, 1): jax.random.uniform's float32 draws are
# multiples of 2**-23 in [0, 1 - 2**-23], so 0 becomes 2**-25 and the largest becomes 1 - 2**-23.
_OPEN_UNIFORM_SHIFT = 2.0**-25


def truncated_normal_from_uniform(u: Array, lower: float, upper: float) -> Array:
    """Maps uniforms in [0, 1) to a standard normal truncated to [lower, upper], exactly in the
    tails (the inverse-CDF step of `rand_truncated_normal_tails`).

    The window is mirrored into the lower tail when `lower >= 0` (there Phi has full relative
    precision in float32), `u` is shifted into the open (0, 1), and `ndtri` inverts
    `Phi(lo) + (Phi(hi) - Phi(lo)) * u`, with Phi computed in float64 on the host. So u = 0
    never maps to -inf (which a clip would pin to the bound), however far out the bounds are.

    Args:
      u: uniforms in [0, 1), as `jax.random.uniform` draws them; their dtype is the compute
        dtype.
      lower: the lower bound in std units (a Python float).
      upper: the upper bound in std units (a Python float).

    Returns:
      Values in [lower, upper], same shape and dtype as `u`.

    >>> import jax.numpy as jnp
    >>> from jaxinit._src.sampling import truncated_normal_from_uniform
    >>> z = truncated_normal_from_uniform(jnp.array([0.0, 0.5]), -100.0, 100.0)
    >>> [round(float(v), 3) for v in z]  # u = 0 is -5.42 sigma, not the -100 sigma bound
    [-5.42, 0.0]
    """
    d = u.dtype
    flip = lower >= 0.0
    lo, hi = (-upper, -lower) if flip else (lower, upper)
    p_lo, p_hi = _phi_cdf(lo), _phi_cdf(hi)
    u = u + jnp.asarray(_OPEN_UNIFORM_SHIFT, d)  # in (0, 1)
    z = jax.scipy.special.ndtri(jnp.asarray(p_lo, d) + jnp.asarray(p_hi - p_lo, d) * u)
    z = jnp.clip(z, lo, hi)
    return -z if flip else z


def rand_truncated_normal_tails(key: PRNGKey, lower: float, upper: float, shape: Shape, cd: Any):
    """A standard normal truncated to [lower, upper], exact in the tails (torch's
    `trunc_normal_`, whose bounds are often far out: std=0.02 with a, b = +-2 is +-100 sigma).

    `jax.random.truncated_normal` maps erf(+-100/sqrt(2)) to +-1 in float32, so a uniform draw
    of exactly 0 becomes erfinv(-1) = -inf, clipped to the bound: about one value in 2**23 sat
    at -100 sigma (torch samples by rejection and never does), and windows far in one tail
    ([4.5, 5.5]) came out as a few hundred distinct values. This draws
    `truncated_normal_from_uniform(jax.random.uniform(key, shape, cd), lower, upper)`.

    Args:
      key: a PRNG key.
      lower: the lower bound in std units (a Python float: the mirroring is decided at build
        time).
      upper: the upper bound in std units.
      shape: the target shape.
      cd: the compute dtype.

    Returns:
      The draw, laid out by the draw mode.
    """
    return _draw(
        lambda k, sh, d: truncated_normal_from_uniform(jax.random.uniform(k, sh, d), lower, upper),
        key,
        shape,
        cd,
    )


# --------------------------------------------------------------------------------------------
# Truncation math (float64, on the host).


def _phi_cdf(x: float) -> float:
    """Phi(x) in float64 on the host, accurate in the lower tail (erfc, no cancellation)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0)) if math.isfinite(x) else float(x > 0)


def truncnorm_moments(lo: float, hi: float) -> tuple[float, float]:
    """Mean and std of a standard normal truncated to [lo, hi], in closed form.

    A window in the upper tail is mirrored so that its mass is computed without cancellation.

    Args:
      lo: the lower bound in std units (may be -inf).
      hi: the upper bound in std units (may be inf).

    Returns:
      `(mean, std)`.

    >>> from jaxinit._src.sampling import truncnorm_moments
    >>> [round(v, 6) for v in truncnorm_moments(-2.0, 2.0)]  # the std is TRUNCATED_STD_FACTOR
    [0.0, 0.879626]
    """
    if lo >= 0.0:
        m, sd = truncnorm_moments(-hi, -lo)
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
    """Probability mass of a standard normal inside [lo, hi].

    Mirrored into the lower tail when the window lies in the upper one, so far windows do not
    cancel to 0.

    Args:
      lo: the lower bound in std units.
      hi: the upper bound in std units.

    Returns:
      Phi(hi) - Phi(lo), in float64.

    >>> from jaxinit._src.sampling import truncated_mass
    >>> round(truncated_mass(-2.0, 2.0), 6)
    0.9545
    """
    if lo >= 0.0:
        lo, hi = -hi, -lo
    return _phi_cdf(hi) - _phi_cdf(lo)


# Smallest truncation mass we sample from: below it float32 inverse-CDF sampling degenerates.
MIN_TRUNCATED_MASS = 1e-6
# torch's trunc_normal_ is sampled in the mirrored lower tail (rand_truncated_normal_tails),
# exact as long as Phi stays a normal float32.
MIN_TRUNCATED_MASS_TAILS = 1e-30


def check_truncation(
    scheme: str, lo: float, hi: float, what: str, min_mass: float = MIN_TRUNCATED_MASS
) -> None:
    """Raises `HyperparameterError` unless lo < hi and [lo, hi] holds at least `min_mass`.

    Args:
      scheme: the scheme name the message starts with.
      lo: the lower bound in std units.
      hi: the upper bound in std units.
      what: how the message names the bounds, e.g. "the bounds (a, b)".
      min_mass: the smallest normal mass the sampler can draw from accurately.

    Raises:
      HyperparameterError: naming the window, its mass and the minimum.
    """
    if not lo < hi:
        raise HyperparameterError(f"{scheme}: {what} must satisfy lower < upper, got {lo} >= {hi}.")
    mass = truncated_mass(lo, hi)
    if mass < min_mass:
        raise HyperparameterError(
            f"{scheme}: the truncation interval [{lo:g}, {hi:g}] (in std units) holds only "
            f"{mass:.3g} of the normal's mass (need >= {min_mass:g}); "
            "the bounds exclude (almost) all of the distribution."
        )


def uniform_stats(low: float, high: float) -> Stats:
    """The `Stats` of U(low, high).

    Args:
      low: the lower bound.
      high: the upper bound.

    Returns:
      Mean (low + high) / 2, std (high - low) / sqrt(12), support [low, high].
    """
    return Stats((low + high) / 2, (high - low) / math.sqrt(12.0), low, high)


# --------------------------------------------------------------------------------------------
# Overflow checks and the general wrapper.

# Normal draws in float32 stay within about 5.5 sigma; 8 sigma is a safe envelope.
_SIGMA_ENVELOPE = 8.0


def check_overflow(scheme: str, st: Stats | None, dtype: Any) -> None:
    """Rejects hyperparameters whose values overflow `dtype` (`constant(1e5)` in float16, a tiny
    `fan_in=` override giving std 1e150), which would otherwise come out as Inf/NaN.

    The reach is the support for bounded schemes (`uniform_(-3e4, 3e4)` fits float16, as in
    torch and Keras), else |mean| + 8 std.

    Args:
      scheme: the scheme name the message starts with.
      st: the scheme's `Stats` for the shape (None: nothing to check).
      dtype: the requested dtype; the compute dtype must hold the values too.

    Raises:
      ShapeError: when the values would overflow.
    """
    if st is None:
        return
    if math.isfinite(st.low) and math.isfinite(st.high):
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
    constant_value: float | None = None,
) -> Initializer:
    """Wraps a sampling function into a checked initializer satisfying `Initializer`.

    The initializer validates shape and dtype (`check_shape_dtype`), runs `check(shape)`,
    rejects overflowing values (`check_overflow`), draws `sample(key, shape, compute_dtype)`
    and casts it to the dtype; a zero-size shape gives an empty array without drawing.

    Args:
      scheme: the registry name (`.scheme`, `__name__` and every error message).
      sample: `sample(key, shape, compute_dtype) -> Array`.
      hyperparameters: what the initializer was built with (`.hyperparameters`).
      stats: `stats(shape) -> Stats | None`, the theoretical moments (`.stats`).
      min_rank: the smallest rank accepted.
      max_rank: the largest rank accepted (None: no limit).
      check: extra shape checks, raising `ShapeError`.
      allow_int: integer/bool dtypes too, sampled directly in that dtype (constant fills).
      constant_value: the fill value of a constant scheme (`.constant_value`; the draw engine
        fills these on the host), None for every other scheme.

    Returns:
      `init(key, shape, dtype=None, out_sharding=None) -> Array`.

    >>> import jax, jax.numpy as jnp
    >>> from jaxinit._src.sampling import make_initializer, rand_uniform, uniform_stats
    >>> init = make_initializer("half_uniform", lambda k, s, d: rand_uniform(k, s, d, 0.0, 0.5),
    ...                         hyperparameters={}, stats=lambda s: uniform_stats(0.0, 0.5))
    >>> x = init(jax.random.key(0), (2, 3), jnp.bfloat16)
    >>> x.shape, x.dtype, init.stats((2, 3)).high
    ((2, 3), dtype(bfloat16), 0.5)
    """

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
            check_overflow(scheme, stats(shape), dtype)
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
    init.constant_value = constant_value
    init.__name__ = scheme
    init.__qualname__ = scheme
    return init


# --------------------------------------------------------------------------------------------
# JAX's extras on the JAX-named factories: a build-time default `dtype=` (the call-time dtype
# overrides it, as in `jax.nn.initializers`) and, for the schemes JAX draws in complex (the
# variance-scaling family and `normal`), complex64/complex128.


def build_dtype(scheme: str, dtype: Any, complex_ok: bool) -> Any:
    """Validates a build-time `dtype=`.

    Args:
      scheme: the scheme name the message starts with.
      dtype: None, or a real floating dtype (complex too where `complex_ok`).
      complex_ok: whether complex dtypes are accepted.

    Returns:
      The `jnp.dtype`, or None.
    """
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


def jax_factory(
    init: Initializer,
    dtype: Any = None,
    complex_sample: Callable[[PRNGKey, tuple[int, ...], Any], Array] | None = None,
) -> Initializer:
    """`init` with JAX's build-time default dtype and (with `complex_sample`) complex dtypes.

    Args:
      init: a built initializer.
      dtype: the default dtype (None: JAX's default float).
      complex_sample: `complex_sample(key, shape, complex_dtype) -> Array`, JAX's complex
        construction of the scheme; None when the scheme has no complex form.

    Returns:
      `init` itself when there is nothing to add, else a wrapper with the same attributes.
    """
    scheme = init.scheme
    dtype = build_dtype(scheme, dtype, complex_sample is not None)
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


def complex_uniform(key: PRNGKey, shape: tuple[int, ...], dtype: Any) -> Array:
    """Uniform on the disk of radius sqrt(2): zero mean, E|z|^2 = 1 (jax `_complex_uniform`).

    Args:
      key: a PRNG key.
      shape: the shape.
      dtype: complex64 or complex128.

    Returns:
      The complex draw.
    """
    key_r, key_theta = jax.random.split(key)
    real = jnp.finfo(dtype).dtype
    r = jnp.sqrt(2 * jax.random.uniform(key_r, shape, real)).astype(dtype)
    theta = 2 * np.pi * jax.random.uniform(key_theta, shape, real).astype(dtype)
    return r * jnp.exp(1j * theta)


def complex_truncated_normal(key: PRNGKey, upper: float, shape: tuple[int, ...], dtype: Any):
    """A centred complex normal (E|z|^2 = 1 before truncation) with modulus truncated to
    `upper` (jax `_complex_truncated_normal`).

    Args:
      key: a PRNG key.
      upper: the largest modulus.
      shape: the shape.
      dtype: complex64 or complex128.

    Returns:
      The complex draw.
    """
    key_r, key_theta = jax.random.split(key)
    real = jnp.finfo(dtype).dtype
    t = (1 - jnp.exp(jnp.array(-(upper**2), dtype))) * jax.random.uniform(
        key_r, shape, real
    ).astype(dtype)
    r = jnp.sqrt(-jnp.log(1 - t))
    theta = 2 * np.pi * jax.random.uniform(key_theta, shape, real).astype(dtype)
    return r * jnp.exp(1j * theta)
