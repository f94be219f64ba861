"""threefry2x32 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3") as JAX
computes it (jax/_src/prng.py `_threefry2x32_lowering`), written once over an array namespace:
NumPy derives keys on the host (`host_fold_in`, `host_split`), jnp makes the bulk bits inside
XLA (`threefry_bits`). Both are bit-identical to JAX's default partitionable threefry
(`jax_threefry_partitionable=True`); tests/test_draw.py checks them against `jax.random`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_KS_PARITY = 0x1BD11BDA  # the Threefish key-schedule parity constant


def _threefry2x32(xp, k1, k2, x0, x1):
    u32 = np.uint32
    ks = (k1, k2, k1 ^ k2 ^ u32(_KS_PARITY))
    x0 = x0 + ks[0]
    x1 = x1 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = (x1 << u32(r)) | (x1 >> u32(32 - r))
            x1 = x0 ^ x1
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + u32(i + 1)
    return x0, x1


def host_threefry2x32(k1, k2, x0, x1) -> tuple[np.ndarray, np.ndarray]:
    """threefry2x32 over NumPy uint32 arrays, with XLA's wrapping arithmetic.

    Args:
        k1, k2: the two uint32 words of the key.
        x0, x1: the counters' high and low words (uint32 arrays of one shape).

    Returns:
        The two output words, uint32 arrays of the counters' shape.

    Example:
        >>> import numpy as np
        >>> [int(w[0]) for w in host_threefry2x32(0, 0, [0], [0])]  # Random123 known answer
        [1797259609, 2579123966]
    """
    with np.errstate(over="ignore"):
        return _threefry2x32(
            np, np.uint32(k1), np.uint32(k2), np.asarray(x0, np.uint32), np.asarray(x1, np.uint32)
        )


def host_fold_in(key_data: np.ndarray, data) -> np.ndarray:
    """`jax.random.key_data(jax.random.fold_in(key, data))` for a threefry key, on the host:
    `threefry_2x32(key, [0, data])` (jax/_src/prng.py `_threefry_fold_in`).

    Args:
        key_data: the key's two uint32 words, shape (2,).
        data: the 32-bit integer folded in, or a 1-D array of them (one NumPy call for all).

    Returns:
        The new key's words: a uint32 array of shape (2,), or (len(data), 2) for an array.
    """
    many = np.ndim(data) > 0
    data = np.atleast_1d(np.asarray(data, np.uint32))
    o0, o1 = host_threefry2x32(key_data[0], key_data[1], np.zeros_like(data), data)
    keys = np.stack([o0, o1], axis=-1)
    return keys if many else keys[0]


def host_split(key_data: np.ndarray, n: int) -> np.ndarray:
    """`key_data(split(key, n))` with partitionable threefry, on the host: the counters are
    (hi, lo) of 0..n-1 (jax/_src/prng.py `_threefry_split_foldlike`).

    Args:
        key_data: the key's two uint32 words, shape (2,).
        n: how many keys.

    Returns:
        The keys' words, a uint32 array of shape (n, 2).
    """
    idx = np.arange(n, dtype=np.uint64)
    hi = (idx >> np.uint64(32)).astype(np.uint32)
    lo = (idx & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    o0, o1 = host_threefry2x32(key_data[0], key_data[1], hi, lo)
    return np.stack([o0, o1], axis=-1)


def threefry_bits(key_data, offset_hi, offset_lo, n: int):
    """`jax.random.bits(key, (N,), uint32)[offset : offset + n]` for any N > offset + n, as jnp
    operations: the counter of flat index i is (i >> 32, i & 0xFFFFFFFF), the output x0 ^ x1.

    Args:
        key_data: the key's two uint32 words (a jnp or NumPy array of shape (2,)).
        offset_hi, offset_lo: the flat offset as two uint32 words (`split_offset`), added with
            carry, so indices >= 2**32 follow JAX's layout.
        n: how many values (static).

    Returns:
        A uint32 jnp array of shape (n,).
    """
    lo = offset_lo + jax.lax.iota(jnp.uint32, n)
    hi = offset_hi + (lo < offset_lo).astype(jnp.uint32)
    x0, x1 = _threefry2x32(jnp, key_data[0], key_data[1], hi, lo)
    return x0 ^ x1


def split_offset(offset: int) -> tuple[np.uint32, np.uint32]:
    """A flat offset as the (hi, lo) uint32 words `threefry_bits` takes.

    Args:
        offset: a non-negative integer below 2**64.

    Returns:
        `(offset >> 32, offset & 0xFFFFFFFF)` as NumPy uint32 scalars.

    Example:
        >>> [int(w) for w in split_offset(2**32 + 5)]
        [1, 5]
    """
    return np.uint32(offset >> 32), np.uint32(offset & 0xFFFFFFFF)
