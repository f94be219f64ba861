"""Keras 3 and TensorFlow schemes: `VarianceScaling` and its named classes (`GlorotUniform`,
`HeNormal`, `LecunNormal`, ...), `RandomUniform`, `RandomNormal`, `TruncatedNormal`, the
`Embedding` default, the fused LSTM `unit_forget_bias`, Keras's depthwise-conv glorot, and
TF1's `uniform_unit_scaling`. (`Orthogonal`, `Identity`, `Constant`, `Zeros` and `Ones` are
aliases of the shared schemes in `schemes_basic.py`.)

Keras 3's variance scaling reads "normal" as the corrected truncated normal, divides by
max(1, n), and gives rank-0/1 shapes fans (1, 1) and (n, n) (`variance_scaling_builder` with
`keras=True`).

The schemes Keras seeds take `tf_seed=` (`tf_random.tf_seedable`): with it they draw TF's
exact numbers for that seed.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax.numpy as jnp

from jaxinit._src import validate
from jaxinit._src.errors import HyperparameterError, ShapeError
from jaxinit._src.registry import register
from jaxinit._src.sampling import make_initializer, rand_uniform, uniform_stats
from jaxinit._src.schemes_basic import make_normal, make_truncated_normal, make_uniform
from jaxinit._src.tf_random import tf_seedable
from jaxinit._src.types import Axes, Initializer
from jaxinit._src.variance_scaling import variance_scaling_builder


@register("random_uniform", aliases=("RandomUniform", "keras_uniform"), family="uniform")
@tf_seedable("uniform")
def random_uniform(minval: float = -0.05, maxval: float = 0.05) -> Initializer:
    """Keras's uniform, by default U(-0.05, 0.05) (also Keras's `Embedding` default).

    Formula: w ~ U(minval, maxval)
    Source: Keras 3 `RandomUniform(minval=-0.05, maxval=0.05)`.

    Args:
      minval: the lower bound.
      maxval: the upper bound (>= minval).

    Returns:
      The initializer.
    """
    return make_uniform(
        "random_uniform", minval, maxval, {"minval": minval, "maxval": maxval}, ("minval", "maxval")
    )


@register("keras_embedding", family="layer_default")
def keras_embedding() -> Initializer:
    """Keras's `Embedding` default: U(-0.05, 0.05).

    Formula: w ~ U(-0.05, 0.05)
    Source: Keras 3 `Embedding(embeddings_initializer="uniform")`, i.e. `RandomUniform()`.

    Returns:
      The initializer.
    """
    return make_uniform("keras_embedding", -0.05, 0.05, {})


@register("random_normal", aliases=("RandomNormal",), family="normal")
@tf_seedable("normal")
def random_normal(mean: float = 0.0, stddev: float = 0.05) -> Initializer:
    """Keras's normal, by default N(0, 0.05^2).

    Formula: w ~ N(mean, stddev^2)
    Source: Keras 3 `RandomNormal(mean=0.0, stddev=0.05)`.

    Args:
      mean: the mean.
      stddev: the standard deviation (>= 0).

    Returns:
      The initializer.

    >>> import jaxinit
    >>> jaxinit.get("RandomNormal", tf_seed=0)(None, (2,)).dtype  # TF's draw: no key needed
    dtype('float32')
    """
    return make_normal("random_normal", mean, stddev, {"mean": mean, "stddev": stddev}, "stddev")


@register("keras_truncated_normal", aliases=("TruncatedNormal",), family="truncated_normal")
@tf_seedable("truncated")
def keras_truncated_normal(mean: float = 0.0, stddev: float = 0.05) -> Initializer:
    """Keras's truncated normal: truncated at +-2 stddev, no std correction.

    Formula: w ~ TN(mean, stddev, -2, 2)
    Source: Keras 3 `TruncatedNormal(mean=0.0, stddev=0.05)`.

    Args:
      mean: the mean before truncation.
      stddev: the std before truncation (> 0).

    Returns:
      The initializer.
    """
    validate.finite("keras_truncated_normal", mean=mean)
    validate.positive("keras_truncated_normal", stddev=stddev)
    hp = {"mean": mean, "stddev": stddev}
    return make_truncated_normal(
        "keras_truncated_normal", float(mean), float(stddev), -2.0, 2.0, hp
    )


@register("uniform_unit_scaling", aliases=("UniformUnitScaling",), family="variance_scaling")
def uniform_unit_scaling(factor: float = 1.0) -> Initializer:
    """TF1's uniform unit scaling: U(-limit, limit), limit = factor * sqrt(3 / input_size).

    `input_size = max(1, prod(shape[:-1]))`.

    Formula: limit = factor * sqrt(3 / max(1, prod(shape[:-1]))); w ~ U(-limit, limit)
    Source: TF1 `tf.uniform_unit_scaling_initializer(factor=1.0)`, Haiku `UniformScaling`.

    Reference: Sussillo & Abbott (2014), "Random walk initialization for training very deep
      feedforward networks", arXiv:1412.6558.

    Args:
      factor: the scale of the limit (>= 0).

    Returns:
      The initializer.
    """
    validate.nonneg("uniform_unit_scaling", factor=factor)

    def limit(shape):
        return factor * math.sqrt(3.0 / max(1, math.prod(shape[:-1])))

    return make_initializer(
        "uniform_unit_scaling",
        lambda key, shape, cd: limit(shape) * rand_uniform(key, shape, cd, -1.0, 1.0),
        hyperparameters={"factor": factor},
        stats=lambda shape: uniform_stats(-limit(shape), limit(shape)),
    )


@register(
    "keras_conv_glorot_uniform",
    aliases=("keras_depthwise_glorot_uniform",),
    family="variance_scaling",
)
def keras_conv_glorot_uniform(groups: int = 1) -> Initializer:
    """Keras's glorot_uniform for a Flax conv kernel, reading a depthwise conv as Keras's
    `DepthwiseConv` (whose fans differ); any other conv gets plain glorot_uniform.

    A Flax depthwise conv (feature_group_count=C) stores `(*k, 1, C*m)`; Keras's
    `DepthwiseConv2D` stores `(*k, C, m)` and its glorot uses fan_in = C*rf, fan_out = m*rf
    (torch/Flax/Haiku use fan_in = rf). With in-per-group 1 and groups > 1 this uses Keras's
    fans; otherwise (a regular or grouped conv) it is plain glorot_uniform.

    Formula: limit = sqrt(6 / (fan_in + fan_out)); w ~ U(-limit, limit); Keras depthwise fans
    Source: Keras 3 `DepthwiseConv2D(depthwise_initializer="glorot_uniform")`.

    Args:
      groups: the Flax conv's `feature_group_count` (>= 1).

    Returns:
      The initializer, for rank >= 3; its `.fans(shape)` gives the fans it uses.

    >>> import jaxinit
    >>> jaxinit.get("keras_conv_glorot_uniform", groups=4).fans((3, 3, 1, 8))
    (36, 18)
    """
    validate.positive_int("keras_conv_glorot_uniform", "groups", groups)

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
        stats=lambda shape: uniform_stats(-limit(shape), limit(shape)),
        min_rank=3,
        check=check,
    )
    init.fans = fans  # the explain table shows the fans the scheme uses, not generic ones
    return init


@register("unit_forget_bias", aliases=("keras_lstm_bias",), family="layer_default")
def unit_forget_bias(gates: int = 4, forget_gate: int = 1) -> Initializer:
    """A fused LSTM bias with the forget block set to one, zeros elsewhere. Ignores the key.

    The last axis is split into `gates` equal blocks; block `forget_gate` is 1 (Keras's gate
    order [i, f, c, o] and Flax NNX's [i, f, g, o] both put f at index 1).

    Formula: b = concat(0_H, 1_H, 0_H, 0_H)
    Source: Keras 3 `LSTMCell(unit_forget_bias=True)`.

    Args:
      gates: the number of fused gate blocks.
      forget_gate: the index of the forget block, in [0, gates).

    Returns:
      The initializer, for rank >= 1 with the last axis divisible by `gates`.

    >>> import jax, jaxinit
    >>> jaxinit.get("unit_forget_bias")(jax.random.key(0), (8,)).tolist()
    [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
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
# Keras 3's variance scaling and its named classes.


@register("keras_variance_scaling", aliases=("VarianceScaling",), family="variance_scaling")
@tf_seedable("vs")
def keras_variance_scaling(
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> Initializer:
    """Variance scaling with Keras 3 semantics: "normal" means the corrected truncated normal,
    `n` is `max(1, n)`, and rank-0/1 shapes get fans (1, 1) and (n, n). With both
    `input_axes` and `output_axes` the fans are the products of exactly those axes (Keras:
    `(512, 8, 64)` with `[0]`, `[2]` gives `(512, 64)`); with only one of them Keras ignores it,
    and so does this.

    Formula: std = sqrt(scale / max(1, n(mode))); w ~ D(keras(distribution), std)
    Source: Keras 3 `VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal",
    input_axes=None, output_axes=None)`.

    Args:
      scale: the variance scale; > 0, as Keras 3 requires ("must be positive").
      mode: "fan_in", "fan_out", "fan_avg" or "fan_geo_avg".
      distribution: "truncated_normal" or "normal" (both the corrected truncated normal),
        "untruncated_normal" or "uniform".
      input_axes: Keras 3's input axes of the fans (used only with `output_axes`).
      output_axes: Keras 3's output axes of the fans (used only with `input_axes`).

    Returns:
      The initializer.
    """
    validate.positive("keras_variance_scaling", scale=scale)
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


def _keras_named(
    scheme: str,
    scale: float,
    mode: str,
    distribution: str,
    in_axis: Axes,
    out_axis: Axes,
    batch_axis: Axes,
    fan_in: float | None,
    fan_out: float | None,
    input_axes: Sequence[int] | None,
    output_axes: Sequence[int] | None,
) -> Initializer:
    hp = {"in_axis": in_axis, "out_axis": out_axis, "batch_axis": batch_axis}
    if input_axes is not None or output_axes is not None:
        hp.update(input_axes=input_axes, output_axes=output_axes)
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
        low_rank="keras",
        keras=True,
        hp=hp,
        keras_axes=(input_axes, output_axes),
    )


@register("keras_glorot_uniform", aliases=("GlorotUniform",), family="variance_scaling")
@tf_seedable("vs", "uniform")
def keras_glorot_uniform(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> Initializer:
    """Keras's Glorot uniform: `keras_variance_scaling(1.0, "fan_avg", "uniform")`.

    Formula: limit = sqrt(3 / max(1, fan_avg)); w ~ U(-limit, limit)
    Source: Keras 3 `GlorotUniform(seed=None)`.

    Reference: Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
      neural networks", AISTATS.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      input_axes: Keras 3's input axes of the fans (used only with `output_axes`).
      output_axes: Keras 3's output axes of the fans (used only with `input_axes`).

    Returns:
      The initializer; rank-0/1 shapes get Keras's fans (1, 1) / (n, n).
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, input_axes, output_axes)
    return _keras_named("keras_glorot_uniform", 1.0, "fan_avg", "uniform", *args)


@register("keras_glorot_normal", aliases=("GlorotNormal",), family="variance_scaling")
@tf_seedable("vs", "truncated_normal")
def keras_glorot_normal(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> Initializer:
    """Keras's Glorot normal: `keras_variance_scaling(1.0, "fan_avg", "truncated_normal")`.

    Formula: std = sqrt(1 / max(1, fan_avg)); w ~ TN(0, std / 0.8796256610342398, -2, 2)
    Source: Keras 3 `GlorotNormal(seed=None)`.

    Reference: Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
      neural networks", AISTATS.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      input_axes: Keras 3's input axes of the fans (used only with `output_axes`).
      output_axes: Keras 3's output axes of the fans (used only with `input_axes`).

    Returns:
      The initializer; rank-0/1 shapes get Keras's fans (1, 1) / (n, n).
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, input_axes, output_axes)
    return _keras_named("keras_glorot_normal", 1.0, "fan_avg", "truncated_normal", *args)


@register("keras_he_uniform", aliases=("HeUniform",), family="variance_scaling")
@tf_seedable("vs", "uniform")
def keras_he_uniform(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> Initializer:
    """Keras's He uniform: `keras_variance_scaling(2.0, "fan_in", "uniform")`.

    Formula: limit = sqrt(6 / max(1, fan_in)); w ~ U(-limit, limit)
    Source: Keras 3 `HeUniform(seed=None)`.

    Reference: He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers: surpassing human-level
      performance on ImageNet classification", ICCV.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      input_axes: Keras 3's input axes of the fans (used only with `output_axes`).
      output_axes: Keras 3's output axes of the fans (used only with `input_axes`).

    Returns:
      The initializer; rank-0/1 shapes get Keras's fans (1, 1) / (n, n).
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, input_axes, output_axes)
    return _keras_named("keras_he_uniform", 2.0, "fan_in", "uniform", *args)


@register("keras_he_normal", aliases=("HeNormal",), family="variance_scaling")
@tf_seedable("vs", "truncated_normal")
def keras_he_normal(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> Initializer:
    """Keras's He normal: `keras_variance_scaling(2.0, "fan_in", "truncated_normal")`.

    Formula: std = sqrt(2 / max(1, fan_in)); w ~ TN(0, std / 0.8796256610342398, -2, 2)
    Source: Keras 3 `HeNormal(seed=None)`.

    Reference: He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers: surpassing human-level
      performance on ImageNet classification", ICCV.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      input_axes: Keras 3's input axes of the fans (used only with `output_axes`).
      output_axes: Keras 3's output axes of the fans (used only with `input_axes`).

    Returns:
      The initializer; rank-0/1 shapes get Keras's fans (1, 1) / (n, n).

    >>> import jaxinit
    >>> jaxinit.get("HeNormal").stats((7,)).std == (2 / 7) ** 0.5  # Keras: rank 1 has fans (n, n)
    True
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, input_axes, output_axes)
    return _keras_named("keras_he_normal", 2.0, "fan_in", "truncated_normal", *args)


@register("keras_lecun_uniform", aliases=("LecunUniform",), family="variance_scaling")
@tf_seedable("vs", "uniform")
def keras_lecun_uniform(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> Initializer:
    """Keras's LeCun uniform: `keras_variance_scaling(1.0, "fan_in", "uniform")`.

    Formula: limit = sqrt(3 / max(1, fan_in)); w ~ U(-limit, limit)
    Source: Keras 3 `LecunUniform(seed=None)`.

    Reference: LeCun, Bottou, Orr & Mueller (1998), "Efficient BackProp", in Neural Networks:
      Tricks of the Trade.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      input_axes: Keras 3's input axes of the fans (used only with `output_axes`).
      output_axes: Keras 3's output axes of the fans (used only with `input_axes`).

    Returns:
      The initializer; rank-0/1 shapes get Keras's fans (1, 1) / (n, n).
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, input_axes, output_axes)
    return _keras_named("keras_lecun_uniform", 1.0, "fan_in", "uniform", *args)


@register("keras_lecun_normal", aliases=("LecunNormal",), family="variance_scaling")
@tf_seedable("vs", "truncated_normal")
def keras_lecun_normal(
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    fan_in: float | None = None,
    fan_out: float | None = None,
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> Initializer:
    """Keras's LeCun normal: `keras_variance_scaling(1.0, "fan_in", "truncated_normal")`.

    Formula: std = sqrt(1 / max(1, fan_in)); w ~ TN(0, std / 0.8796256610342398, -2, 2)
    Source: Keras 3 `LecunNormal(seed=None)`.

    Reference: LeCun, Bottou, Orr & Mueller (1998), "Efficient BackProp", in Neural Networks:
      Tricks of the Trade.

    Args:
      in_axis: the input axes of the fans.
      out_axis: the output axes of the fans.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.
      fan_out: an explicit fan_out instead of the shape's.
      input_axes: Keras 3's input axes of the fans (used only with `output_axes`).
      output_axes: Keras 3's output axes of the fans (used only with `input_axes`).

    Returns:
      The initializer; rank-0/1 shapes get Keras's fans (1, 1) / (n, n).
    """
    args = (in_axis, out_axis, batch_axis, fan_in, fan_out, input_axes, output_axes)
    return _keras_named("keras_lecun_normal", 1.0, "fan_in", "truncated_normal", *args)
