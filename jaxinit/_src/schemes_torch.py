"""torch's schemes, in the Flax layout: the `torch.nn.init` functions (`uniform_`, `normal_`,
`trunc_normal_`, `xavier_*_`, `kaiming_*_`, `sparse_`) and torch's layer defaults
(`torch_kernel` for Linear/Conv weights, `torch_bias`, `torch_rnn`, `torch_embedding`).

A scheme named after a torch function reproduces torch's *semantics* expressed in the Flax
layout: torch's fan_in is dim 1 of `(out, in, *k)`, which is Flax's `in_axis=-2` of
`(*k, in, out)`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit._src import validate
from jaxinit._src.errors import HyperparameterError, ShapeError
from jaxinit._src.gain import NONLINEARITIES, calculate_gain
from jaxinit._src.registry import register
from jaxinit._src.sampling import (
    MIN_TRUNCATED_MASS_TAILS,
    check_truncation,
    make_initializer,
    rand_normal,
    rand_uniform,
)
from jaxinit._src.schemes_basic import make_normal, make_truncated_normal, make_uniform
from jaxinit._src.types import Array, Axes, DType, Initializer, PRNGKey, Shape, Stats
from jaxinit._src.variance_scaling import variance_scaling_builder

# --------------------------------------------------------------------------------------------
# torch.nn.init's explicit-parameter functions.


@register("torch_uniform", aliases=("uniform_",), family="uniform")
def torch_uniform(low: float = 0.0, high: float = 1.0) -> Initializer:
    """torch's uniform on [low, high) (torch calls them `a`, `b`), by default U[0, 1).

    Not JAX's `uniform(scale)`, which the unprefixed name `uniform` means (`jax_uniform`).

    Formula: w ~ U(low, high)
    Source: torch `nn.init.uniform_(a=0, b=1)`.

    Args:
      low: the lower bound (torch's `a`).
      high: the upper bound (torch's `b`), >= low.

    Returns:
      The initializer.

    >>> import jax, jaxinit
    >>> jaxinit.get("uniform_", low=-1.0, high=1.0)(jax.random.key(0), (2, 3)).shape
    (2, 3)
    """
    return make_uniform("torch_uniform", low, high, {"low": low, "high": high})


@register("torch_normal", aliases=("normal_",), family="normal")
def torch_normal(mean: float = 0.0, std: float = 1.0) -> Initializer:
    """torch's normal N(mean, std^2), untruncated, by default N(0, 1).

    Not JAX's `normal(stddev=0.01)`, which the unprefixed name `normal` means (`jax_normal`).

    Formula: w ~ N(mean, std^2)
    Source: torch `nn.init.normal_(mean=0, std=1)`.

    Args:
      mean: the mean.
      std: the standard deviation (>= 0).

    Returns:
      The initializer.
    """
    return make_normal("torch_normal", mean, std, {"mean": mean, "std": std})


@register(
    "trunc_normal", aliases=("trunc_normal_", "torch_trunc_normal"), family="truncated_normal"
)
def trunc_normal(
    mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0
) -> Initializer:
    """torch's truncated normal: `a` and `b` are ABSOLUTE bounds, `std` is pre-truncation.

    `trunc_normal(std=0.02)` truncates at +-2.0, i.e. +-100 sigma: effectively untruncated.
    Sampled by `sampling.rand_truncated_normal_tails`, exact however far out the bounds are.

    Formula: w ~ TN(mean, std, (a - mean) / std, (b - mean) / std); a <= w <= b
    Source: torch `nn.init.trunc_normal_(mean=0, std=1, a=-2, b=2)`.

    Args:
      mean: the mean before truncation.
      std: the std before truncation (> 0).
      a: the absolute lower bound.
      b: the absolute upper bound (> a).

    Returns:
      The initializer.

    >>> import jax, jaxinit
    >>> w = jaxinit.get("trunc_normal_", std=0.02)(jax.random.key(0), (1000,))
    >>> bool(abs(w).max() < 0.1)  # +-2 is +-100 sigma: effectively untruncated
    True
    """
    validate.finite("trunc_normal", mean=mean, a=a, b=b)
    validate.positive("trunc_normal", std=std)
    if not a < b:
        raise HyperparameterError(f"trunc_normal: a={a} >= b={b}; need a < b.")
    lo, hi = (a - mean) / std, (b - mean) / std
    check_truncation("trunc_normal", lo, hi, "the bounds (a, b)", MIN_TRUNCATED_MASS_TAILS)
    hp = {"mean": mean, "std": std, "a": a, "b": b}
    return make_truncated_normal("trunc_normal", float(mean), float(std), lo, hi, hp, tails=True)


@register("sparse", aliases=("sparse_",), family="sparse")
def sparse(sparsity: float, std: float = 0.01) -> Initializer:
    """torch's sparse init on a 2-D kernel in the Flax layout `(in, out)`: N(0, std^2), then in
    every row (every input unit) `ceil(sparsity * out)` entries, at random columns, are zero.

    torch's `sparse_` zeroes `ceil(sparsity * rows)` entries of every column of its `(out, in)`
    weight, i.e. for every input unit a fixed number of its `out` outgoing weights; that is every
    row of the Flax `(in, out)` kernel, as for every other torch-named scheme here.

    Formula: w ~ N(0, std^2); per row (input unit), ceil(sparsity * out) zeros
    Source: torch `nn.init.sparse_(tensor, sparsity, std=0.01)` (Martens 2010).

    Args:
      sparsity: the fraction of every row set to zero, in [0, 1].
      std: the std of the nonzero entries (>= 0).

    Returns:
      The initializer, for rank-2 kernels.
    """
    validate.finite("sparse", sparsity=sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise HyperparameterError(f"sparse: sparsity={sparsity!r} must lie in [0, 1].")
    validate.nonneg("sparse", std=std)

    def sample(key, shape, cd):
        k_val, k_perm = jax.random.split(key)
        # torch's `out` axis is the last one of the Flax layout: zeros are counted along it.
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


# --------------------------------------------------------------------------------------------
# torch's variance-scaling functions, in the Flax layout (torch fan_in = Flax in_axis).


def _torch_xavier(
    scheme: str, distribution: str, gain: float, in_axis: Axes, out_axis: Axes
) -> Initializer:
    """`variance_scaling(gain**2, "fan_avg", distribution)` with torch's hyperparameters."""
    validate.nonneg(scheme, gain=gain)
    hp = {"gain": gain, "in_axis": in_axis, "out_axis": out_axis}
    return variance_scaling_builder(
        scheme, gain**2, "fan_avg", distribution, in_axis=in_axis, out_axis=out_axis, hp=hp
    )


@register("torch_xavier_uniform", aliases=("xavier_uniform_",), family="variance_scaling")
def torch_xavier_uniform(gain: float = 1.0, in_axis: Axes = -2, out_axis: Axes = -1) -> Initializer:
    """torch's Xavier uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Formula: limit = gain * sqrt(6 / (fan_in + fan_out)); w ~ U(-limit, limit)
    Source: torch `nn.init.xavier_uniform_(gain=1.0)`.

    Reference: Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
      neural networks", AISTATS.

    Args:
      gain: the scaling factor (>= 0), e.g. `calculate_gain("tanh")`.
      in_axis: the input axis (torch's dim 1 is Flax's -2).
      out_axis: the output axis (torch's dim 0 is Flax's -1).

    Returns:
      The initializer, for rank >= 2.
    """
    return _torch_xavier("torch_xavier_uniform", "uniform", gain, in_axis, out_axis)


@register("torch_xavier_normal", aliases=("xavier_normal_",), family="variance_scaling")
def torch_xavier_normal(gain: float = 1.0, in_axis: Axes = -2, out_axis: Axes = -1) -> Initializer:
    """torch's Xavier normal, UNtruncated: N(0, gain^2 * 2 / (fan_in + fan_out)).

    Formula: std = gain * sqrt(2 / (fan_in + fan_out)); w ~ N(0, std^2)
    Source: torch `nn.init.xavier_normal_(gain=1.0)`.

    Reference: Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
      neural networks", AISTATS.

    Args:
      gain: the scaling factor (>= 0).
      in_axis: the input axis (torch's dim 1 is Flax's -2).
      out_axis: the output axis (torch's dim 0 is Flax's -1).

    Returns:
      The initializer, for rank >= 2.
    """
    return _torch_xavier("torch_xavier_normal", "normal", gain, in_axis, out_axis)


def _warn_zero_element(init: Initializer) -> Initializer:
    """torch's kaiming_uniform_/kaiming_normal_ warn on a zero-element tensor ("Initializing
    zero-element tensors is a no-op") and return it; so do their torch-named schemes."""

    def wrapped(
        key: PRNGKey, shape: Shape, dtype: DType | None = None, out_sharding: Any = None
    ) -> Array:
        out = init(key, shape, dtype, out_sharding)
        if out.size == 0:
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


def _torch_kaiming(
    scheme: str, distribution: str, a: float, mode: str, nonlinearity: str, in_axis, out_axis
) -> Initializer:
    """`variance_scaling(calculate_gain(nonlinearity, a)**2, mode, distribution)`."""
    validate.finite(scheme, a=a)
    validate.choice(scheme, "mode", mode, ("fan_in", "fan_out"))  # torch has no fan_avg here
    # An unknown nonlinearity is reported against the scheme, not only `calculate_gain`.
    validate.choice(scheme, "nonlinearity", nonlinearity, NONLINEARITIES)
    gain = calculate_gain(nonlinearity, a)
    hp = {
        "a": a,
        "mode": mode,
        "nonlinearity": nonlinearity,
        "in_axis": in_axis,
        "out_axis": out_axis,
    }
    init = variance_scaling_builder(
        scheme, gain**2, mode, distribution, in_axis=in_axis, out_axis=out_axis, hp=hp
    )
    return _warn_zero_element(init)


@register("torch_kaiming_uniform", aliases=("kaiming_uniform_",), family="variance_scaling")
def torch_kaiming_uniform(
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
) -> Initializer:
    """torch's Kaiming uniform: U(-b, b), b = sqrt(3) * gain / sqrt(fan), gain from `a`.

    Formula: limit = calculate_gain(nonlinearity, a) * sqrt(3 / fan(mode)); w ~ U(-limit, limit)
    Source: torch `nn.init.kaiming_uniform_(a=0, mode="fan_in", nonlinearity="leaky_relu")`.

    Reference: He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers: surpassing human-level
      performance on ImageNet classification", ICCV.

    Args:
      a: the negative slope of the leaky ReLU after the layer (used by "leaky_relu").
      mode: "fan_in" (keeps the forward variance) or "fan_out" (the backward one).
      nonlinearity: a name of `calculate_gain`'s table.
      in_axis: the input axis (torch's dim 1 is Flax's -2).
      out_axis: the output axis (torch's dim 0 is Flax's -1).

    Returns:
      The initializer, for rank >= 2; it warns on a zero-size shape, as torch does.

    >>> import jaxinit
    >>> init = jaxinit.get("kaiming_uniform_", a=5 ** 0.5)  # torch's nn.Linear weight default
    >>> round(init.stats((16, 4)).high, 4)  # 1 / sqrt(fan_in)
    0.25
    """
    args = (a, mode, nonlinearity, in_axis, out_axis)
    return _torch_kaiming("torch_kaiming_uniform", "uniform", *args)


@register("torch_kaiming_normal", aliases=("kaiming_normal_",), family="variance_scaling")
def torch_kaiming_normal(
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
) -> Initializer:
    """torch's Kaiming normal, UNtruncated: N(0, gain^2 / fan).

    Formula: std = calculate_gain(nonlinearity, a) / sqrt(fan(mode)); w ~ N(0, std^2)
    Source: torch `nn.init.kaiming_normal_(a=0, mode="fan_in", nonlinearity="leaky_relu")`.

    Reference: He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers: surpassing human-level
      performance on ImageNet classification", ICCV.

    Args:
      a: the negative slope of the leaky ReLU after the layer (used by "leaky_relu").
      mode: "fan_in" (keeps the forward variance) or "fan_out" (the backward one).
      nonlinearity: a name of `calculate_gain`'s table.
      in_axis: the input axis (torch's dim 1 is Flax's -2).
      out_axis: the output axis (torch's dim 0 is Flax's -1).

    Returns:
      The initializer, for rank >= 2; it warns on a zero-size shape, as torch does.
    """
    args = (a, mode, nonlinearity, in_axis, out_axis)
    return _torch_kaiming("torch_kaiming_normal", "normal", *args)


# --------------------------------------------------------------------------------------------
# torch's layer defaults.


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
) -> Initializer:
    """torch's Linear/Conv weight default: `kaiming_uniform_(a=sqrt(5))`, i.e. U(+-1/sqrt(fan_in)).

    gain(leaky_relu, sqrt(5)) = sqrt(1/3), so the bound is sqrt(3) * sqrt(1/3) / sqrt(fan_in)
    = 1/sqrt(fan_in) and the variance 1/(3 fan_in): variance_scaling(1/3, "fan_in", "uniform").
    For torch's ConvTranspose (fan_in from OUTPUT channels) pass in_axis=-1, out_axis=-2.

    Formula: w ~ U(-1 / sqrt(fan_in), 1 / sqrt(fan_in))
    Source: torch `nn.Linear/_ConvNd.reset_parameters` (pytorch/pytorch#57109).

    Args:
      in_axis: the input axes of fan_in.
      out_axis: the output axes.
      batch_axis: axes excluded from the fans.
      fan_in: an explicit fan_in instead of the shape's.

    Returns:
      The initializer.
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


def _summed_uniform(scheme: str, bound: float, terms, hp: dict) -> Initializer:
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
def torch_bias(fan_in: float, terms: int | tuple[int, ...] = 1) -> Initializer:
    """torch's Linear/Conv bias default: U(+-1/sqrt(fan_in)), fan_in taken from the KERNEL.

    A bias cannot know its kernel's fan_in from its own shape; the policy engine binds it from
    context (`fan_in="ctx:kernel_fan_in"`). `terms=2` draws the sum of two such uniforms.
    torch gives a zero bias when fan_in == 0; here a zero fan_in is rejected instead.

    Formula: w ~ sum_of(terms, U(-1 / sqrt(fan_in), 1 / sqrt(fan_in)))
    Source: torch `nn.Linear.reset_parameters` (`bound = 1 / math.sqrt(fan_in)`).

    Args:
      fan_in: the fan_in of the layer's kernel (> 0).
      terms: how many independent uniforms are summed, or a tuple giving it per equal segment
        of the last axis.

    Returns:
      The initializer.
    """
    validate.positive("torch_bias", fan_in=fan_in)
    return _summed_uniform(
        "torch_bias", 1.0 / math.sqrt(fan_in), terms, {"fan_in": fan_in, "terms": terms}
    )


@register(
    "torch_rnn", aliases=("torch_rnn_uniform", "torch_lstm", "torch_gru"), family="layer_default"
)
def torch_rnn(hidden_size: int, terms: int | tuple[int, ...] = 1) -> Initializer:
    """torch's RNN/LSTM/GRU default for every weight and bias: U(+-1/sqrt(hidden_size)).

    A Flax gate bias that stands for torch's b_ih + b_hh is the SUM of two such draws
    (`terms=2`): triangular on [-2/sqrt(H), 2/sqrt(H)] with variance 2/(3H).

    Formula: w ~ sum_of(terms, U(-1 / sqrt(hidden_size), 1 / sqrt(hidden_size)))
    Source: torch `nn.RNNBase.reset_parameters` / `nn.RNNCellBase.reset_parameters`.

    Args:
      hidden_size: the cell's hidden size H (> 0).
      terms: how many independent uniforms are summed, or a tuple giving it per equal segment
        of the last axis (torch's GRU biases merged: `(2, 2, 1)`).

    Returns:
      The initializer.
    """
    validate.positive("torch_rnn", hidden_size=hidden_size)
    return _summed_uniform(
        "torch_rnn",
        1.0 / math.sqrt(hidden_size),
        terms,
        {"hidden_size": hidden_size, "terms": terms},
    )


@register("torch_embedding", family="layer_default")
def torch_embedding(padding_idx: int | None = None) -> Initializer:
    """torch `nn.Embedding`'s default: N(0, 1), with the `padding_idx` row set to zero.

    A negative `padding_idx` counts from the end, as torch wraps it to `n + padding_idx`.

    Formula: w ~ N(0, 1^2); w[padding_idx] = 0
    Source: torch `nn.Embedding.reset_parameters` (`normal_` then `_fill_padding_idx_with_zero`).

    Args:
      padding_idx: the row (axis 0) set to zero, or None.

    Returns:
      The initializer, for rank >= 2.
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
