"""Types shared across jaxinit (cf. `optax/_src/base.py`, `flax/typing.py`).

`Initializer` is the contract every registered scheme's initializer satisfies and the draw
engine, `jaxinit.explain` and the policy engine rely on; `Stats` is what its `.stats(shape)`
returns.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Literal, Protocol, Sequence, Union, runtime_checkable

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


@dataclasses.dataclass(frozen=True)
class Stats:
    """Theoretical moments and support of one initializer for one shape.

    Attributes:
      mean: the mean of every entry.
      std: the standard deviation of every entry (0 for a constant fill).
      low: the smallest value the scheme can draw (`-inf` for an untruncated normal).
      high: the largest value the scheme can draw (`inf` for an untruncated normal).

    >>> import jaxinit
    >>> jaxinit.get("uniform_", low=-1.0, high=1.0).stats((3, 2)).high
    1.0
    """

    mean: float
    std: float
    low: float
    high: float


@runtime_checkable
class Initializer(Protocol):
    """What a built scheme is: `jax.nn.initializers.Initializer` plus what jaxinit reads.

    `init(key, shape, dtype=None, out_sharding=None) -> Array` is JAX's contract (the array has
    exactly `shape` and `dtype`, float32 by default; `out_sharding` is passed on to
    `jax.lax.with_sharding_constraint` as JAX does). On top of it, every initializer that
    `jaxinit.get` builds (`sampling.make_initializer` attaches them) has:

    Attributes:
      scheme: its canonical registry name, e.g. ``"glorot_uniform"``.
      hyperparameters: the hyperparameters it was built with (the draw engine keys its compile
        cache on them; `jaxinit.explain` prints them).
      stats: `stats(shape) -> Stats | None`, the theoretical mean, std and support for `shape`
        (None where there is no closed form, e.g. `eye`, `sparse`).
      constant_value: the fill value of a constant scheme (`zeros`, `ones`, `constant(x)` with
        a number), which the draw engine fills on the host without compiling; None otherwise.

    Optional, present only where meaningful (read with `getattr(init, name, None)`):
    `fans(shape) -> (fan_in, fan_out)` for a scheme with its own fan rule (Keras depthwise
    glorot), which `jaxinit.explain` shows instead of the generic fans; `formula`, the formula
    of a variance-scaling specialisation; `ignores_key = True` on a `tf_seed=` initializer,
    which draws from its seed.

    >>> import jaxinit
    >>> init = jaxinit.get("zeros")
    >>> isinstance(init, jaxinit.Initializer), init.scheme, init.constant_value
    (True, 'zeros', 0.0)
    """

    scheme: str
    hyperparameters: dict[str, Any]
    stats: Callable[[tuple[int, ...]], Stats | None]
    constant_value: float | None

    def __call__(
        self, key: PRNGKey, shape: Shape, dtype: DType | None = None, out_sharding: Any = None
    ) -> Array: ...
