"""Which scheme traces the draw engine's fast path can take, and how it evaluates them.

A scheme traced with its random draws made flat at a size class (`sampling.class_draws`) is
accepted only if every operation on drawn values is elementwise (`analyze`: a taint analysis
over the jaxpr and a whitelist), so that the value at flat index i depends on the draw's value
at i alone: slicing, reshaping, or drawing a chunk at a counter offset cannot change it. The
accepted trace's structure (its key) and its hoisted scalar literals (runtime arguments) let
one compiled program serve every shape and hyperparameter of that structure; `evaluate`
re-runs the trace with JAX's 32-bit `random_bits` replaced by the jnp threefry (`threefry.py`)
at a runtime counter offset.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core as jex_core

from jaxinit._src.threefry import threefry_bits

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


class NotElementwise(Exception):
    """A trace the fast path cannot take (an operation that is not elementwise after the
    draw, or one that depends on position)."""


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


def analyze(closed, size: int) -> tuple[str, list, frozenset]:
    """The structure of a flat trace and its hoisted literals.

    Values derived from a 32-bit `random_bits` of shape (size,) are *tainted*: only
    elementwise operations (with scalar or size-1 operands) may touch them, so the value at
    flat index i depends on the draw's value at i alone. Untainted values (the key, constants,
    hyperparameter arithmetic) may go through anything but positional operations.

    A floating-point scalar literal is *hoisted* (becomes a runtime argument) only where it
    meets drawn values directly (`bound * u`, `mean + std * z`): literals that enter scalar
    arithmetic first (`erf(lower / sqrt(2))`) stay compile-time constants, because XLA folds
    those at compile time with other rounding than the same operation at run time has (seen
    for erf at `--xla_backend_optimization_level=0`).

    Args:
        closed: the `ClosedJaxpr` of `init(key, shape, dtype)` traced under `class_draws(size)`.
        size: the size class its draws were made at.

    Returns:
        (structure key, hoisted literal values, hoisted positions): equal keys compile to one
        program; the values are its runtime arguments, in order.

    Raises:
        NotElementwise: for a trace the fast path cannot take.
    """
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
                raise NotElementwise(f"positional primitive {p}")
            if p == "random_bits":
                if eqn.params["bit_width"] != 32 or tuple(eqn.params["shape"]) != (size,):
                    raise NotElementwise("random_bits of another shape or width")
                is_dirty = True
            elif is_dirty and p == "scan" and not eqn.params.get("reverse", False):
                # A loop over constants (a polynomial's coefficients, as in `ndtri`) carrying
                # drawn values: elementwise if its body is (checked, not inlined).
                nc, ncarry = eqn.params["num_consts"], eqn.params["num_carry"]
                body_t = list(ins_t)
                body_t[nc : nc + ncarry] = [any(ins_t[nc : nc + ncarry])] * ncarry
                if any(ins_t[nc + ncarry :]):
                    raise NotElementwise("scan over drawn values")
                out_t = taint_walk(eqn.params["jaxpr"].jaxpr, body_t)
                if any(out_t[ncarry:]):
                    raise NotElementwise("scan stacking drawn values")
            elif is_dirty and p not in _ELEMENTWISE:
                raise NotElementwise(f"primitive {p} on drawn values")
            for v in eqn.outvars:
                producer[v] = eqn
            if is_dirty:
                dirty.add(id(eqn))
                for v in eqn.outvars:
                    tainted.add(v)
                    if tuple(v.aval.shape) != (size,):
                        raise NotElementwise(f"drawn values of shape {v.aval.shape}")
        return [_is_var(v) and v in tainted for v in jaxpr.outvars]

    if not all(taint_walk(closed.jaxpr, [False])):
        raise NotElementwise("an output that is not drawn")

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


def evaluate(closed, key, lits, hoisted, offset_hi, offset_lo):
    """Evaluates an `analyze`d trace (inside the program `draw` compiles).

    Args:
        closed: the trace.
        key: its key argument (a typed key of the scheme's key's impl).
        lits: the values for the hoisted positions, in `analyze`'s order.
        hoisted: `analyze`'s hoisted positions.
        offset_hi, offset_lo: the flat counter offset of this chunk (`split_offset`).

    Returns:
        The trace's outputs, with every 32-bit `random_bits` computed by `threefry_bits` at
        the offset (bit-identical to JAX's draw of those flat indices).
    """
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
