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
  made flat at a size class S (`initializers.class_draws`); the trace is accepted only if every
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

import concurrent.futures
import dataclasses
import functools
import math
import os
import threading
from contextlib import nullcontext
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core as jex_core

from jaxinit._src import initializers as initializers_lib
from jaxinit._src import paths as paths_lib
from jaxinit._src import registry
from jaxinit._src.threefry import host_fold_in, host_split, split_offset, threefry_bits
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
    """What the engine compiled and ran since the last `reset_stats()`."""

    class_programs: int = 0  # fast-path programs compiled (structure x size class)
    shape_programs: int = 0  # exact-shape programs compiled
    fast_draws: int = 0  # parameters (or fused groups / stacked slices) on the fast path
    shape_draws: int = 0  # units on the exact-shape path

    @property
    def programs(self) -> int:
        return self.class_programs + self.shape_programs


_STATS = DrawStats()
_LOCK = threading.Lock()


def stats() -> DrawStats:
    """A copy of the engine's counters (programs compiled and draws made).

    Returns:
        A `DrawStats`: `class_programs`/`shape_programs` compiled and `fast_draws`/`shape_draws`
        made since the last `reset_stats()`.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn, jaxinit
        >>> jaxinit.reset_draw_stats()
        >>> _ = jaxinit.init(nn.Dense(8), jax.random.key(0), jnp.ones((1, 4)), policy="torch_like")
        >>> jaxinit.draw_stats().fast_draws  # the kernel and the bias
        2
    """
    return dataclasses.replace(_STATS)


def reset_stats() -> None:
    """Zeroes the counters (compiled programs stay cached)."""
    global _STATS
    _STATS = DrawStats()


# --------------------------------------------------------------------------------------------
# A scheme's trace, its structure and its hoisted literals.

# Operations allowed after the draw on the fast path: elementwise (with scalar or size-1
# operands), so a value at flat index i depends only on the draw's value at i.
_ELEMENTWISE = frozenset(
    """abs add and atan2 bitcast_convert_type ceil clamp convert_element_type copy copy_p cos
    div eq erf erf_inv erfc exp exp2 expm1 floor ge gt integer_pow is_finite le log log1p
    logistic lt max min mul ne neg nextafter not or pow rem round rsqrt select_n shift_left
    shift_right_arithmetic shift_right_logical sign sin sqrt square stop_gradient sub tan tanh
    xor random_wrap random_unwrap""".split()
)
_CALLS = ("pjit", "jit", "closed_call", "core_call")


class _NotElementwise(Exception):
    pass


def _is_float_scalar_literal(v) -> bool:
    return (
        isinstance(v, jex_core.Literal)
        and v.aval.shape == ()
        and jnp.issubdtype(v.aval.dtype, jnp.floating)
    )


# Operations that make a value depend on its position (or draw outside the tracked draw):
# never allowed, since a chunk at an offset would not reproduce them.
_POSITIONAL = frozenset(
    "iota rng_bit_generator rng_uniform random_seed argsort sort cumsum cumprod".split()
)
# Operations whose scalar operands may become runtime arguments (when not in a chain).
_HOISTABLE = frozenset("mul add sub max min".split())
# Operations that pass a value on unchanged (for deciding which literals may be hoisted).
_PASS = frozenset("convert_element_type broadcast_in_dim stop_gradient copy copy_p".split())


def _inner(eqn):
    inner = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
    return getattr(inner, "jaxpr", inner), getattr(inner, "consts", ())


def _is_var(v) -> bool:
    return not isinstance(v, jex_core.Literal)


def _analyze(closed, size: int) -> tuple[str, list, frozenset]:
    """(structure key, hoisted literal values, hoisted positions) of a flat trace of size
    `size`; raises `_NotElementwise` for a trace the fast path cannot take.

    Values derived from a 32-bit `random_bits` of shape (size,) are *tainted*: only
    elementwise operations (with scalar or size-1 operands) may touch them, so the value at
    flat index i depends on the draw's value at i alone. Untainted values (the key, constants,
    hyperparameter arithmetic) may go through anything but positional operations.

    A floating-point scalar literal is *hoisted* (becomes a runtime argument) only where it
    meets drawn values directly (`bound * u`, `mean + std * z`): literals that enter scalar
    arithmetic first (`erf(lower / sqrt(2))`) stay compile-time constants, because XLA folds
    those at compile time with other rounding than the same operation at run time has (seen
    for erf at `--xla_backend_optimization_level=0`)."""
    tainted: set = set()
    dirty: set = set()  # id(eqn) of operations on drawn values
    producer: dict = {}  # var -> the eqn defining it (looking through calls)
    alias: dict = {}  # a call's inner invar / outer outvar -> the var it stands for

    # Pass 1: taint, forward.
    def taint_walk(jaxpr, arg_taint):
        for v, t in zip(jaxpr.invars, arg_taint):
            if t:
                tainted.add(v)
        for eqn in jaxpr.eqns:
            p = eqn.primitive.name
            ins_t = [_is_var(v) and v in tainted for v in eqn.invars]
            if p in _CALLS:
                inner_jaxpr = _inner(eqn)[0]
                for iv, ov in zip(inner_jaxpr.invars, eqn.invars):
                    if _is_var(ov):
                        alias[iv] = ov
                out_t = taint_walk(inner_jaxpr, ins_t)
                for ov, iv in zip(eqn.outvars, inner_jaxpr.outvars):
                    if _is_var(iv):
                        alias[ov] = iv
                tainted.update(v for v, t in zip(eqn.outvars, out_t) if t)
                if any(ins_t) or any(out_t):
                    dirty.add(id(eqn))
                continue
            is_dirty = any(ins_t)
            if p in _POSITIONAL:
                raise _NotElementwise(f"positional primitive {p}")
            if p == "random_bits":
                if eqn.params["bit_width"] != 32 or tuple(eqn.params["shape"]) != (size,):
                    raise _NotElementwise("random_bits of another shape or width")
                is_dirty = True
            elif is_dirty and p == "scan" and not eqn.params.get("reverse", False):
                # A loop over constants (a polynomial's coefficients, as in `ndtri`) carrying
                # drawn values: elementwise if its body is (checked, not inlined).
                nc, ncarry = eqn.params["num_consts"], eqn.params["num_carry"]
                body_t = list(ins_t)
                body_t[nc : nc + ncarry] = [any(ins_t[nc : nc + ncarry])] * ncarry
                if any(ins_t[nc + ncarry :]):
                    raise _NotElementwise("scan over drawn values")
                out_t = taint_walk(eqn.params["jaxpr"].jaxpr, body_t)
                if any(out_t[ncarry:]):
                    raise _NotElementwise("scan stacking drawn values")
            elif is_dirty and p not in _ELEMENTWISE:
                raise _NotElementwise(f"primitive {p} on drawn values")
            for v in eqn.outvars:
                producer[v] = eqn
            if is_dirty:
                dirty.add(id(eqn))
                for v in eqn.outvars:
                    tainted.add(v)
                    if tuple(v.aval.shape) != (size,):
                        raise _NotElementwise(f"drawn values of shape {v.aval.shape}")
        return [_is_var(v) and v in tainted for v in jaxpr.outvars]

    if not all(taint_walk(closed.jaxpr, [False])):
        raise _NotElementwise("an output that is not drawn")

    # XLA's algebraic simplifier folds chains of constant operations at compile time
    # ((x * c1) * c2 -> x * (c1 * c2), and likewise for additions) and may rewrite a division by
    # a constant; a runtime scalar would round differently. Literals of such operations stay
    # constants: only isolated `drawn op scalar` operations take runtime scalars.
    def source(v):
        seen = 0
        while v in alias and seen < 64:
            v, seen = alias[v], seen + 1
        return v

    def const_op(eqn):
        """'mul' / 'add' for an operation of drawn and undrawn values, else None."""
        p = eqn.primitive.name
        if id(eqn) not in dirty or p not in ("mul", "add", "sub") or len(eqn.invars) != 2:
            return None
        t = [_is_var(v) and v in tainted for v in eqn.invars]
        if sum(t) != 1:
            return None
        return "mul" if p == "mul" else "add"

    chained: set = set()
    for eqn in list(producer.values()):
        kind = const_op(eqn)
        if kind is None:
            continue
        drawn = next(x for x in eqn.invars if _is_var(x) and x in tainted)
        src = producer.get(source(drawn))
        if src is not None and const_op(src) == kind:
            chained.update((id(eqn), id(src)))

    # Pass 2: which values are used only where they meet drawn values, backward.
    pure: dict = {}

    def use_pure(eqn, i) -> bool:
        p = eqn.primitive.name
        if p in _CALLS:
            return pure.get(_inner(eqn)[0].invars[i], False)
        if p in _PASS and id(eqn) not in dirty:
            return all(pure.get(o, False) for o in eqn.outvars)
        return id(eqn) in dirty and p in _HOISTABLE and id(eqn) not in chained

    def pure_walk(jaxpr, out_pure):
        uses: dict = {}
        for v, pu in zip(jaxpr.outvars, out_pure):
            if _is_var(v):
                uses.setdefault(v, []).append(pu)
        for eqn in reversed(jaxpr.eqns):
            for o in eqn.outvars:
                pure[o] = bool(uses.get(o)) and all(uses[o])
            if eqn.primitive.name in _CALLS:
                pure_walk(_inner(eqn)[0], [pure[o] for o in eqn.outvars])
            for i, v in enumerate(eqn.invars):
                if _is_var(v):
                    uses.setdefault(v, []).append(use_pure(eqn, i))
        for v in jaxpr.invars:
            pure[v] = bool(uses.get(v)) and all(uses[v])

    pure_walk(closed.jaxpr, [False] * len(closed.jaxpr.outvars))

    # Pass 3: the structure, with hoisted literals in evaluation order.
    parts: list[str] = []
    lits: list = []
    hoisted: set = set()
    ids: dict = {}

    def name(eqn, i, v):
        if isinstance(v, jex_core.Literal):
            if _is_float_scalar_literal(v) and use_pure(eqn, i):
                lits.append(np.asarray(v.val, v.aval.dtype))
                hoisted.add((id(eqn), i))
                return f"L:{v.aval.dtype}"
            return f"C:{v.aval.dtype}:{np.asarray(v.val).tolist()!r}"
        return ids[v]

    def walk(jaxpr, consts, args):
        for v, c in zip(jaxpr.constvars, consts):
            c = np.asarray(c)
            ids[v] = f"K:{c.dtype}:{c.shape}:{c.tobytes().hex()}"
        ids.update(zip(jaxpr.invars, args))
        for eqn in jaxpr.eqns:
            p = eqn.primitive.name
            ins = [name(eqn, i, v) for i, v in enumerate(eqn.invars)]
            if p in _CALLS:
                outs = walk(*_inner(eqn), ins)
                ids.update(zip(eqn.outvars, outs))
                continue
            params = ",".join(f"{k}={eqn.params[k]!r}" for k in sorted(eqn.params))
            outs = []
            for v in eqn.outvars:
                ids[v] = f"v{len(ids)}"
                outs.append(f"{ids[v]}:{v.aval}")
            parts.append(f"{p}[{params}]({','.join(ins)})->{','.join(outs)}")
        return [ids[v] if _is_var(v) else repr(v) for v in jaxpr.outvars]

    outs = walk(closed.jaxpr, closed.consts, ["key"])
    parts.append("out:" + ",".join(outs))
    return ";".join(parts), lits, frozenset(hoisted)


def _evaluate(closed, key, lits, hoisted, offset_hi, offset_lo):
    """Evaluates the trace with `lits` at its hoisted positions (same order as `_analyze`)
    and 32-bit `random_bits` computed by `threefry_bits` at the counter offset."""
    it = iter(lits)

    def walk(jaxpr, consts, args):
        env = dict(zip(jaxpr.constvars, consts))
        env.update(zip(jaxpr.invars, args))
        for eqn in jaxpr.eqns:
            ins = []
            for i, v in enumerate(eqn.invars):
                if isinstance(v, jex_core.Literal):
                    ins.append(next(it) if (id(eqn), i) in hoisted else v.val)
                else:
                    ins.append(env[v])
            p = eqn.primitive.name
            if p in _CALLS:
                outs = walk(*_inner(eqn), ins)
            elif p == "random_bits":
                (n,) = eqn.params["shape"]
                outs = [threefry_bits(jax.random.key_data(ins[0]), offset_hi, offset_lo, n)]
            else:
                outs = eqn.primitive.bind(*ins, **eqn.primitive.get_bind_params(eqn.params))
                if not eqn.primitive.multiple_results:
                    outs = [outs]
            env.update(zip(eqn.outvars, outs))
        return [env[v] if _is_var(v) else v.val for v in jaxpr.outvars]

    return walk(closed.jaxpr, closed.consts, [key])


def size_class(n: int) -> int:
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


_PLANS: dict = {}
_PROGRAMS: dict = {}


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
            with initializers_lib.class_draws(s):
                closed = jax.make_jaxpr(lambda k: init(k, shape, dtype))(jax.random.key(0))
            (out,) = closed.out_avals
            if tuple(out.shape) != (s,):
                raise _NotElementwise(f"output shape {out.shape}")
            struct, lits, hoisted = _analyze(closed, s)
            classes[s] = (struct, closed, lits, hoisted)
        plan = _Plan(n, jnp.dtype(closed.out_avals[0].dtype), classes)
    except Exception:  # noqa: BLE001 - not elementwise, or a scheme that needs its real shape:
        plan = None  # the exact-shape path draws it (and raises any genuine error there)
    if cache_key is not None:
        if len(_PLANS) > 8192:
            _PLANS.clear()
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
        (out,) = _evaluate(closed, k, values, hoisted, offset_hi, offset_lo)
        return out

    u32 = jax.ShapeDtypeStruct((), jnp.uint32)
    args = (jax.ShapeDtypeStruct((2,), jnp.uint32), u32, u32) + tuple(
        jax.ShapeDtypeStruct((), v.dtype) for v in lits
    )
    compiled = jax.jit(f).lower(*args).compile()
    with _LOCK:
        _STATS.class_programs += 1
        if len(_PROGRAMS) > 4096:
            _PROGRAMS.clear()
        _PROGRAMS[struct] = compiled
    return compiled


# XLA:CPU adopts a NumPy buffer without copying it only when it is aligned like its own.
_ALIGN = 64


def aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialized host array whose data is `_ALIGN`-byte aligned, so that
    `jax.device_put` on the CPU backend wraps it instead of copying it."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
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


@functools.lru_cache(maxsize=4096)
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
        with initializers_lib.shaped_draws() if shardings is not None else nullcontext():
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
    """Samples every covered decision; returns {path: array}.

    Each parameter (or fused group, drawn once and split) is drawn with its own key
    `fold_in(key, path_hash)`. Every decision is validated (traced) before anything runs, so
    an error leaves nothing half initialized. `shardings` ({path: Sharding}) makes every array
    come out directly sharded.

    Example:
        >>> import jax, jaxinit
        >>> from jaxinit._src import draw as draw_lib
        >>> res = jaxinit.resolve({"w": jax.numpy.zeros((3, 2))},
        ...                       policy=jaxinit.Policy([jaxinit.Rule("w", "uniform_")]))
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
    for kid, ds in units.items():
        d0 = ds[0]
        const = getattr(d0.initializer(), "constant_value", None)
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
        try:
            hp = _hashable(d0.hyperparameters)
            hash(hp)
        except TypeError:  # unhashable hyperparameter values: no cache
            hp = None
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
