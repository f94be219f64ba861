"""Framework-neutral schemes and JAX's own: constants, identities, uniform and normal with
explicit parameters, JAX's truncated normal, orthogonal and delta-orthogonal.

Also the primitives that the torch and Keras modules specialise: `make_uniform`,
`make_normal` and `make_truncated_normal` (a scheme name and its hyperparameters in, a checked
initializer out).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit._src import validate
from jaxinit._src.errors import HyperparameterError, ShapeError
from jaxinit._src.registry import register
from jaxinit._src.sampling import (
    check_truncation,
    is_integral,
    jax_factory,
    make_initializer,
    rand_normal,
    rand_truncated_normal,
    rand_truncated_normal_tails,
    rand_uniform,
    truncnorm_moments,
    uniform_stats,
)
from jaxinit._src.types import Array, DType, Initializer, PRNGKey, Stats

# --------------------------------------------------------------------------------------------
# Constants.


@register("zeros", aliases=("zero", "Zeros", "zeros_", "zeros_init"), family="constant")
def zeros() -> Initializer:
    """All zeros. Ignores the key.

    Formula: w = 0
    Source: jax `nn.initializers.zeros`, torch `nn.init.zeros_`, Keras `Zeros`.

    Returns:
      The initializer; integer and bool dtypes are accepted too.

    >>> import jax, jaxinit
    >>> jaxinit.get("zeros")(jax.random.key(0), (2,), jax.numpy.int32)
    Array([0, 0], dtype=int32)
    """
    return constant(0.0, _scheme="zeros")


@register("ones", aliases=("one", "Ones", "ones_", "ones_init"), family="constant")
def ones() -> Initializer:
    """All ones. Ignores the key.

    Formula: w = 1
    Source: jax `nn.initializers.ones`, torch `nn.init.ones_`, Keras `Ones`.

    Returns:
      The initializer; integer and bool dtypes are accepted too.
    """
    return constant(1.0, _scheme="ones")


@register("constant", aliases=("Constant", "constant_"), family="constant")
def constant(
    value: Any = 0.0, dtype: DType | None = None, *, _scheme: str = "constant"
) -> Initializer:
    """A constant fill. Ignores the key.

    `value` is a number or, as in JAX's `constant` and Keras's `Constant`, an array that is
    broadcast to the requested shape. `dtype` is the default dtype (JAX's build-time `dtype=`).

    Formula: w = value
    Source: jax `nn.initializers.constant(value, dtype)`, torch `nn.init.constant_`,
    Keras `Constant(value)`.

    Args:
      value: a finite number, or an array broadcastable to the shapes it will fill.
      dtype: the default dtype (the call's dtype overrides it).

    Returns:
      The initializer; integer and bool dtypes are accepted when `value` is exactly
      representable in them.
    """
    if validate.is_real_0d(value):
        value = value.item()
    if isinstance(value, (np.ndarray, jax.Array, list, tuple)):
        return _constant_array(_scheme, value, dtype)
    validate.finite(_scheme, value=value)
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
        constant_value=value,  # the draw engine fills these on the host, uncompiled
    )
    if dtype is not None:
        init = jax_factory(init, dtype)
    return init


def _constant_array(scheme: str, value: Any, dtype: Any) -> Initializer:
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
    return jax_factory(init, dtype)


@register("eye", aliases=("identity", "Identity", "eye_", "IdentityInitializer"), family="constant")
def eye(gain: float = 1.0) -> Initializer:
    """The (possibly rectangular) identity matrix times `gain`. 2-D only. Ignores the key.

    Formula: w = gain * I[m, n]
    Source: torch `nn.init.eye_` (gain 1), Keras `Identity(gain)`.

    Args:
      gain: the diagonal value.

    Returns:
      The initializer, for rank-2 shapes.

    >>> import jax, jaxinit
    >>> jaxinit.get("eye", gain=2.0)(jax.random.key(0), (2, 3)).tolist()
    [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """
    validate.finite("eye", gain=gain)
    return make_initializer(
        "eye",
        lambda key, shape, cd: gain * jnp.eye(shape[0], shape[1], dtype=cd),
        hyperparameters={"gain": gain},
        min_rank=2,
        max_rank=2,
    )


@register("dirac", aliases=("dirac_",), family="constant")
def dirac(groups: int = 1) -> Initializer:
    """The Dirac delta of a convolution: the conv is the identity on the first channels.

    For a Flax conv kernel `(*k, in_per_group, out)`, with `opg = out // groups`:
    `w[center, d, g * opg + d] = 1` for every group g and `d < min(opg, in_per_group)`, with
    `center = k // 2` along each spatial dim; zeros elsewhere. Rank 3 to 5. Ignores the key.

    Formula: w[k//2, d, g*out/groups + d] = 1
    Source: torch `nn.init.dirac_(tensor, groups)` (same rule, torch layout `(out, in, *k)`).

    Args:
      groups: the conv's feature groups; the out channels must be divisible by it.

    Returns:
      The initializer, for rank 3 to 5 conv kernels.
    """
    validate.positive_int("dirac", "groups", groups)

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
# The primitives: uniform, normal and truncated normal with explicit parameters.


def make_uniform(
    scheme: str, low: float, high: float, hp: dict, names: tuple[str, str] = ("low", "high")
) -> Initializer:
    """U(low, high) as a scheme named `scheme`, drawn as `low + (high - low) * U[0, 1)`.

    Args:
      scheme: the registry name.
      low: the lower bound.
      high: the upper bound (>= low).
      hp: the hyperparameters to record.
      names: how errors name the bounds (the scheme's own hyperparameters, e.g. Keras's
        `("minval", "maxval")`).

    Returns:
      The initializer.
    """
    lo_name, hi_name = names
    validate.finite(scheme, **{lo_name: low, hi_name: high})
    if low > high:
        raise HyperparameterError(
            f"{scheme}: {lo_name}={low} > {hi_name}={high}; need {lo_name} <= {hi_name}."
        )
    low, high = float(low), float(high)
    return make_initializer(
        scheme,
        lambda key, shape, cd: low + (high - low) * rand_uniform(key, shape, cd),
        hyperparameters=hp,
        stats=lambda shape: uniform_stats(low, high),
    )


def make_normal(
    scheme: str, mean: float, std: float, hp: dict, std_name: str = "std"
) -> Initializer:
    """N(mean, std^2) as a scheme named `scheme`, drawn as `mean + std * N(0, 1)`.

    Args:
      scheme: the registry name.
      mean: the mean.
      std: the standard deviation (>= 0).
      hp: the hyperparameters to record.
      std_name: how errors name the std (Keras's and JAX's `stddev`).

    Returns:
      The initializer.
    """
    validate.finite(scheme, mean=mean)
    validate.nonneg(scheme, **{std_name: std})
    mean, std = float(mean), float(std)
    return make_initializer(
        scheme,
        lambda key, shape, cd: mean + std * rand_normal(key, shape, cd),
        hyperparameters=hp,
        stats=lambda shape: Stats(mean, std, -math.inf, math.inf),
    )


def make_truncated_normal(
    scheme: str, mean: float, std: float, lo: float, hi: float, hp: dict, tails: bool = False
) -> Initializer:
    """`mean + std * TN(lo, hi)`, TN a standard normal truncated to [lo, hi] (std units).

    Args:
      scheme: the registry name.
      mean: the mean before truncation.
      std: the std before truncation.
      lo: the lower bound in std units.
      hi: the upper bound in std units.
      hp: the hyperparameters to record.
      tails: use the tail-exact sampler (`rand_truncated_normal_tails`, torch's
        `trunc_normal_`); else JAX's own (bit-identical to `jax.nn.initializers`).

    Returns:
      The initializer.
    """

    def stats(shape):
        m, s = truncnorm_moments(lo, hi)
        return Stats(mean + std * m, std * s, mean + std * lo, mean + std * hi)

    rand = rand_truncated_normal_tails if tails else rand_truncated_normal
    return make_initializer(
        scheme,
        lambda key, shape, cd: mean + std * rand(key, lo, hi, shape, cd),
        hyperparameters=hp,
        stats=stats,
    )


@register("jax_uniform", aliases=("uniform",), family="uniform")
def jax_uniform(scale: float = 1e-2, dtype: DType | None = None) -> Initializer:
    """JAX's (and Flax's) `uniform`, which is U[0, scale), NOT symmetric. The unprefixed name
    `uniform` means this one; torch's U(a, b) is `uniform_`, Keras's `RandomUniform`.

    Formula: w ~ U(0, scale)
    Source: jax `nn.initializers.uniform(scale=1e-2, dtype=None)`.

    Args:
      scale: the upper bound (>= 0).
      dtype: the default dtype.

    Returns:
      The initializer.

    >>> import jax, jaxinit
    >>> x = jaxinit.get("uniform", scale=0.5)(jax.random.key(0), (1000,))
    >>> bool(x.min() >= 0.0 and x.max() < 0.5)
    True
    """
    validate.nonneg("jax_uniform", scale=scale)
    return jax_factory(make_uniform("jax_uniform", 0.0, scale, {"scale": scale}), dtype)


@register("symmetric_uniform", aliases=("uniform_bound",), family="uniform")
def symmetric_uniform(bound: float = 1.0) -> Initializer:
    """Symmetric uniform U(-bound, bound), drawn as a rescaled U[-1, 1).

    Formula: w ~ U(-bound, bound)
    Source: the building block of torch's layer defaults and Keras `RandomUniform(-b, b)`.

    Args:
      bound: the half-width (>= 0).

    Returns:
      The initializer.
    """
    validate.nonneg("symmetric_uniform", bound=bound)
    bound = float(bound)
    return make_initializer(
        "symmetric_uniform",
        lambda key, shape, cd: bound * rand_uniform(key, shape, cd, -1.0, 1.0),
        hyperparameters={"bound": bound},
        stats=lambda shape: uniform_stats(-bound, bound),
    )


@register("jax_normal", aliases=("normal",), family="normal")
def jax_normal(stddev: float = 1e-2, dtype: DType | None = None) -> Initializer:
    """JAX's (and Flax's) `normal`: N(0, stddev^2). The unprefixed name `normal` means this
    one; torch's N(mean, std^2) is `normal_`, Keras's `RandomNormal`. Complex dtypes draw
    `jax.random.normal` in that dtype (E|z|^2 = 1) times stddev, as JAX does.

    Formula: w ~ N(0, stddev^2)
    Source: jax `nn.initializers.normal(stddev=1e-2, dtype=None)`.

    Args:
      stddev: the standard deviation (>= 0).
      dtype: the default dtype; complex64/complex128 are accepted.

    Returns:
      The initializer.
    """
    init = make_normal("jax_normal", 0.0, stddev, {"stddev": stddev}, "stddev")
    sd = float(stddev)
    return jax_factory(
        init, dtype, lambda key, shape, cd: jax.random.normal(key, shape, cd) * jnp.array(sd, cd)
    )


@register("truncated_normal", family="truncated_normal")
def truncated_normal(
    stddev: float = 1e-2,
    mean: float = 0.0,
    lower: float = -2.0,
    upper: float = 2.0,
    dtype: DType | None = None,
) -> Initializer:
    """Normal truncated at bounds given in std units, without std correction.

    The post-truncation std is smaller than `stddev` (0.8796 * stddev for the default +-2).

    TN(m, s, lo, hi) below is m + s * Z with Z a standard normal truncated to [lo, hi]: the
    bounds are relative, in units of stddev. (JAX's second positional argument is `dtype`;
    pass it by keyword here.)

    Formula: w ~ TN(mean, stddev, lower, upper)
    Source: jax `nn.initializers.truncated_normal(stddev=1e-2, dtype, lower=-2, upper=2)`,
    Haiku `TruncatedNormal`.

    Args:
      stddev: the std before truncation (> 0).
      mean: the mean before truncation.
      lower: the lower bound, in units of stddev from the mean.
      upper: the upper bound, in units of stddev from the mean.
      dtype: the default dtype.

    Returns:
      The initializer.
    """
    validate.finite("truncated_normal", mean=mean, lower=lower, upper=upper)
    validate.positive("truncated_normal", stddev=stddev)
    check_truncation("truncated_normal", lower, upper, "the bounds (lower, upper)")
    hp = {"stddev": stddev, "mean": mean, "lower": lower, "upper": upper}
    init = make_truncated_normal("truncated_normal", float(mean), float(stddev), lower, upper, hp)
    return jax_factory(init, dtype)


# --------------------------------------------------------------------------------------------
# Orthogonal schemes (JAX's, which Keras's and torch's coincide with in the Flax layout).


def orthogonal_matrix(key: PRNGKey, n_rows: int, n_cols: int, cd: Any) -> Array:
    """A Haar-random (n_rows, n_cols) matrix with orthonormal rows or columns.

    Draws N(0, 1) of shape (max, min), takes `q, r = qr(a)`, `q *= sign(diag(r))`, and
    transposes when n_rows < n_cols (jax `random.orthogonal`, Keras `Orthogonal`).

    Args:
      key: a PRNG key.
      n_rows: the rows.
      n_cols: the columns.
      cd: the compute dtype.

    Returns:
      The (n_rows, n_cols) matrix.
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
def orthogonal(gain: float = 1.0, column_axis: int = -1, dtype: DType | None = None) -> Initializer:
    """A (semi-)orthogonal matrix over `shape` flattened to (prod(others), shape[column_axis]).

    The kept axis is `column_axis` (-1: Keras/JAX/Haiku). torch's `orthogonal_` keeps dim 0 of
    its `(out, in, *k)` layout, which is the last axis of the Flax layout, so for Flax kernels
    the default reproduces torch too; for an array in torch's layout pass `column_axis=0`.
    QR is done in float32 (float64 under x64) and cast.

    Formula: w = gain * reshape(q), q with orthonormal rows/columns (Haar measure)
    Source: jax `nn.initializers.orthogonal(scale, column_axis)`, Keras `Orthogonal(gain)`,
    torch `nn.init.orthogonal_(gain)`.

    Reference: Saxe, McClelland & Ganguli (2014), "Exact solutions to the nonlinear dynamics of
      learning in deep linear neural networks", ICLR.

    Args:
      gain: the scale of the matrix.
      column_axis: the axis kept as columns; the others are flattened into rows.
      dtype: the default dtype.

    Returns:
      The initializer, for rank >= 2.

    >>> import jax, jaxinit
    >>> w = jaxinit.get("orthogonal")(jax.random.key(0), (4, 3))
    >>> bool(jax.numpy.allclose(w.T @ w, jax.numpy.eye(3), atol=1e-5))
    True
    """
    validate.finite("orthogonal", gain=gain)
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
    return jax_factory(init, dtype)


@register("delta_orthogonal", aliases=("ConvolutionDeltaOrthogonal",), family="orthogonal")
def delta_orthogonal(gain: float = 1.0, dtype: DType | None = None) -> Initializer:
    """Delta-orthogonal conv kernel: an orthogonal (in, out) matrix at the center tap.

    Shape `(*k, in, out)` with rank 3 to 5 and in <= out; the tap is `(k - 1) // 2`.

    Formula: w[(k-1)//2, :, :] = gain * orthogonal(in, out); 0 elsewhere
    Source: jax `nn.initializers.delta_orthogonal(scale)` (Xiao et al. 2018).

    Args:
      gain: the scale of the center matrix.
      dtype: the default dtype.

    Returns:
      The initializer, for rank 3 to 5 conv kernels with in <= out.
    """
    validate.finite("delta_orthogonal", gain=gain)

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
    return jax_factory(init, dtype)
