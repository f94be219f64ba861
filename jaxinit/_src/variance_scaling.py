"""Variance scaling: the general primitive, JAX's `variance_scaling` and its named
specialisations (glorot/he/lecun, uniform and normal), each a one-line `def` over it.

`var = scale / n(mode)` with n = fan_in, fan_out, fan_avg = (fan_in + fan_out) / 2 or
fan_geo_avg = sqrt(fan_in * fan_out). The JAX forms read "normal" as untruncated and take a
build-time `dtype=` and complex dtypes; the Keras forms read "normal" as the corrected
truncated normal, divide by max(1, n), give rank-0/1 shapes fans (1, 1) and (n, n), and take
`tf_seed=`; they are in `schemes_keras.py` (`VarianceScaling`, `GlorotUniform`, ...), torch's
variance-scaling functions (`kaiming_*_`, `xavier_*_`) in `schemes_torch.py`.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from jaxinit._src import fans as fans_lib
from jaxinit._src import validate
from jaxinit._src.errors import HyperparameterError, ShapeError
from jaxinit._src.registry import register
from jaxinit._src.sampling import (
    COMPLEX_TRUNCATED_STD_FACTOR,
    TRUNCATED_STD_FACTOR,
    complex_truncated_normal,
    complex_uniform,
    jax_factory,
    make_initializer,
    rand_normal,
    rand_truncated_normal,
    rand_uniform,
)
from jaxinit._src.types import Axes, DType, Initializer, Stats

MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
# Keras/TF spellings accepted in addition: "untruncated_normal" is JAX's "normal";
# "truncated_normal_uncorrected" is old TF1 / Haiku-module semantics (no 0.8796 correction).
EXTRA_DISTRIBUTIONS = ("untruncated_normal", "truncated_normal_uncorrected")


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
) -> Initializer:
    """The one implementation behind every variance-scaling scheme (validated at build time).

    Args:
      scheme: the registry name.
      scale: the variance scale (>= 0).
      mode: one of `MODES`.
      distribution: one of `DISTRIBUTIONS` or `EXTRA_DISTRIBUTIONS`.
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in (> 0) instead of the shape's.
      fan_out: an explicit fan_out (> 0) instead of the shape's.
      low_rank: "error" (JAX, torch) or "keras" (rank-0/1 shapes get Keras's fans).
      keras: Keras 3 semantics ("normal" is the truncated normal, n is max(1, n)).
      hp: the hyperparameters to record (default: all of the above).
      keras_axes: Keras 3's `(input_axes, output_axes)`; when both are given the fans are the
        products of exactly those axes (Keras `compute_fans`).
      dtype: a default dtype (JAX's build-time `dtype=`).
      complex_ok: complex dtypes draw JAX's complex constructions.

    Returns:
      The initializer.
    """
    validate.nonneg(scheme, scale=scale)
    validate.choice(scheme, "mode", mode, MODES)
    validate.choice(scheme, "distribution", distribution, DISTRIBUTIONS + EXTRA_DISTRIBUTIONS)
    validate.choice(scheme, "low_rank", low_rank, fans_lib.LOW_RANK_CHOICES)
    validate.axes(scheme, in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    input_axes, output_axes = keras_axes
    for name, a in (("input_axes", input_axes), ("output_axes", output_axes)):
        if a is not None and (isinstance(a, int) or not isinstance(a, (list, tuple))):
            raise HyperparameterError(
                f"{scheme}: {name}={a!r} must be a list of ints or None (Keras's axes)."
            )
        if a is not None:
            validate.axes(scheme, **{name: a})
    # Keras uses the listed axes only when both are given (otherwise its default fans).
    explicit = input_axes is not None and output_axes is not None
    for name, f in (("fan_in", fan_in), ("fan_out", fan_out)):
        if f is not None:
            validate.positive(scheme, **{name: f})
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
            return complex_uniform(key, shape, cd) * std
        if distribution == "normal":
            return jax.random.normal(key, shape, cd) * std
        if distribution == "truncated_normal":
            tn = complex_truncated_normal(key, 2.0, shape, cd)
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
    return jax_factory(init, dtype, complex_sample if complex_ok else None)


def vs_formula(scale: float, mode: str, distribution: str, keras: bool = False) -> str:
    """The formula of one variance-scaling specialisation, in the registry's notation.

    U(lo, hi), N(mean, std^2), TN(mean, sigma, lo, hi) = mean + sigma * (a standard normal
    truncated to [lo, hi]); fan_avg = (fan_in + fan_out) / 2, fan_geo_avg = sqrt(fan_in *
    fan_out).

    Args:
      scale: the variance scale.
      mode: one of `MODES`.
      distribution: "uniform", "normal" (untruncated), "truncated_normal" (corrected) or
        "truncated_normal_uncorrected".
      keras: whether n is Keras's max(1, n).

    Returns:
      The formula, e.g. ``"limit = sqrt(3 / fan_avg); w ~ U(-limit, limit)"``.

    >>> vs_formula(2.0, "fan_in", "normal")
    'std = sqrt(2 / fan_in); w ~ N(0, std^2)'
    """
    n = f"max(1, {mode})" if keras else mode
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
) -> Initializer:
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

    Args:
      scale: the variance scale (>= 0).
      mode: "fan_in", "fan_out", "fan_avg" or "fan_geo_avg".
      distribution: "truncated_normal", "normal", "uniform", "untruncated_normal" (= "normal")
        or "truncated_normal_uncorrected".
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      low_rank: "error" (JAX) or "keras" (rank-0/1 shapes get Keras's fans).
      dtype: the default dtype; complex64/complex128 are accepted.

    Returns:
      The initializer.

    >>> import jax, jaxinit
    >>> init = jaxinit.get("variance_scaling", scale=2.0, mode="fan_in", distribution="uniform")
    >>> round(init.stats((8, 4)).high, 4)  # sqrt(3 * 2 / 8)
    0.866
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


# --------------------------------------------------------------------------------------------
# The named specialisations: JAX's take JAX's build-time `dtype=` and complex dtypes, and record
# the axes as their hyperparameters. (Keras's GlorotUniform, HeNormal, ... are in
# schemes_keras.py.)


def _jax_named(
    scheme: str,
    scale: float,
    mode: str,
    distribution: str,
    in_axis: Axes,
    out_axis: Axes,
    batch_axis: Axes,
    fan_in: float | None,
    fan_out: float | None,
    dtype: DType | None,
) -> Initializer:
    hp = {"in_axis": in_axis, "out_axis": out_axis, "batch_axis": batch_axis}
    return variance_scaling_builder(
        scheme,
        scale,
        mode,
        distribution,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        fan_in=fan_in,
        fan_out=fan_out,
        hp=hp,
        dtype=dtype,
        complex_ok=True,
    )


@register("glorot_uniform", aliases=("xavier_uniform",), family="variance_scaling")
def glorot_uniform(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    dtype: DType | None = None,
) -> Initializer:
    """Glorot (Xavier) uniform: `variance_scaling(1.0, "fan_avg", "uniform")`.

    Formula: limit = sqrt(3 / fan_avg); w ~ U(-limit, limit)
    Source: jax `nn.initializers.glorot_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype)`.

    Reference: Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
      neural networks", AISTATS.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      dtype: the default dtype; complex64/complex128 are accepted.

    Returns:
      The initializer.

    >>> import jax, jaxinit
    >>> jaxinit.get("glorot_uniform")(jax.random.key(0), (2, 3)).shape
    (2, 3)
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, dtype)
    return _jax_named("glorot_uniform", 1.0, "fan_avg", "uniform", *args)


@register("glorot_normal", aliases=("xavier_normal",), family="variance_scaling")
def glorot_normal(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    dtype: DType | None = None,
) -> Initializer:
    """Glorot (Xavier) normal: `variance_scaling(1.0, "fan_avg", "truncated_normal")`.

    Formula: std = sqrt(1 / fan_avg); w ~ TN(0, std / 0.8796256610342398, -2, 2)
    Source: jax `nn.initializers.glorot_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype)`.

    Reference: Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
      neural networks", AISTATS.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      dtype: the default dtype; complex64/complex128 are accepted.

    Returns:
      The initializer.
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, dtype)
    return _jax_named("glorot_normal", 1.0, "fan_avg", "truncated_normal", *args)


@register("he_uniform", aliases=("kaiming_uniform",), family="variance_scaling")
def he_uniform(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    dtype: DType | None = None,
) -> Initializer:
    """He (Kaiming) uniform: `variance_scaling(2.0, "fan_in", "uniform")`.

    Formula: limit = sqrt(6 / fan_in); w ~ U(-limit, limit)
    Source: jax `nn.initializers.he_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype)`.

    Reference: He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers: surpassing human-level
      performance on ImageNet classification", ICCV.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      dtype: the default dtype; complex64/complex128 are accepted.

    Returns:
      The initializer.

    >>> import jaxinit
    >>> round(jaxinit.get("he_uniform").stats((8, 4)).high, 4)  # sqrt(6 / 8)
    0.866
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, dtype)
    return _jax_named("he_uniform", 2.0, "fan_in", "uniform", *args)


@register("he_normal", aliases=("kaiming_normal",), family="variance_scaling")
def he_normal(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    dtype: DType | None = None,
) -> Initializer:
    """He (Kaiming) normal: `variance_scaling(2.0, "fan_in", "truncated_normal")`.

    Formula: std = sqrt(2 / fan_in); w ~ TN(0, std / 0.8796256610342398, -2, 2)
    Source: jax `nn.initializers.he_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype)`.

    Reference: He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers: surpassing human-level
      performance on ImageNet classification", ICCV.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      dtype: the default dtype; complex64/complex128 are accepted.

    Returns:
      The initializer.
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, dtype)
    return _jax_named("he_normal", 2.0, "fan_in", "truncated_normal", *args)


@register("lecun_uniform", family="variance_scaling")
def lecun_uniform(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    dtype: DType | None = None,
) -> Initializer:
    """LeCun uniform: `variance_scaling(1.0, "fan_in", "uniform")`.

    Formula: limit = sqrt(3 / fan_in); w ~ U(-limit, limit)
    Source: jax `nn.initializers.lecun_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype)`.

    Reference: LeCun, Bottou, Orr & Mueller (1998), "Efficient BackProp", in Neural Networks:
      Tricks of the Trade.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      dtype: the default dtype; complex64/complex128 are accepted.

    Returns:
      The initializer.
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, dtype)
    return _jax_named("lecun_uniform", 1.0, "fan_in", "uniform", *args)


@register("lecun_normal", family="variance_scaling")
def lecun_normal(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    dtype: DType | None = None,
) -> Initializer:
    """LeCun normal, Flax's default kernel init: `variance_scaling(1.0, "fan_in",
    "truncated_normal")`.

    Formula: std = sqrt(1 / fan_in); w ~ TN(0, std / 0.8796256610342398, -2, 2)
    Source: jax `nn.initializers.lecun_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype)`
    (Flax's default kernel init).

    Reference: LeCun, Bottou, Orr & Mueller (1998), "Efficient BackProp", in Neural Networks:
      Tricks of the Trade.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      dtype: the default dtype; complex64/complex128 are accepted.

    Returns:
      The initializer.

    >>> import jax, jaxinit
    >>> w = jaxinit.get("lecun_normal")(jax.random.key(0), (3, 2))
    >>> bool(abs(w).max() <= 2 / 3 ** 0.5 / jaxinit.TRUNCATED_STD_FACTOR)  # 2 sigma bound
    True
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, dtype)
    return _jax_named("lecun_normal", 1.0, "fan_in", "truncated_normal", *args)
