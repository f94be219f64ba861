"""Schemes the ported-model presets need that torch's layer defaults do not have.

`padded_normal`: Hugging Face's `PreTrainedModel._init_weights` draws every `nn.Embedding` from
N(0, initializer_range) and then zeroes the `padding_idx` row (transformers 5.24
`modeling_utils.py`); torch's own `nn.Embedding` default (`torch_embedding`) is N(0, 1) with
that row zeroed, so the zero row has to go with any std.
"""

from __future__ import annotations

import math

from jaxinit._src.errors import HyperparameterError, ShapeError
from jaxinit._src.registry import register
from jaxinit._src.sampling import make_initializer, rand_normal
from jaxinit._src.types import Array, Initializer, Stats


@register("padded_normal", family="layer_default")
def padded_normal(std: float, mean: float = 0.0, padding_idx: int | None = None) -> Initializer:
    """N(mean, std^2) with the `padding_idx` row (axis 0) set to zero: an embedding table
    with a padding token, as Hugging Face initializes it.

    A negative `padding_idx` counts from the end (torch wraps it to `n + padding_idx`).

    Formula: w ~ N(mean, std^2); w[padding_idx] = 0
    Source: transformers `PreTrainedModel._init_weights` on `nn.Embedding` (`normal_(mean=0,
    std=initializer_range)`, then `zeros_(weight[padding_idx])`).

    Args:
      std: the standard deviation (> 0), the model's `initializer_range`.
      mean: the mean.
      padding_idx: the row (axis 0) set to zero, or None.

    Returns:
      The initializer, for rank >= 2.

    >>> import jax, jaxinit
    >>> w = jaxinit.get("padded_normal", std=0.02, padding_idx=0)(jax.random.key(0), (3, 2))
    >>> w[0].tolist()
    [0.0, 0.0]
    """
    for k, v in (("std", std), ("mean", mean)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise HyperparameterError(f"padded_normal: {k}={v!r} must be a finite number.")
    if std <= 0:
        raise HyperparameterError(f"padded_normal: std={std!r} must be > 0.")
    if padding_idx is not None and (
        isinstance(padding_idx, bool) or not isinstance(padding_idx, int)
    ):
        raise HyperparameterError(
            f"padded_normal: padding_idx={padding_idx!r} must be an integer or None."
        )
    mean, std = float(mean), float(std)

    def check(shape):
        if padding_idx is not None and not -shape[0] <= padding_idx < shape[0]:
            raise ShapeError(
                f"padded_normal: padding_idx={padding_idx} is out of range for "
                f"{shape[0]} rows (shape {shape})."
            )

    def sample(key, shape, cd) -> Array:
        w = mean + std * rand_normal(key, shape, cd)
        if padding_idx is not None:
            w = w.at[padding_idx % shape[0]].set(0.0)
        return w

    return make_initializer(
        "padded_normal",
        sample,
        hyperparameters={"std": std, "mean": mean, "padding_idx": padding_idx},
        stats=lambda shape: Stats(mean, std, -math.inf, math.inf),
        min_rank=2,
        check=check,
    )
