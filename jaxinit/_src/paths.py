"""Parameter paths and the stable per-parameter keys derived from them.

Paths are "/"-joined with no leading slash, as `flax.traverse_util.flatten_dict(sep="/")` gives
(`params/encoder/Dense_0/kernel`). The first component of a Linen or NNX path is the variable
collection (`params`, `batch_stats`, ...), so one policy reads the same on both.

Key guarantee: the key of a parameter is `fold_in(root_key, h(path))` where `h` is the 4-byte
BLAKE2b digest (`digest_size=4`, read little-endian) of the UTF-8 path (stable across
processes, unlike Python's salted `hash`). A parameter's values therefore depend only on the
root key and its own path: adding, removing or renaming another parameter changes nothing else,
eagerly, under `jit`, and in any process. A fused group (several parameters drawn as one
matrix) uses the key of its group id.
"""

from __future__ import annotations

import hashlib
from typing import Any

import jax
import numpy as np

from jaxinit._src.errors import JaxinitError
from jaxinit._src.types import PRNGKey


def is_key_array(value: Any) -> bool:
    """Whether `value` is a typed PRNG key array (or its abstract ShapeDtypeStruct): RNG
    state, not a parameter.

    Args:
      value: anything.

    Returns:
      True for `jax.random.key(...)` arrays; False for raw uint32 keys and everything else.

    >>> import jax
    >>> is_key_array(jax.random.key(0)), is_key_array(jax.random.PRNGKey(0))
    (True, False)
    """
    dtype = getattr(value, "dtype", None)
    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def check_key(key: Any, where: str = "key") -> None:
    """Raises a clear error unless `key` is one PRNG key.

    Without it an int or a batch of keys fails deep inside `fold_in` with a JAX TypeError that
    names neither the argument nor what to pass.

    Args:
      key: a typed key (`jax.random.key(0)`) or a raw key of the default implementation
        (`jax.random.PRNGKey(0)`, uint32 of shape (2,)).
      where: how the message names the argument.

    Raises:
      JaxinitError: naming what was passed and what is valid.
    """
    shape = getattr(key, "shape", None)
    dtype = getattr(key, "dtype", None)
    if is_key_array(key):
        if shape == ():
            return
        bad = f"an array of {shape} keys"
    elif dtype is not None and shape is not None:
        try:
            jax.random.wrap_key_data(key)
        except Exception:
            bad = f"an array of dtype {dtype} and shape {tuple(shape)}"
        else:
            if len(shape) == 1:
                return
            bad = f"an array of dtype {dtype} and shape {tuple(shape)}"
    else:
        bad = f"{type(key).__name__} {key!r}"
    raise JaxinitError(
        f"{where}: expected one PRNG key, got {bad}. Valid: jax.random.key(seed) or "
        "jax.random.PRNGKey(seed) (uint32, shape (2,)); for a batch of keys, init once per key."
    )


def path_hash(path: str) -> int:
    """The stable 32-bit hash of a parameter path (BLAKE2b, not Python's salted `hash`).

    Args:
      path: the "/"-joined parameter path.

    Returns:
      The 4-byte BLAKE2b digest of its UTF-8 bytes, read little-endian: the same in every
      process.

    >>> path_hash("params/Dense_0/kernel") == path_hash("params/Dense_0/kernel")
    True
    >>> path_hash("params/Dense_0/kernel") < 2**32
    True
    """
    return int.from_bytes(hashlib.blake2b(path.encode("utf-8"), digest_size=4).digest(), "little")


def path_key(root: PRNGKey, path: str) -> PRNGKey:
    """The key of the parameter at `path`: `fold_in(root, path_hash(path))`.

    Args:
      root: the key passed to `jaxinit.init`.
      path: the parameter's "/"-joined path (a fused group's id for a group).

    Returns:
      The parameter's own key: it depends only on `root` and `path`, so adding, removing or
      renaming another parameter changes nothing else.

    >>> import jax
    >>> k = path_key(jax.random.key(0), "params/Dense_0/kernel")
    >>> k.shape, bool((jax.random.key_data(k) == jax.random.key_data(
    ...     path_key(jax.random.key(0), "params/Dense_0/kernel"))).all())
    ((), True)
    """
    return jax.random.fold_in(root, np.uint32(path_hash(path)))


def keystr(entry: Any) -> str:
    """One path component of a `jax.tree_util` key path entry.

    Args:
      entry: a DictKey, SequenceKey, GetAttrKey or FlattenedIndexKey.

    Returns:
      The key, index or attribute name as a string.
    """
    if isinstance(entry, jax.tree_util.DictKey):
        return str(entry.key)
    if isinstance(entry, jax.tree_util.SequenceKey):
        return str(entry.idx)
    if isinstance(entry, jax.tree_util.GetAttrKey):
        return str(entry.name)
    if isinstance(entry, jax.tree_util.FlattenedIndexKey):
        return str(entry.key)
    return str(entry)
