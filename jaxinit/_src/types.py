"""Types shared across jaxinit (cf. `optax/_src/base.py`, `flax/typing.py`)."""

from __future__ import annotations

from typing import Any, Literal, Protocol, Sequence, Union

import jax

PRNGKey = jax.Array
Shape = Sequence[int]
DType = Any  # anything `jnp.dtype` accepts
Array = jax.Array
Path = str  # "/"-joined parameter path without a leading slash, e.g. "params/Dense_0/kernel"
Axes = Union[int, Sequence[int]]

FanMode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
Distribution = Literal["truncated_normal", "normal", "uniform"]
Fallback = Literal["keep", "strict"]


class Initializer(Protocol):
    """The contract of `jax.nn.initializers.Initializer`: `init(key, shape, dtype) -> Array`."""

    def __call__(self, key: PRNGKey, shape: Shape, dtype: DType | None = None) -> Array: ...
