"""Parameter paths and the stable per-parameter keys derived from them.

Paths are "/"-joined with no leading slash, as `flax.traverse_util.flatten_dict(sep="/")` gives
(`params/encoder/Dense_0/kernel`). The first component of a Linen or NNX path is the variable
collection (`params`, `batch_stats`, ...), so one policy reads the same on both.

Key guarantee: the key of a parameter is `fold_in(root_key, h(path))` where `h` is the first
32 bits of the BLAKE2b digest of the UTF-8 path (stable across processes, unlike Python's salted
`hash`). A parameter's values therefore depend only on the root key and its own path: adding,
removing or renaming another parameter changes nothing else, eagerly, under `jit`, and in any
process. A fused group (several parameters drawn as one matrix) uses the key of its group id.
"""

from __future__ import annotations

import hashlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit._src.types import PRNGKey


def path_hash(path: str) -> int:
    """The stable 32-bit hash of `path` (BLAKE2b, not Python's salted `hash`)."""
    return int.from_bytes(hashlib.blake2b(path.encode("utf-8"), digest_size=4).digest(), "little")


def path_key(root: PRNGKey, path: str) -> PRNGKey:
    """The key of the parameter at `path`: `fold_in(root, path_hash(path))`."""
    return jax.random.fold_in(as_key(root), np.uint32(path_hash(path)))


def path_keys(root: PRNGKey, paths: list[str]) -> PRNGKey:
    """Keys of many paths at once (equal, key by key, to `path_key`)."""
    data = jnp.asarray(np.array([path_hash(p) for p in paths], dtype=np.uint32))
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(as_key(root), data)


def as_key(key: Any) -> PRNGKey:
    """Accepts a new-style typed key or a legacy uint32[2] key; returns it unchanged."""
    return key


def keystr(entry: Any) -> str:
    """One path component of a `jax.tree_util` key path entry."""
    if isinstance(entry, jax.tree_util.DictKey):
        return str(entry.key)
    if isinstance(entry, jax.tree_util.SequenceKey):
        return str(entry.idx)
    if isinstance(entry, jax.tree_util.GetAttrKey):
        return str(entry.name)
    if isinstance(entry, jax.tree_util.FlattenedIndexKey):
        return str(entry.key)
    return str(entry)


def join(parts: Any) -> str:
    """Joins path components with "/"."""
    return "/".join(str(p) for p in parts)
