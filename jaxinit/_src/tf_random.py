"""TensorFlow's stateless random numbers, reproduced in JAX/XLA (for `tf_seed=`).

`tf.keras.initializers.GlorotUniform(seed=0)(shape=(2, 2))` draws with TF's stateless ops
(`tf.random.stateless_uniform(shape, seed=[0, 0], ...)`), whose algorithm is fixed by TF's CPU
kernels (`core/kernels/stateless_random_ops.cc`, `core/lib/random/philox_random.h`,
`random_distributions.h`, `random_op_cpu.h`):

* **Key derivation** (`GenerateKey`): the two seed words, sign-extended to uint64, form the
  128-bit counter (lo s0, hi s0, lo s1, hi s1); one Philox4x32-10 block of it under the key
  (0x3EC8F720, 0x02461E29) gives m; the stream's key is (m0, m1), its counter (0, 0, m2, m3).
* **Stream**: block i is Philox4x32-10 at counter + i (a 128-bit add); a block gives 4 uint32
  words, consumed in order.
* **uniform**: float32 = bitcast((127 << 23) | (w & 0x7FFFFF)) - 1 (one word each), float16
  the low 10 bits and bfloat16 the low 7 bits of one word, float64 52 bits of two words; then
  `rnd * (maxval - minval) + minval` in the dtype (`stateless_random_uniform`).
* **normal**: Box-Muller on word pairs (`BoxMullerFloat`: u1 = max(U(w0), 1e-7),
  v = 2*pi*U(w1) with pi a double, `sqrt(-2 log u1) * (sin v, cos v)`); float16/bfloat16 are
  the float32 values cast; float64 uses 4 words per pair; then `rnd * stddev + mean`.
* **truncated normal**: groups of 4 outputs (2 for float64), group g starting at block
  256 * g (`kReservedSamplesPerOutput`); pairs of words are Box-Mullered in order and a value
  is kept while |x| < 2, until the group is full; then `rnd * stddev + mean`.

Philox needs a 32 x 32 -> 64-bit product; it is computed from 16-bit halves with uint32
arithmetic only, so it works with `jax_enable_x64` off and on every backend. The products
before an addition are fenced by `optimization_barrier` so that no backend fuses them into an
FMA (TF rounds the product first).

The uniform-based draws are bit-identical to TF. The normal-based ones differ from TF's
glibc `sincosf`/`logf` only by the rounding of XLA's sin, cos and log (off by one ulp for
about 1% and 14% of arguments): measured against 869 recorded TF 2.21 draws, 94% of the
normal-based float32 values are bit-identical and all are within 2 ulp of
max(|x - mean|, stddev); float16 and bfloat16 draws were all bit-identical (tests/test_tf_seed.py).
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit._src.errors import HyperparameterError, ShapeError
from jaxinit._src.sampling import check_overflow, check_shape_dtype
from jaxinit._src.types import Initializer

# Philox4x32 constants (Salmon et al. 2011; TF's philox_random.h).
PHILOX_M0 = 0xD2511F53  # kPhiloxM4x32A: round multiplier for word 0
PHILOX_M1 = 0xCD9E8D57  # kPhiloxM4x32B: round multiplier for word 2
PHILOX_W0 = 0x9E3779B9  # kPhiloxW32A: key schedule increment (golden ratio)
PHILOX_W1 = 0xBB67AE85  # kPhiloxW32B: key schedule increment (sqrt(3) - 1)
PHILOX_ROUNDS = 10
# The fixed key TF's GenerateKey scrambles the user's seed with (stateless_random_ops.cc).
TF_SEED_SCRAMBLE_KEY = (0x3EC8F720, 0x02461E29)
# TF's truncated normal reserves 256 Philox blocks per output group (random_op_cpu.h).
TF_RESERVED_BLOCKS_PER_GROUP = 256
TF_BOX_MULLER_EPSILON = 1.0e-7  # BoxMullerFloat/Double: u1 is clamped to at least this
TF_TRUNCATE_VALUE = 2.0  # TruncatedNormalDistribution keeps |x| < 2
# Keras 3's TF backend maps int64 seeds into int32 with floormod(seed, int32.max - 1).
KERAS3_SEED_MODULUS = 2**31 - 2
_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


# --------------------------------------------------------------------------------------------
# Philox4x32-10 on the host (Python ints), for the key derivation.


def _philox_host(counter: Sequence[int], key: Sequence[int]) -> tuple[int, int, int, int]:
    c0, c1, c2, c3 = (int(c) & _MASK32 for c in counter)
    k0, k1 = (int(k) & _MASK32 for k in key)
    for _ in range(PHILOX_ROUNDS):
        p0, p1 = PHILOX_M0 * c0, PHILOX_M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> 32) ^ c1 ^ k0,
            p1 & _MASK32,
            (p0 >> 32) ^ c3 ^ k1,
            p0 & _MASK32,
        )
        k0, k1 = (k0 + PHILOX_W0) & _MASK32, (k1 + PHILOX_W1) & _MASK32
    return c0, c1, c2, c3


def philox4x32_host(counter: Sequence[int], key: Sequence[int]) -> tuple[int, int, int, int]:
    """One Philox4x32-10 block on the host (Random123's `philox4x32_10`).

    Args:
      counter: four 32-bit words.
      key: two 32-bit words.

    Returns:
      The four output words, as Python ints.
    """
    return _philox_host(counter, key)


def key_counter(seed: Sequence[int]) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """TF's `GenerateKey`: the Philox key and start counter of a stateless seed pair.

    Args:
      seed: the pair `(s0, s1)` of int64 seed words.

    Returns:
      `((k0, k1), (c0, c1, c2, c3))`: the stream's key and start counter.
    """
    s0, s1 = (int(s) & _MASK64 for s in seed)  # sign-extended to uint64, as TF does
    counter = (s0 & _MASK32, s0 >> 32, s1 & _MASK32, s1 >> 32)
    m = _philox_host(counter, TF_SEED_SCRAMBLE_KEY)
    return (m[0], m[1]), (0, 0, m[2], m[3])


def stateless_seed(tf_seed: Any, where: str = "tf_seed") -> tuple[int, int]:
    """The stateless seed pair TF draws with for `tf_seed`.

    An int is a Keras `seed=`: Keras 3 (`tf.keras` since TF 2.16) passes
    `[seed % (2**31 - 2), 0]`; tf_keras 2.x passes `[seed, 0]`, which agrees for
    0 <= seed < 2**31 - 2. A pair `(s0, s1)` is the raw `seed=` of `tf.random.stateless_*`
    (so `(-1, 0)` reproduces tf_keras's `seed=-1`).

    Args:
      tf_seed: an int (a Keras seed) or a pair of ints.
      where: what error messages start with.

    Returns:
      The pair `(s0, s1)`.

    Raises:
      HyperparameterError: for anything else, or words outside int64.

    >>> stateless_seed(2**31), stateless_seed((-1, 0))
    ((2, 0), (-1, 0))
    """

    def word(v):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise HyperparameterError(
                f"{where}={tf_seed!r} must be an int (a Keras seed) or a pair of ints (a "
                "tf.random.stateless_* seed)."
            )
        v = int(v)
        if not -(2**63) <= v < 2**63:
            raise HyperparameterError(
                f"{where}={tf_seed!r}: {v} does not fit TF's int64 seed (-2**63 <= s < 2**63)."
            )
        return v

    if isinstance(tf_seed, (list, tuple)):
        if len(tf_seed) != 2:
            raise HyperparameterError(
                f"{where}={tf_seed!r}: a stateless seed is a pair (s0, s1), got "
                f"{len(tf_seed)} values."
            )
        return word(tf_seed[0]), word(tf_seed[1])
    return word(tf_seed) % KERAS3_SEED_MODULUS, 0


# --------------------------------------------------------------------------------------------
# Philox4x32-10 in JAX (uint32 only).


def _u32(x):
    return jnp.asarray(x, jnp.uint32)


def _mulhilo(a: int, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(low, high) 32-bit words of the 64-bit product of the constant `a` and uint32 `b`,
    from 16-bit halves (every partial product fits 32 bits), so no uint64 is needed."""
    a_lo, a_hi = _u32(a & 0xFFFF), _u32(a >> 16)
    b_lo, b_hi = b & _u32(0xFFFF), b >> _u32(16)
    ll, lh, hl, hh = a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi
    mask = _u32(0xFFFF)
    cross = (ll >> _u32(16)) + (lh & mask) + (hl & mask)  # < 3 * 2**16
    hi = hh + (lh >> _u32(16)) + (hl >> _u32(16)) + (cross >> _u32(16))
    lo = _u32(a) * b  # wraps modulo 2**32
    return lo, hi


def philox4x32(c0, c1, c2, c3, key):
    """Philox4x32-10 in JAX, with uint32 arithmetic only.

    Args:
      c0: counter word 0 (uint32 arrays, broadcast together).
      c1: counter word 1.
      c2: counter word 2.
      c3: counter word 3.
      key: two uint32 scalars, Python ints or traced.

    Returns:
      The four output words, each a uint32 array of the broadcast shape.
    """
    c = jnp.broadcast_arrays(*(_u32(c) for c in (c0, c1, c2, c3)))

    def round_(_, state):
        (c0, c1, c2, c3), (k0, k1) = state
        lo0, hi0 = _mulhilo(PHILOX_M0, c0)
        lo1, hi1 = _mulhilo(PHILOX_M1, c2)
        c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        return c, (k0 + _u32(PHILOX_W0), k1 + _u32(PHILOX_W1))  # keys wrap modulo 2**32

    # A loop, not 10 unrolled rounds: the same values, and a program that compiles fast.
    c, _ = jax.lax.fori_loop(0, PHILOX_ROUNDS, round_, (tuple(c), (_u32(key[0]), _u32(key[1]))))
    return c


def _stream_state(seed: Sequence[int]) -> np.ndarray:
    """(k0, k1, c2, c3) of the seed's stream as a uint32 array: an argument of the compiled
    samplers, so that a new seed does not compile anything."""
    (k0, k1), (_, _, c2, c3) = key_counter(seed)
    return np.array([k0, k1, c2, c3], np.uint32)


def _blocks(state, block_lo, block_hi=None):
    """The 4 words of the stream's blocks at offsets `block_hi * 2**32 + block_lo` (uint32
    arrays) from the start counter (0, 0, c2, c3): TF's 128-bit counter add (the start's low
    64 bits are 0, so the offset's words are the counter's)."""
    hi = jnp.zeros_like(block_lo) if block_hi is None else block_hi
    return philox4x32(block_lo, hi, state[2], state[3], (state[0], state[1]))


def _words(state, n_words: int) -> jax.Array:
    """The first `n_words` uint32 words of the stream, in order."""
    n_blocks = -(-n_words // 4)
    b = jnp.arange(n_blocks, dtype=jnp.uint32)
    w = jnp.stack(_blocks(state, b), axis=-1)  # (n_blocks, 4), in stream order
    return w.reshape(-1)[:n_words]


# --------------------------------------------------------------------------------------------
# Bits to floats, as TF converts them.


def _unit_float32(w):
    """Uint32ToFloat: [0, 1) from the low 23 bits."""
    bits = _u32(127 << 23) | (w & _u32(0x7FFFFF))
    return jax.lax.bitcast_convert_type(bits, jnp.float32) - jnp.float32(1.0)


def _unit_float16(w):
    """Uint16ToHalf: [0, 1) from the low 10 bits."""
    bits = (_u32(15 << 10) | (w & _u32(0x3FF))).astype(jnp.uint16)
    return jax.lax.bitcast_convert_type(bits, jnp.float16) - jnp.float16(1.0)


def _unit_bfloat16(w):
    """Uint16ToBfloat16: [0, 1) from the low 7 bits."""
    bits = (_u32(127 << 7) | (w & _u32(0x7F))).astype(jnp.uint16)
    return jax.lax.bitcast_convert_type(bits, jnp.bfloat16) - jnp.bfloat16(1.0)


def _unit_float64(w_hi, w_lo):
    """Uint64ToDouble: [0, 1) from 20 bits of the first word and all 32 of the second."""
    man = ((w_hi & _u32(0xFFFFF)).astype(jnp.uint64) << jnp.uint64(32)) | w_lo.astype(jnp.uint64)
    bits = (jnp.uint64(1023) << jnp.uint64(52)) | man
    return jax.lax.bitcast_convert_type(bits, jnp.float64) - jnp.float64(1.0)


def _fence(x):
    # Keeps XLA from contracting `x * a + b` into an FMA (TF rounds the product first).
    return jax.lax.optimization_barrier(x)


def _split(a):
    """Dekker's split of float32 `a` into two 12-bit halves (a == hi + lo exactly)."""
    c = jnp.float32(4097.0) * a  # 2**12 + 1
    hi = c - (c - a)
    return hi, a - hi


# 2 * M_PI as TF's BoxMullerFloat has it: `2.0f * M_PI` is a double.
_TWO_PI = 2.0 * math.pi
_TWO_PI_HI = float(np.float32(_TWO_PI))
_TWO_PI_LO = float(np.float32(_TWO_PI - _TWO_PI_HI))


def _two_pi_times(u):
    """float32(2 * pi * u) with the product taken in double, as TF's BoxMullerFloat does,
    computed with float32 only: an error-free product of u and float32(2 pi) plus the
    correction from 2 pi's next 24 bits. Equal to the double-rounded result except when the
    exact product lies within 2**-53 of a float32 rounding boundary."""
    hi = jnp.float32(_TWO_PI_HI)
    p = u * hi
    ah, al = _split(u)
    bh, bl = _split(hi)
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # exact: u * hi - p
    return p + (err + u * jnp.float32(_TWO_PI_LO))


def _box_muller_float32(w0, w1):
    u1 = jnp.maximum(_unit_float32(w0), jnp.float32(TF_BOX_MULLER_EPSILON))
    v1 = _two_pi_times(_unit_float32(w1))
    u2 = jnp.sqrt(jnp.float32(-2.0) * jnp.log(u1))
    return jnp.sin(v1) * u2, jnp.cos(v1) * u2


def _box_muller_float64(w0, w1, w2, w3):
    u1 = jnp.maximum(_unit_float64(w0, w1), jnp.float64(TF_BOX_MULLER_EPSILON))
    v1 = jnp.float64(_TWO_PI) * _unit_float64(w2, w3)
    u2 = jnp.sqrt(jnp.float64(-2.0) * jnp.log(u1))
    return jnp.sin(v1) * u2, jnp.cos(v1) * u2


# --------------------------------------------------------------------------------------------
# The three stateless distributions (unscaled), flat.


def _check_dtype(dtype) -> Any:
    dtype = jnp.dtype(dtype)
    if dtype not in (jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64):
        raise ValueError(f"tf_random: dtype {dtype} is not a TF float dtype.")
    if dtype == jnp.float64 and not jax.config.jax_enable_x64:
        raise ShapeError(
            "tf_seed: float64 draws need `jax_enable_x64` (TF's float64 stream takes 52 bits "
            "per value)."
        )
    return dtype


def uniform_unit(state, n: int, dtype) -> jax.Array:
    """`gen_stateless_random_ops_v2.stateless_random_uniform_v2`: n values in [0, 1).

    Args:
      state: the stream's `(k0, k1, c2, c3)` (uint32).
      n: how many values.
      dtype: float16, bfloat16, float32 or float64.

    Returns:
      The n values, flat.
    """
    dtype = _check_dtype(dtype)
    if dtype == jnp.float64:
        w = _words(state, 2 * n).reshape(n, 2)
        return _unit_float64(w[:, 0], w[:, 1])
    w = _words(state, n)
    conv = {"float16": _unit_float16, "bfloat16": _unit_bfloat16}.get(dtype.name, _unit_float32)
    return conv(w)


def normal_unit(state, n: int, dtype) -> jax.Array:
    """`stateless_random_normal_v2`: n standard normals (Box-Muller, one block per group).

    Args:
      state: the stream's `(k0, k1, c2, c3)` (uint32).
      n: how many values.
      dtype: float16, bfloat16, float32 or float64.

    Returns:
      The n values, flat.
    """
    dtype = _check_dtype(dtype)
    if dtype == jnp.float64:
        n_blocks = -(-n // 2)
        w = _blocks(state, jnp.arange(n_blocks, dtype=jnp.uint32))
        d0, d1 = _box_muller_float64(*w)
        return jnp.stack([d0, d1], axis=-1).reshape(-1)[:n]
    w = _words(state, 2 * (-(-n // 2))).reshape(-1, 2)
    f0, f1 = _box_muller_float32(w[:, 0], w[:, 1])
    return jnp.stack([f0, f1], axis=-1).reshape(-1)[:n].astype(dtype)


# Pairs of words drawn for every truncated-normal group at once; a group still short after
# them (probability ~1e-15 for float32) is finished by a loop over further pairs.
_TN_FIRST_PAIRS = 8


def truncated_unit(state, n: int, dtype) -> jax.Array:
    """`stateless_truncated_normal_v2`: n standard normals with |x| < 2, by TF's rejection
    (groups of 4 values, 2 for float64, each from its own 256 reserved blocks).

    Args:
      state: the stream's `(k0, k1, c2, c3)` (uint32).
      n: how many values.
      dtype: float16, bfloat16, float32 or float64.

    Returns:
      The n values, flat.
    """
    dtype = _check_dtype(dtype)
    wide = dtype == jnp.float64
    per_group = 2 if wide else 4
    n_groups = -(-n // per_group)
    # A group's blocks: group g starts at block g * (256 * per_group / 4).
    stride = TF_RESERVED_BLOCKS_PER_GROUP * per_group // 4
    g = jnp.arange(n_groups, dtype=jnp.uint32)
    shift = int(math.log2(stride))
    g_lo, g_hi = g << _u32(shift), g >> _u32(32 - shift)

    def pair(p):
        """The two normals of pair p (a traced index) of every group."""
        if wide:  # 4 words per pair: pair p is block p of the group
            w = _blocks(state, g_lo + _u32(p), g_hi)
            return _box_muller_float64(*w)
        w = _blocks(state, g_lo + (_u32(p) >> _u32(1)), g_hi)
        odd = (_u32(p) & _u32(1)).astype(bool)
        return _box_muller_float32(jnp.where(odd, w[2], w[0]), jnp.where(odd, w[3], w[1]))

    # The first pairs of every group at once: blocks [0, n_first) of each group's region.
    n_first = _TN_FIRST_PAIRS if wide else _TN_FIRST_PAIRS // 2
    j = jnp.arange(n_first, dtype=jnp.uint32)
    w = _blocks(state, g_lo[:, None] + j, jnp.broadcast_to(g_hi[:, None], (n_groups, n_first)))
    if wide:
        f = _box_muller_float64(*w)  # each (n_groups, n_first)
    else:
        a, b = _box_muller_float32(w[0], w[1]), _box_muller_float32(w[2], w[3])
        f = (jnp.stack([a[0], b[0]], -1), jnp.stack([a[1], b[1]], -1))  # pairs 2j, 2j + 1
    cand = jnp.stack([f[0].reshape(n_groups, -1), f[1].reshape(n_groups, -1)], -1)
    cand = cand.reshape(n_groups, -1)  # (n_groups, 2 * pairs), in TF's order
    ok = jnp.abs(cand) < TF_TRUNCATE_VALUE
    rank = jnp.cumsum(ok, axis=1) - 1
    slots = []
    for s in range(per_group):
        idx = jnp.argmax(ok & (rank == s), axis=1)
        slots.append(jnp.take_along_axis(cand, idx[:, None], axis=1)[:, 0])
    res = jnp.stack(slots, axis=1)
    count = jnp.minimum(jnp.sum(ok, axis=1), per_group)
    rows = jnp.arange(n_groups)
    max_pairs = stride * (2 if not wide else 1)

    def cond(state):
        p, _, count = state
        return (p < max_pairs) & jnp.any(count < per_group)

    def body(state):
        p, res, count = state
        for f in pair(p):
            take = (jnp.abs(f) < TF_TRUNCATE_VALUE) & (count < per_group)
            at = jnp.minimum(count, per_group - 1)
            res = res.at[rows, at].set(jnp.where(take, f, res[rows, at]))
            count = count + take
        return p + 1, res, count

    _, res, _ = jax.lax.while_loop(cond, body, (jnp.int32(_TN_FIRST_PAIRS), res, count))
    return res.reshape(-1)[:n].astype(dtype)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _scaled(which: str, n: int, dtype, state, a, b):
    """rnd * (b - a) + a (uniform) or rnd * b + a (normals), in the dtype, as TF's Python
    wrappers compute it; one compiled program per (distribution, size, dtype)."""
    dtype = jnp.dtype(dtype)
    if which == "uniform":
        return _fence(uniform_unit(state, n, dtype) * (b - a)) + a
    unit = normal_unit if which == "normal" else truncated_unit
    return _fence(unit(state, n, dtype) * b) + a


def _sample(which, seed, shape, dtype, a, b):
    dtype = _check_dtype(dtype)
    shape = tuple(shape)
    n = math.prod(shape)
    if n == 0:
        return jnp.zeros(shape, dtype)
    # The parameters are converted to the dtype on the host (TF's convert_to_tensor).
    args = (_stream_state(seed), np.asarray(a, dtype), np.asarray(b, dtype))
    return _scaled(which, n, dtype.name, *args).reshape(shape)


def stateless_uniform(seed, shape, dtype, minval: float = 0.0, maxval: float = 1.0):
    """`tf.random.stateless_uniform(shape, seed, minval, maxval, dtype)` (float dtypes).

    Args:
      seed: the stateless seed pair.
      shape: the shape.
      dtype: float16, bfloat16, float32 or float64 (under x64).
      minval: the lower bound.
      maxval: the upper bound.

    Returns:
      TF's values, bit for bit.

    >>> import numpy as np
    >>> x = np.asarray(stateless_uniform((0, 0), (3,), "float32"))
    >>> x.shape, bool(((0 <= x) & (x < 1)).all())
    ((3,), True)
    """
    return _sample("uniform", seed, shape, dtype, minval, maxval)


def stateless_normal(seed, shape, dtype, mean: float = 0.0, stddev: float = 1.0):
    """`tf.random.stateless_normal(shape, seed, mean, stddev, dtype)`.

    Args:
      seed: the stateless seed pair.
      shape: the shape.
      dtype: float16, bfloat16, float32 or float64 (under x64).
      mean: the mean.
      stddev: the standard deviation.

    Returns:
      TF's values (float32 within 2 ulp of TF's; see the module docstring).
    """
    return _sample("normal", seed, shape, dtype, mean, stddev)


def stateless_truncated_normal(seed, shape, dtype, mean: float = 0.0, stddev: float = 1.0):
    """`tf.random.stateless_truncated_normal(shape, seed, mean, stddev, dtype)`.

    Args:
      seed: the stateless seed pair.
      shape: the shape.
      dtype: float16, bfloat16, float32 or float64 (under x64).
      mean: the mean before truncation.
      stddev: the std before truncation (values lie within 2 stddev of the mean).

    Returns:
      TF's values (float32 within 2 ulp of TF's; see the module docstring).
    """
    return _sample("truncated", seed, shape, dtype, mean, stddev)


_SAMPLERS = {
    "uniform": stateless_uniform,
    "normal": stateless_normal,
    "truncated": stateless_truncated_normal,
}


# --------------------------------------------------------------------------------------------
# `tf_seed=` on the Keras-named schemes.

# What each Keras scheme draws, from the built (unseeded) initializer and the shape:
# (sampler, a, b) with (minval, maxval) for "uniform" and (mean, stddev) otherwise.
_VS_DISTRIBUTIONS = {
    "uniform": "uniform",
    "untruncated_normal": "normal",
    "normal": "truncated",  # Keras maps "normal" to the corrected truncated normal
    "truncated_normal": "truncated",
    "truncated_normal_uncorrected": "truncated",
}


def _params(kind: str, init, shape, distribution: str | None):
    hp = init.hyperparameters
    if kind == "uniform":
        return "uniform", float(hp["minval"]), float(hp["maxval"])
    if kind in ("normal", "truncated"):
        return kind, float(hp["mean"]), float(hp["stddev"])
    # Variance scaling: the numbers Keras computes (`limit = sqrt(3 * scale)`, `stddev =
    # sqrt(scale) / .8796...`) are exactly the support bounds / std of the built initializer.
    dist = _VS_DISTRIBUTIONS[distribution or hp["distribution"]]
    st = init.stats(shape)
    if dist == "uniform":
        return "uniform", st.low, st.high
    if dist == "normal":
        return "normal", 0.0, st.std
    return "truncated", 0.0, st.high / 2.0  # the support is +-2 stddev (exact halving)


def seeded(
    init: Initializer, kind: str, tf_seed: Any, distribution: str | None = None
) -> Initializer:
    """`init` (a built Keras scheme) drawing TF's numbers for `tf_seed` instead of from the key.

    Args:
      init: the built, unseeded initializer (its hyperparameters and `.stats` give TF's
        parameters).
      kind: "uniform", "normal", "truncated" or "vs" (see `tf_seedable`).
      tf_seed: an int (a Keras `seed=`) or a pair (a `tf.random.stateless_*` seed).
      distribution: the variance-scaling distribution, when fixed by the scheme.

    Returns:
      An initializer that ignores its key (None is fine): the seed decides.
    """
    scheme = init.scheme
    seed = stateless_seed(tf_seed, where=f"{scheme}: tf_seed")

    def seeded_init(key, shape, dtype=None, out_sharding=None):
        shape, dtype = check_shape_dtype(scheme, shape, dtype)
        if math.prod(shape) == 0:
            out = jnp.zeros(shape, dtype)
        else:
            _check_dtype(dtype)
            check_overflow(scheme, init.stats(shape), dtype)
            which, a, b = _params(kind, init, shape, distribution)
            if which == "uniform":
                # Keras 3's TF backend passes `tf.cast(minval, dtype)`: a Python float becomes
                # a float32 tensor first (so float64 bounds carry float32 precision).
                a, b = float(np.float32(a)), float(np.float32(b))
            out = _SAMPLERS[which](seed, shape, dtype, a, b)
        if out_sharding is not None:
            out = jax.lax.with_sharding_constraint(out, out_sharding)
        return out

    for attr in ("stats", "fans"):
        if hasattr(init, attr):
            setattr(seeded_init, attr, getattr(init, attr))
    seeded_init.scheme = scheme
    seeded_init.hyperparameters = dict(init.hyperparameters, tf_seed=tf_seed)
    seeded_init.constant_value = None
    seeded_init.ignores_key = True
    seeded_init.__name__ = seeded_init.__qualname__ = scheme
    return seeded_init


def tf_seedable(kind: str, distribution: str | None = None):
    """Decorates a Keras scheme's builder with a keyword-only `tf_seed=None`: when given, the
    initializer draws exactly what TF's Keras initializer with `seed=tf_seed` draws.

    Args:
      kind: "uniform" (minval/maxval), "normal" / "truncated" (mean/stddev) or "vs" (variance
        scaling).
      distribution: for "vs", the scheme's fixed distribution; None reads it from the built
        initializer's hyperparameters.

    Returns:
      A decorator; the decorated builder's signature and docstring gain `tf_seed`.
    """

    def deco(builder):
        sig = inspect.signature(builder)

        @functools.wraps(builder)
        def wrapped(*args, tf_seed=None, **kwargs):
            init = builder(*args, **kwargs)
            if tf_seed is None:
                return init
            return seeded(init, kind, tf_seed, distribution)

        param = inspect.Parameter("tf_seed", inspect.Parameter.KEYWORD_ONLY, default=None)
        wrapped.__signature__ = sig.replace(parameters=[*sig.parameters.values(), param])
        if wrapped.__doc__:
            wrapped.__doc__ += (
                "\n\n    `tf_seed=`: an int (Keras `seed=`) or a pair (a `tf.random.stateless_*` "
                "seed) draws TF's exact numbers; the key is then ignored."
            )
        return wrapped

    return deco
