"""The draw engine: samples every covered parameter, bit-identical to JAX's own sampling.

What a parameter's value is never depends on this module: it is the scheme's
`init(fold_in(key, path_hash), shape, dtype)` (or, for a layer stacked by `nn.scan`, one such
draw per slice with keys `split(fold_in(key, path_hash), n_layers)`), exactly as JAX computes it
with its default partitionable threefry. This module only decides how to compute it fast.

Two facts make the fast path possible (jax 0.10, `jax_threefry_partitionable=True`):

1. A draw's value at flat index i depends only on (key, i): `uniform(k, (n,))` is the first n
   values of `uniform(k, (N,))` for N > n, and `uniform(k, shape)` is the flat draw reshaped.
   So one compiled program per *size class* serves every shape, and a large draw can be made
   in chunks at a counter offset, straight into its final host buffer.
2. On XLA:CPU, JAX's threefry primitive runs at 14-90 M values/s while the same threefry2x32
   written as jnp operations over uint32 counters runs at 100-480 M/s (measured on the 2-core
   build machine; `benchmarks/` reports it). Bits are identical: same key schedule, rounds,
   counters (hi, lo) of the flat index, output x0 ^ x1.

The fast path (`_class_draw`), used on the CPU backend for a concrete key and unsharded output:

* the scheme is traced once per (scheme, hyperparameters, shape, dtype) with its random draws
  made flat at a size class S (`sampling.class_draws`); the trace is accepted only if every
  operation after the draw is elementwise (a whitelist), so slicing and reshaping afterwards
  cannot change a value;
* every floating-point scalar literal of the trace (the bound, the std, the mean, JAX's own
  constants) becomes a runtime argument, so programs are keyed by the trace's *structure* and
  S, not by hyperparameters or shape: a model compiles a handful of programs;
* the interpreter that evaluates the trace replaces JAX's `random_bits` (32-bit) by the jnp
  threefry above, at a runtime counter offset;
* the result is assembled on the host (CPU device memory is host memory: `np.asarray` of a
  CPU array and `jax.device_put` of an aligned NumPy array are zero-copy), one chunk at a time,
  so temporaries stay at one or two chunks and peak memory near the parameters' bytes.

Everything else (a key traced under an outer `jax.jit`, sharded output, non-CPU backends, and
schemes that are not elementwise after the draw: orthogonal and delta_orthogonal (QR), sparse,
dirac, torch_embedding's zero row, user schemes with callbacks) takes the exact-shape path
(`_unit_program`): one program per (scheme, hyperparameters, shape, dtype, layout), JAX's own
sampling, sharded programs sample shard-locally. On GPU/TPU JAX's threefry has a native kernel
and no host assembly is possible, so the exact-shape path is the right one there; it was not
measured on an accelerator in this repository's benchmark (none was lent when it was written).

`stats()` reports how many programs each path compiled and how many draws each made.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import math
import mmap
import os
import threading
from contextlib import nullcontext
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxinit._src import paths as paths_lib
from jaxinit._src import registry, sampling
from jaxinit._src.elementwise import NotElementwise, analyze, evaluate
from jaxinit._src.threefry import host_fold_in, host_split, split_offset
from jaxinit._src.types import PRNGKey

# Size classes of the fast path: a draw of n <= CHUNK values runs the program of the smallest
# class >= n and keeps the first n values; a larger one runs ceil(n / CHUNK) chunks of CHUNK
# (the last one at the class of its remainder). Powers of 8 from 2**10: at most 5 programs per
# scheme structure; the extra values drawn for padding cost compute, never memory, and CHUNK
# (4 Mi values, 16 MiB in float32) bounds the temporaries of a large draw.
CLASSES = (2**10, 2**13, 2**16, 2**18, 2**20)
CHUNK = CLASSES[-1]
# Chunks in flight while a large draw is assembled (XLA runs one while the host copies one).
_IN_FLIGHT = 2

# Draws at least this large run one at a time on the exact-shape path: XLA's threefry needs
# temporaries of about three times its output.
SERIAL_DRAW_BYTES = 32 * 2**20


@dataclasses.dataclass
class DrawStats:
    """What the draw engine compiled and ran since the last `reset_draw_stats()`.

    Attributes:
        class_programs: fast-path programs compiled (one per trace structure and size class).
        shape_programs: exact-shape programs compiled (one per scheme, hyperparameters, shape,
            dtype and layout).
        fast_draws: draws made on the fast path (a parameter, or one slice of a stacked one).
        shape_draws: units drawn on the exact-shape path (a parameter or a fused group).

    Example:
        >>> import jaxinit
        >>> s = jaxinit.DrawStats(class_programs=2, shape_programs=1)
        >>> s.programs
        3
    """

    class_programs: int = 0
    shape_programs: int = 0
    fast_draws: int = 0
    shape_draws: int = 0

    @property
    def programs(self) -> int:
        """Programs compiled on both paths: `class_programs + shape_programs`."""
        return self.class_programs + self.shape_programs


_STATS = DrawStats()
_LOCK = threading.Lock()


def stats() -> DrawStats:
    """A copy of the draw engine's counters (public as `jaxinit.draw_stats`).

    Returns:
        A `DrawStats`: `class_programs`/`shape_programs` compiled and `fast_draws`/`shape_draws`
        made since the last `reset_draw_stats()`. Later draws do not change the copy.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn, jaxinit
        >>> jaxinit.reset_draw_stats()
        >>> _ = jaxinit.init(nn.Dense(8), jax.random.key(0), jnp.ones((1, 4)), policy="torch_like")
        >>> jaxinit.draw_stats().fast_draws  # the kernel and the bias
        2
    """
    return dataclasses.replace(_STATS)


def reset_stats() -> None:
    """Zeroes the draw engine's counters (public as `jaxinit.reset_draw_stats`); compiled
    programs stay cached, so a second identical init counts no compiles.

    Returns:
        None.

    Example:
        >>> import jaxinit
        >>> jaxinit.reset_draw_stats()
        >>> jaxinit.draw_stats().programs
        0
    """
    global _STATS
    _STATS = DrawStats()


def size_class(n: int) -> int:
    """The size class a draw of `n` values runs at.

    Args:
        n: the number of values (for a chunked draw: of one chunk).

    Returns:
        The smallest of `CLASSES` >= n, or `CHUNK` for a larger n.

    Example:
        >>> size_class(768), size_class(2**20 + 1)
        (1024, 1048576)
    """
    for c in CLASSES:
        if n <= c:
            return c
    return CHUNK


@dataclasses.dataclass(frozen=True)
class _Plan:
    """How one (scheme, hyperparameters, shape, dtype) is drawn on the fast path: per size
    class used, the structure key and the hoisted literals; None where the scheme is not
    elementwise after its draw."""

    n: int
    dtype: Any
    classes: dict  # size class -> (structure key, closed trace, literals, their positions)


# The engine's three caches (plans, fast-path programs, exact-shape programs) keep at most
# CACHE_SIZE entries each and evict the least recently used one, as `functools.lru_cache`
# (which holds the exact-shape programs) does. Entries are small; a model has a handful.
CACHE_SIZE = 4096


class _LRU:
    """A dict-like least-recently-used cache bounded at `maxsize` entries (thread-safe)."""

    def __init__(self, maxsize: int):
        self._data: collections.OrderedDict = collections.OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def __contains__(self, key) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, key):
        with self._lock:
            value = self._data[key]
            self._data.move_to_end(key)
            return value

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key, value) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)


_PLANS = _LRU(CACHE_SIZE)
_PROGRAMS = _LRU(CACHE_SIZE)


def _plan(scheme: str, hp: tuple, shape: tuple, dtype: str) -> _Plan | None:
    cache_key = (scheme, hp, shape, dtype)
    try:
        return _PLANS[cache_key]
    except KeyError:
        pass
    except TypeError:  # unhashable hyperparameters
        cache_key = None
    init = registry.get(scheme, **dict(hp))
    n = math.prod(shape)
    sizes = {size_class(n)} if n <= CHUNK else {CHUNK} | ({size_class(n % CHUNK)} - {0})
    if n > CHUNK and n % CHUNK == 0:
        sizes = {CHUNK}
    classes, plan = {}, None
    try:
        for s in sorted(sizes):
            with sampling.class_draws(s):
                closed = jax.make_jaxpr(lambda k: init(k, shape, dtype))(jax.random.key(0))
            (out,) = closed.out_avals
            if tuple(out.shape) != (s,):
                raise NotElementwise(f"output shape {out.shape}")
            struct, lits, hoisted = analyze(closed, s)
            classes[s] = (struct, closed, lits, hoisted)
        plan = _Plan(n, jnp.dtype(closed.out_avals[0].dtype), classes)
    except Exception:  # noqa: BLE001 - not elementwise, or a scheme that needs its real shape:
        plan = None  # the exact-shape path draws it (and raises any genuine error there)
    if cache_key is not None:
        _PLANS[cache_key] = plan
    return plan


def _plan_for_shape(scheme: str, hp: tuple, dtype: str, shape: tuple) -> _Plan | None:
    return _plan(scheme, hp, shape, dtype)


def _program(struct: str, closed, lits, hoisted, key):
    """The compiled program of one structure: f(key_data, offset_hi, offset_lo, *lits)."""
    prog = _PROGRAMS.get(struct)
    if prog is not None:
        return prog

    def f(key_data, offset_hi, offset_lo, *values):
        k = jax.random.wrap_key_data(key_data, impl=jax.random.key_impl(key))
        (out,) = evaluate(closed, k, values, hoisted, offset_hi, offset_lo)
        return out

    u32 = jax.ShapeDtypeStruct((), jnp.uint32)
    args = (jax.ShapeDtypeStruct((2,), jnp.uint32), u32, u32) + tuple(
        jax.ShapeDtypeStruct((), v.dtype) for v in lits
    )
    compiled = jax.jit(f).lower(*args).compile()
    with _LOCK:
        _STATS.class_programs += 1
        _PROGRAMS[struct] = compiled
    return compiled


# XLA:CPU adopts a NumPy buffer without copying it only when it is aligned like its own.
_ALIGN = 64


# Buffers of at least this many bytes are anonymous mmaps of ordinary 4 KiB pages instead of
# NumPy allocations. NumPy asks the kernel for transparent huge pages on large arrays
# (`madvise(MADV_HUGEPAGE)`); where the kernel compacts memory to serve them on first touch
# (`/sys/kernel/mm/transparent_hugepage/defrag` = madvise, the common default), the first write
# of GPT-2's 650 MB took 0.08 s or 1.05 s from one fresh process to the next on the 2-core
# benchmark VM, against a steady 0.27-0.35 s with ordinary pages (measured with
# `np.empty(163e6, float32).fill(1)` vs the same on `mmap.mmap(-1, n)`). The pages are returned
# to the system as soon as the last array viewing them is freed.
_MMAP_MIN_BYTES = 1 << 20


def aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialized host array whose data is `_ALIGN`-byte aligned, so that
    `jax.device_put` on the CPU backend wraps it instead of copying it.

    Args:
        shape: the array's shape.
        dtype: its dtype (anything `np.dtype` takes).

    Returns:
        A C-contiguous, writeable NumPy array, contents undefined (zeros for a large one, which
        is an anonymous mmap: page-aligned, ordinary pages; see `_MMAP_MIN_BYTES`).

    Example:
        >>> a = aligned_empty((3, 5), "float32")
        >>> a.shape, a.ctypes.data % 64
        ((3, 5), 0)
        >>> b = aligned_empty((1024, 1024), "float32")
        >>> b.flags.writeable, b.ctypes.data % 64
        (True, 0)
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes >= _MMAP_MIN_BYTES:
        pages = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        return np.frombuffer(pages, dtype).reshape(shape)
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    start = -raw.ctypes.data % _ALIGN
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def _class_draw(plan: _Plan, key_data: np.ndarray, key) -> np.ndarray:
    """Draws the flat array of one plan into a host buffer (zero-copy for a single class)."""
    n = plan.n
    if n <= CHUNK:
        ((struct, closed, lits, hoisted),) = plan.classes.values()
        prog = _program(struct, closed, lits, hoisted, key)
        y = prog(key_data, np.uint32(0), np.uint32(0), *lits)
        flat = np.asarray(y)
        if flat.shape[0] == n:
            return flat  # a view of the program's own (aligned) output
        buf = aligned_empty((n,), plan.dtype)
        buf[:] = flat[:n]
        return buf
    buf = aligned_empty((n,), plan.dtype)
    pending: list = []

    def land():
        off, m, y = pending.pop(0)
        buf[off : off + m] = np.asarray(y)[:m]

    for off in range(0, n, CHUNK):
        m = min(CHUNK, n - off)
        struct, closed, lits, hoisted = plan.classes[size_class(m) if m < CHUNK else CHUNK]
        prog = _program(struct, closed, lits, hoisted, key)
        pending.append((off, m, prog(key_data, *split_offset(off), *lits)))
        if len(pending) >= _IN_FLIGHT:
            land()
    while pending:
        land()
    return buf


def _fast_eligible(key, shardings, jit: bool) -> bool:
    if not jit or shardings or isinstance(key, jax.core.Tracer):
        return False
    try:
        devices = key.devices()
    except AttributeError:
        return False
    if len(devices) != 1 or next(iter(devices)).platform != "cpu":
        return False
    impl = jax.random.key_impl(key)
    return "threefry" in str(impl) and jax.config.jax_threefry_partitionable


def _host_unit(d0, plan_fn, key_data: np.ndarray, key, outputs):
    """Draws one unit (a parameter or a fused group, stacked or not) on the host; returns the
    list of its output arrays, or None if the scheme is not eligible."""
    stack_shape, stack_axes = d0.spec.stack_shape, d0.spec.stack_axes
    sample_shape = tuple(d0.sample_shape)
    plan = plan_fn(sample_shape)
    if plan is None:
        return None
    if stack_axes:
        keys = host_split(key_data, math.prod(stack_shape))
        full = aligned_empty((len(keys), plan.n), plan.dtype)
        for i, kd in enumerate(keys):
            full[i] = _class_draw(plan, kd, key)
            with _LOCK:
                _STATS.fast_draws += 1
        full = full.reshape((len(keys), *sample_shape))
    else:
        full = _class_draw(plan, key_data, key).reshape(sample_shape)
        with _LOCK:
            _STATS.fast_draws += 1
    outs = []
    for shape, axis, lo, hi in outputs:
        if axis is None:
            y = full
        else:
            sl = [slice(None)] * full.ndim
            sl[axis + (1 if stack_axes else 0)] = slice(lo, hi)
            y = np.ascontiguousarray(full[tuple(sl)])
        if stack_axes:
            y = y.reshape((*stack_shape, *shape))
            y = np.ascontiguousarray(np.moveaxis(y, tuple(range(len(stack_axes))), stack_axes))
        else:
            y = y.reshape(shape)
        outs.append(y)
    return outs


# --------------------------------------------------------------------------------------------
# The exact-shape path.


def _hashable(hp: Mapping[str, Any]) -> tuple:
    return tuple(sorted(hp.items()))


def _constant_of(d) -> Any:
    """The fill value of a decision's scheme (`zeros`, `ones`, `constant`), else None."""
    return getattr(d.initializer(), "constant_value", None)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _unit_program(scheme, hp, sample_shape, dtype, outputs, shardings, jit, stack=((), ())):
    """One program per distinct (scheme, hyperparameters, shape, dtype, layout):
    `f(root_key, path_hash) -> array(s)`, JAX's own sampling. Called once per parameter (or
    fused group) with its own hash; every parameter is its own buffer.

    `stack = (stack_shape, stack_axes)` for a layer stacked by a lifted transform: one
    independent draw per slice, with keys `split(fold_in(root, h), stack_shape)`, moved to the
    stack axes; each output's `shape` is then the member's inner shape."""
    init = registry.get(scheme, **dict(hp))
    stack_shape, stack_axes = stack
    n_stack = math.prod(stack_shape)

    def one(k):
        return init(k, sample_shape, dtype)

    def f(root, h):
        k = jax.random.fold_in(root, h)
        with sampling.shaped_draws() if shardings is not None else nullcontext():
            # shaped draws keep sampling shard-local
            x = jax.vmap(one)(jax.random.split(k, n_stack)) if stack_axes else one(k)
        outs = []
        for shape, axis, lo, hi in outputs:
            if not stack_axes:
                y = x if axis is None else jax.lax.slice_in_dim(x, lo, hi, axis=axis)
                outs.append(jnp.reshape(y, shape))
                continue
            y = x if axis is None else jax.lax.slice_in_dim(x, lo, hi, axis=axis + 1)
            y = jnp.reshape(y, (*stack_shape, *shape))
            outs.append(jnp.moveaxis(y, tuple(range(len(stack_axes))), stack_axes))
        return tuple(outs)

    if not jit:
        return f
    return jax.jit(f, out_shardings=shardings if shardings is not None else None)


_COMPILED: dict[tuple, Any] = {}
_POOL: list = []


def _compile_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The threads that compile fast-path programs while later units are planned: one pool
    for the process, made on first use (XLA releases the GIL while it compiles)."""
    with _LOCK:
        if not _POOL:
            _POOL.append(concurrent.futures.ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))))
        return _POOL[0]


def _compile_all(fns, key, h) -> dict:
    """Ahead-of-time compiles every distinct program, several at once: XLA releases the GIL
    while compiling, so a thread pool overlaps the compilations on a multi-core host."""
    aval = (jax.typeof(key), str(getattr(key, "sharding", None)))
    todo = {fn for fn in fns if (fn, aval) not in _COMPILED}

    def compile_one(fn):
        return fn, fn.lower(key, h).compile()

    if len(todo) > 1:
        workers = min(len(todo), os.cpu_count() or 1)
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            done = list(pool.map(compile_one, todo))
    else:
        done = [compile_one(fn) for fn in todo]
    for fn, c in done:
        if len(_COMPILED) > 4096:
            _COMPILED.clear()
        _COMPILED[(fn, aval)] = c
    _STATS.shape_programs += len(done)
    return {fn: _COMPILED[(fn, aval)] for fn in fns}


# --------------------------------------------------------------------------------------------
# The entry point.


def draw(
    decisions: Sequence[Any],
    key: PRNGKey,
    *,
    jit: bool = True,
    shardings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Samples every covered decision.

    Each parameter (or fused group, drawn once and split) is drawn with its own key
    `fold_in(key, path_hash)`. Every decision is validated (traced) before anything runs, so
    an error leaves nothing half initialized.

    Args:
        decisions: a `Resolution`'s decisions; those not covered are skipped.
        key: the root PRNG key (concrete, or traced under an outer `jax.jit`).
        jit: compile each program (False: run the exact-shape functions eagerly).
        shardings: {path: Sharding}: every such array comes out directly sharded, each
            device generating only its shard.

    Returns:
        {path: array} for every covered decision, in `decisions`' order.

    Example:
        >>> import jax, jaxinit
        >>> from jaxinit._src import draw as draw_lib
        >>> res = jaxinit.explain({"w": jax.numpy.zeros((3, 2))},
        ...                       policy=jaxinit.Policy([jaxinit.Rule("w", "uniform_")])).resolution
        >>> out = draw_lib.draw(res.decisions, jax.random.key(0))
        >>> out["w"].shape
        (3, 2)
    """
    units: dict[str, list] = {}
    for d in decisions:
        if d.covered:
            kid = ("group:" + d.group) if d.group is not None else d.spec.path
            units.setdefault(kid, []).append(d)
    fast = _fast_eligible(key, shardings, jit)
    root_data = np.asarray(jax.random.key_data(key)) if fast else None
    calls, out, host = [], {}, []
    consts: dict = {}  # (scheme, hp) -> its constant_value: one registry build per distinct
    for kid, ds in units.items():
        d0 = ds[0]
        try:
            hp = _hashable(d0.hyperparameters)
            ck = (d0.scheme, hp)
            const = consts[ck] if ck in consts else consts.setdefault(ck, _constant_of(d0))
        except TypeError:  # unhashable hyperparameter values: no cache
            hp, const = None, _constant_of(d0)
        if const is not None and d0.group is None and not isinstance(key, jax.core.Tracer):
            # A fill ignores the key: build it on the host and place it (sharded) directly,
            # which needs no compiled program at all.
            dt = jnp.dtype(d0.spec.dtype)
            hostval = aligned_empty(tuple(d0.spec.shape), dt)
            hostval.fill(const)
            out[d0.spec.path] = hostval  # placed (sharded) with the others at the end
            continue
        outputs = []
        for d in ds:
            if d.group is not None:
                ax = d.rule.group_axis % len(d.group_shape)
                outputs.append((d.spec.inner_shape, ax, *d.group_slice))
            else:
                outputs.append((d.spec.inner_shape, None, 0, 0))
        h = np.uint32(paths_lib.path_hash(kid))
        dtype = jnp.dtype(d0.spec.dtype).name
        stack_axes = tuple(d0.spec.stack_axes)
        if (
            fast
            and hp is not None
            and d0.group is None
            and stack_axes == tuple(range(len(stack_axes)))
        ):
            # Fused groups stay on the exact-shape path: their program slices the draw, and
            # XLA fuses the scheme's arithmetic into the slices with other rounding (FMA) than
            # a plain draw has, so a host-side split would not be bit-identical to it.
            host.append((d0, ds, hp, dtype, h, tuple(outputs)))
            continue
        outs_sh = [shardings.get(d.spec.path) if shardings else None for d in ds]
        args = (
            d0.scheme,
            tuple(d0.sample_shape),
            dtype,
            tuple(outputs),
            tuple(outs_sh) if shardings else None,
            jit,
            (d0.spec.stack_shape, d0.spec.stack_axes),
        )
        if hp is None:
            fn = _unit_program.__wrapped__(args[0], tuple(d0.hyperparameters.items()), *args[1:])
        else:
            fn = _unit_program(args[0], hp, *args[1:])
        calls.append((fn, h, ds))

    # Fast path: plan every unit first (traces validate every decision before any draw runs);
    # units whose scheme is not elementwise after its draw join the exact-shape path. Each new
    # program starts compiling (in a thread: XLA releases the GIL) as soon as its plan exists,
    # while the next units are planned.
    planned = []
    pool = _compile_pool()
    pending: dict = {}
    for d0, ds, hp, dtype, h, outputs in host:
        plan_fn = functools.partial(_plan_for_shape, d0.scheme, hp, dtype)
        plan = plan_fn(tuple(d0.sample_shape))
        if plan is not None:
            for struct, closed, lits, hoisted in plan.classes.values():
                if struct not in _PROGRAMS and struct not in pending:
                    pending[struct] = pool.submit(_program, struct, closed, lits, hoisted, key)
        if plan is None:
            args = (
                d0.scheme,
                tuple(d0.sample_shape),
                dtype,
                outputs,
                None,
                jit,
                (d0.spec.stack_shape, d0.spec.stack_axes),
            )
            calls.append((_unit_program(args[0], hp, *args[1:]), h, ds))
        else:
            planned.append((d0, ds, plan_fn, h, outputs))

    try:
        if jit and calls and not isinstance(key, jax.core.Tracer):
            compiled = _compile_all([fn for fn, _, _ in calls], key, calls[0][1])
            calls = [(compiled[fn], h, ds) for fn, h, ds in calls]
    finally:
        for f in pending.values():
            f.exception()  # every compile has finished before this returns or raises
    for f in pending.values():
        f.result()  # re-raises a compile error here, before anything is drawn

    def nbytes(ds):
        return sum(math.prod(d.spec.shape) * jnp.dtype(d.spec.dtype).itemsize for d in ds)

    # Largest first: a large draw made while every other parameter already exists would set
    # the peak at (all parameters + its temporaries); made first, it overlaps little.
    planned.sort(key=lambda c: -nbytes(c[1]))
    if planned:  # every unit's key in one NumPy call
        unit_keys = host_fold_in(root_data, np.array([c[3] for c in planned], np.uint32))
    for (d0, ds, plan_fn, _, outputs), kd in zip(planned, unit_keys if planned else ()):
        ys = _host_unit(d0, plan_fn, kd, key, outputs)
        for d, y in zip(ds, ys):
            out[d.spec.path] = y
    calls.sort(key=lambda c: -nbytes(c[2]))
    for fn, h, ds in calls:
        xs = fn(key, h)
        _STATS.shape_draws += 1
        if nbytes(ds) >= SERIAL_DRAW_BYTES and not isinstance(key, jax.core.Tracer):
            jax.block_until_ready(xs)
        for d, x in zip(ds, xs):
            out[d.spec.path] = x
    # Host arrays become device arrays without a copy (CPU device memory is host memory), in
    # one batched `device_put` per placement: one call per array costs ~0.1 ms each.
    on_host: dict = {}
    for p, v in out.items():
        if isinstance(v, np.ndarray):
            sh = shardings.get(p) if shardings else None
            on_host.setdefault(None if sh is None else id(sh), (sh, []))[1].append(p)
    for sh, ps in on_host.values():
        if sh is None:
            placed = jax.device_put([out[p] for p in ps])
        else:
            placed = jax.device_put([out[p] for p in ps], [sh] * len(ps))
        out.update(zip(ps, placed))
    return {d.spec.path: out[d.spec.path] for d in decisions if d.spec.path in out}
