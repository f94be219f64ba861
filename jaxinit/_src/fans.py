"""Fan computation, layout-aware (cf. `jax._src.nn.initializers._compute_fans`).

Flax/JAX/Keras kernels put the input axis at -2 and the output axis at -1, with the receptive
field in front (`(*k, in, out)`); torch puts out at 0 and in at 1 (`(out, in, *k)`). The default
of every function here is the Flax layout.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

from jaxinit._src.errors import HyperparameterError, ShapeError
from jaxinit._src.types import Axes, Shape

LowRank = Literal["error", "keras"]
LOW_RANK_CHOICES = ("error", "keras")


def _axes(axes: Axes, ndim: int, what: str, scheme: str) -> tuple[int, ...]:
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ShapeError(
                f"{scheme}: {what}={a} is out of range for a shape of rank {ndim} "
                f"(valid axes are {-ndim}..{ndim - 1})."
            )
        out.append(a % ndim)
    return tuple(out)


def compute_fans(
    shape: Shape,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    *,
    low_rank: LowRank = "error",
    scheme: str = "compute_fans",
) -> tuple[float, float]:
    """Returns `(fan_in, fan_out)` of `shape`.

    `fan_in = prod(shape[in_axis]) * rf` and `fan_out = prod(shape[out_axis]) * rf`, where the
    receptive field `rf` is the product of every axis that is neither in, out nor batch
    (JAX's `_compute_fans`). For rank < 2 with the default `in_axis=-2`, `low_rank="error"`
    raises (JAX and torch behaviour); with explicit axes the fans come from the listed axes, as
    in JAX (an empty list is an empty product, 1: `in_axis=(), out_axis=()` on `()` gives
    `(1, 1)`). `low_rank="keras"` returns `(1, 1)` for rank 0 and `(n, n)` for rank 1
    (Keras/Haiku).

    Args:
      shape: the array's shape, in the layout the axes describe (Flax's by default).
      in_axis: the input axis or axes.
      out_axis: the output axis or axes.
      batch_axis: axes that count in neither fan nor the receptive field.
      low_rank: what rank-0/1 shapes do with the default axes: "error" or "keras".
      scheme: the name error messages start with.

    Returns:
      `(fan_in, fan_out)` as floats.

    Raises:
      ShapeError: for an axis out of range, or rank < 2 with the default axes under "error".

    >>> import jaxinit
    >>> jaxinit.compute_fans((3, 3, 16, 32))  # a Flax Conv kernel: rf = 9
    (144.0, 288.0)
    """
    shape = tuple(int(d) for d in shape)
    if low_rank not in LOW_RANK_CHOICES:
        raise HyperparameterError(
            f"{scheme}: low_rank={low_rank!r} is not valid. Valid choices: {LOW_RANK_CHOICES}."
        )
    if len(shape) < 2:
        if low_rank == "keras":
            return (1.0, 1.0) if len(shape) == 0 else (float(shape[0]), float(shape[0]))
        # JAX refuses only the default in_axis=-2 here; explicit axes are taken as given.
        if isinstance(in_axis, int) and in_axis == -2:
            raise ShapeError(
                f"{scheme}: cannot compute fan_in/fan_out of a shape of rank {len(shape)} "
                f"{shape} with the default in_axis=-2; fans need rank >= 2 (pass explicit "
                "in_axis=/out_axis= or fan_in=/fan_out=, or use a scheme meant for biases such "
                "as 'torch_bias' or 'zeros')."
            )
    nd = len(shape)
    ins = _axes(in_axis, nd, "in_axis", scheme)
    outs = _axes(out_axis, nd, "out_axis", scheme)
    bats = _axes(batch_axis, nd, "batch_axis", scheme)
    # As in JAX, rf = size / (in_size * out_size * batch_size); axes may overlap (Flax's Embed
    # uses in_axis=-2, out_axis=0 on (N, F), which gives fan_in = F).
    in_size = math.prod(shape[a] for a in ins)
    out_size = math.prod(shape[a] for a in outs)
    batch_size = math.prod(shape[a] for a in bats)
    denom = in_size * out_size * batch_size
    if denom == 0:
        return 0.0, 0.0
    rf = math.prod(shape) / denom
    return float(in_size * rf), float(out_size * rf)


def keras_axes_fans(
    shape: Shape, input_axes: Sequence[int], output_axes: Sequence[int], scheme: str = "keras"
) -> tuple[float, float]:
    """Keras 3 `compute_fans(shape, input_axes, output_axes)`: the products of exactly the listed
    axes (no receptive field).

    Args:
      shape: the array's shape.
      input_axes: the axes whose product is fan_in.
      output_axes: the axes whose product is fan_out.
      scheme: the name error messages start with.

    Returns:
      `(fan_in, fan_out)` as floats.

    >>> keras_axes_fans((512, 8, 64), [0], [2])
    (512.0, 64.0)
    """
    shape = tuple(int(d) for d in shape)
    ins = _axes(tuple(input_axes), len(shape), "input_axes", scheme)
    outs = _axes(tuple(output_axes), len(shape), "output_axes", scheme)
    return float(math.prod(shape[a] for a in ins)), float(math.prod(shape[a] for a in outs))


def torch_fans(shape: Sequence[int]) -> tuple[float, float]:
    """Fans of a torch-layout tensor `(out, in, *k)`: torch `init._calculate_fan_in_and_fan_out`.

    `fan_in = shape[1] * prod(shape[2:])`, `fan_out = shape[0] * prod(shape[2:])`; raises for
    rank < 2, as torch does.

    Args:
      shape: a torch-layout shape `(out, in, *k)`.

    Returns:
      `(fan_in, fan_out)` as floats.

    Raises:
      ShapeError: for rank < 2.

    >>> import jaxinit
    >>> jaxinit.torch_fans((32, 16, 3, 3))  # a torch Conv2d weight
    (144.0, 288.0)
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) < 2:
        raise ShapeError(
            "torch_fans: fan in and fan out can not be computed for a tensor with fewer than 2 "
            f"dimensions (shape {shape})."
        )
    rf = math.prod(shape[2:])
    return float(shape[1] * rf), float(shape[0] * rf)


def keras_fans(shape: Sequence[int]) -> tuple[float, float]:
    """Fans of a Keras-layout kernel `(*k, in, out)`: Keras 3 `compute_fans`.

    Rank 0 gives `(1, 1)`, rank 1 `(n, n)`, rank 2 `(shape[0], shape[1])`, higher ranks
    `(shape[-2] * rf, shape[-1] * rf)` with `rf = prod(shape[:-2])`.

    Args:
      shape: a Keras-layout shape `(*k, in, out)`, any rank.

    Returns:
      `(fan_in, fan_out)` as floats.

    >>> import jaxinit
    >>> jaxinit.keras_fans((7,)), jaxinit.keras_fans(())
    ((7.0, 7.0), (1.0, 1.0))
    """
    return compute_fans(shape, low_rank="keras", scheme="keras_fans")


def fan_for_mode(fan_in: float, fan_out: float, mode: str) -> float:
    """The denominator `n` of variance scaling for `mode` (JAX's `variance_scaling`).

    Args:
      fan_in: the fan_in.
      fan_out: the fan_out.
      mode: "fan_in", "fan_out", "fan_avg" ((in + out) / 2) or "fan_geo_avg" (sqrt(in * out)).

    Returns:
      n.

    >>> fan_for_mode(4.0, 9.0, "fan_geo_avg")
    6.0
    """
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2.0
    if mode == "fan_geo_avg":
        return math.sqrt(fan_in * fan_out)
    raise HyperparameterError(f"unknown mode {mode!r}")  # validated earlier; defensive
