"""The draw engine (jaxinit/_src/draw.py, its threefry in threefry.py): exact equality with
JAX's own sampling, counter arithmetic past 2**32, size classes and chunks, the fallback path,
and its compile counts.

Exact tests only: every value is compared bit for bit with what JAX computes for the same key.
"""

import gc
import math
import mmap

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend import random as jax_prng  # JAX's threefry over explicit counters

import jaxinit
from jaxinit._src import draw as draw_lib
from jaxinit._src import paths as paths_lib
from jaxinit._src import threefry

KEY = jax.random.key(7)
KD = np.asarray(jax.random.key_data(KEY))


def test_host_fold_in_and_split_equal_jax():
    hs = (0, 1, 12345, 2**31, 2**32 - 1)
    for h in hs:
        want = jax.random.key_data(jax.random.fold_in(KEY, np.uint32(h)))
        assert np.array_equal(threefry.host_fold_in(KD, h), np.asarray(want))
    want = [jax.random.key_data(jax.random.fold_in(KEY, np.uint32(h))) for h in hs]
    assert np.array_equal(threefry.host_fold_in(KD, np.array(hs, np.uint32)), np.stack(want))
    for n in (1, 2, 7, 64):
        want = jax.random.key_data(jax.random.split(KEY, n))
        assert np.array_equal(threefry.host_split(KD, n), np.asarray(want))


@pytest.mark.parametrize("n", [1, 5, 1000, 4099])
def test_threefry_bits_equal_jax_random_bits(n):
    want = jax.random.bits(KEY, (n,), jnp.uint32)
    got = jax.jit(threefry.threefry_bits, static_argnums=3)(KD, np.uint32(0), np.uint32(0), n)
    assert np.array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("offset", [2**32 - 3, 2**32, 2**33 + 5, 2**40 - 1])
def test_counters_past_2_32_follow_jax_hi_lo_layout(offset):
    """Flat index i has counter (i >> 32, i & 0xFFFFFFFF); checked against JAX's threefry on
    explicit counters, without allocating 2**32 values."""
    n = 8
    idx = np.arange(offset, offset + n, dtype=np.uint64)
    hi = (idx >> np.uint64(32)).astype(np.uint32)
    lo = (idx & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    out = jax_prng.threefry_2x32(jnp.asarray(KD), jnp.concatenate([hi, lo]))
    want = np.asarray(out[:n] ^ out[n:])
    got = threefry.threefry_bits(KD, *threefry.split_offset(offset), n)
    assert np.array_equal(np.asarray(got), want)
    assert np.array_equal(threefry.host_threefry2x32(KD[0], KD[1], hi, lo)[0], np.asarray(out[:n]))


def _engine(name, hp, shape, dtype=jnp.float32):
    policy = jaxinit.Policy([jaxinit.Rule("w", name, hp)])
    return jaxinit.init({"w": jnp.zeros(shape, dtype)}, KEY, policy=policy)["w"]


def _direct(name, hp, shape, dtype=jnp.float32):
    k = jax.random.fold_in(KEY, np.uint32(paths_lib.path_hash("w")))
    init = jaxinit.get(name, **hp)
    return jax.jit(lambda k: init(k, shape, dtype))(k)


@pytest.mark.parametrize(
    "name,hp,shape",
    [
        ("torch_kernel", {}, (1023, 3)),  # a size class boundary
        ("normal_", {"std": 0.02}, (1024,)),
        ("glorot_normal", {}, (3, 3, 8, 16)),
        ("trunc_normal_", {"std": 0.02}, (700, 9)),
        ("uniform_", {"low": -2.0, "high": 3.0}, (2**22 + 5,)),  # one chunk plus a remainder
        ("orthogonal", {}, (16, 8)),  # QR: the exact-shape path
        ("torch_embedding", {"padding_idx": 1}, (20, 4)),  # a scatter: exact-shape path
    ],
)
def test_engine_equals_the_scheme_with_the_path_key(name, hp, shape):
    a, b = _engine(name, hp, shape), _direct(name, hp, shape)
    assert a.shape == shape and a.dtype == b.dtype
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_bfloat16_and_float16_come_out_in_their_dtype_and_equal_jax():
    for dt in (jnp.bfloat16, jnp.float16):
        a, b = _engine("torch_kernel", {}, (33, 9), dt), _direct("torch_kernel", {}, (33, 9), dt)
        assert a.dtype == dt
        assert np.array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32))


def test_plans_share_programs_across_shapes_and_hyperparameters():
    """Programs are keyed by structure and size class: another bound or another shape in the
    same class compiles nothing new."""
    _engine("symmetric_uniform", {"bound": 0.5}, (100, 10))
    before = draw_lib.stats().class_programs
    for bound, shape in [(0.25, (90, 11)), (3.0, (1000,)), (0.1, (2, 3, 100))]:
        a = _engine("symmetric_uniform", {"bound": bound}, shape)
        assert np.array_equal(
            np.asarray(a), np.asarray(_direct("symmetric_uniform", {"bound": bound}, shape))
        )
    assert draw_lib.stats().class_programs == before


def test_which_schemes_take_the_fast_path():
    def plan(name, hp, shape):
        return draw_lib._plan(name, tuple(sorted(hp.items())), shape, "float32")

    for name, hp in [
        ("torch_kernel", {}),
        ("glorot_uniform", {}),
        ("lecun_normal", {}),
        ("normal_", {}),
        ("trunc_normal_", {}),
        ("torch_bias", {"fan_in": 4}),
    ]:
        assert plan(name, hp, (64, 32)) is not None, name
    for name, hp in [("orthogonal", {}), ("sparse_", {"sparsity": 0.5}), ("dirac_", {})]:
        assert plan(name, hp, (3, 3, 8, 8)) is None, name


class _MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        for i in range(6):
            x = nn.Dense(64 + 16 * i, name=f"fc{i}")(x)
        return x


def test_a_model_compiles_a_handful_of_programs_and_a_second_init_none():
    model, x = _MLP(), jnp.ones((1, 40))
    draw_lib.reset_stats()
    a = jaxinit.init(model, KEY, x, policy="torch_like")
    first = draw_lib.stats()
    assert first.fast_draws == 12 and first.shape_draws == 0
    assert first.programs <= 4  # kernels and biases, at most two size classes each
    draw_lib.reset_stats()
    b = jaxinit.init(model, jax.random.key(8), x, policy="torch_like")
    assert draw_lib.stats().programs == 0
    assert not np.array_equal(
        np.asarray(a["params"]["fc0"]["kernel"]), np.asarray(b["params"]["fc0"]["kernel"])
    )


def test_under_an_outer_jit_the_engine_inlines_and_agrees():
    model, x = _MLP(), jnp.ones((1, 40))
    eager = jaxinit.init(model, KEY, x, policy="torch_like")
    jitted = jax.jit(lambda k: jaxinit.init(model, k, x, policy="torch_like"))(KEY)
    for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted)):
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("shape", [(3, 5), (1024, 1024), (513, 1031)])
def test_host_buffers_are_aligned_and_adopted_without_a_copy(shape):
    """Small buffers are aligned NumPy allocations, large ones (>= 1 MiB) anonymous mmaps of
    ordinary pages; either way `jax.device_put` on CPU wraps the buffer (same pointer) and the
    array keeps the values after the NumPy view is gone."""
    a = draw_lib.aligned_empty(shape, "float32")
    assert a.shape == shape and a.dtype == np.float32 and a.flags.writeable
    assert a.ctypes.data % 64 == 0
    owner = a
    while isinstance(owner, np.ndarray):
        owner = owner.base
    owner = owner.obj if isinstance(owner, memoryview) else owner  # np.frombuffer's view
    assert isinstance(owner, mmap.mmap) == (a.nbytes >= draw_lib._MMAP_MIN_BYTES)
    a[...] = np.arange(a.size, dtype=np.float32).reshape(shape)
    x = jax.device_put(a)
    assert x.unsafe_buffer_pointer() == a.ctypes.data
    del a
    gc.collect()
    assert float(x.reshape(-1)[-1]) == float(math.prod(shape) - 1)
