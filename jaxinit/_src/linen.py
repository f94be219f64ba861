"""Flax Linen adapter: parameter specs from an abstract trace, and initialization.

`specs(model, *inputs)` runs `jax.eval_shape(model.init, ...)` under `nn.intercept_methods`
to learn every variable's path, shape and dtype and the type and attributes of every module,
without computing anything. `init(...)` then draws each covered parameter once; when some
variables are left to the module (fallback "keep", or non-parameter collections such as
BatchNorm statistics), it runs the model's own `model.init` under `jax.jit` and keeps only the
missing ones (XLA drops the covered parameters' draws as dead code). Flax is never patched.
"""

from __future__ import annotations

from collections.abc import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import core
from flax.core import meta
from flax.traverse_util import flatten_dict, unflatten_dict
from jax.extend.core import get_opaque_trace_state

from jaxinit._src import flax_classes
from jaxinit._src.errors import PolicyError
from jaxinit._src.paths import is_key_array
from jaxinit._src.specs import (
    ModuleInfo,
    ParamSpec,
    is_array_like,
    kernel_view,
    stack_axes,
    type_names,
)


def _module_info(m: nn.Module) -> ModuleInfo:
    attrs = {}
    for f in getattr(m, "__dataclass_fields__", {}):
        if f in ("parent", "name"):
            continue
        v = getattr(m, f, None)
        if isinstance(v, (bool, int, float, str)) or (
            isinstance(v, tuple) and all(isinstance(i, (int, str)) for i in v)
        ):
            attrs[f] = v
    enclosing, p = [], getattr(m, "parent", None)
    while isinstance(p, nn.Module):
        enclosing.append(p)
        p = getattr(p, "parent", None)
    return ModuleInfo(
        "/".join(m.scope.path),
        type_names(m),
        attrs,
        flax_classes.flax_names(m),
        flax_classes.explicit_inits(m, tuple(enclosing)),
    )


def _view_shape(shape: tuple[int, ...], owner: ModuleInfo | None, name: str):
    """The kernel's 2-D view (`kernel_view`): DenseGeneral's input axes are `axis` plus
    `batch_dims`."""
    if owner is None or name != "kernel":
        return None
    axis = owner.attrs.get("axis", -1)
    n_in = (1 if isinstance(axis, int) else len(axis)) + len(owner.attrs.get("batch_dims", ()))
    return kernel_view(
        owner.flax_type_names(), shape, einsum_str=owner.attrs.get("einsum_str"), n_in=n_in
    )


def _local_axes(shape: tuple[int, ...], stacked: tuple, owner: ModuleInfo | None, name: str):
    """`nn.ConvLocal` stores one filter per output position: a kernel
    `(*output_positions, rf*in, out)` and (unshared) a bias `(*output_positions, out)`. The
    positions are independent filters, so they are stacked axes like those of `nn.scan`:
    fans are those of one filter (fan_in rf*in, fan_out out, in every preset) and each
    position is its own draw. Returns the stacked axes with the positions added."""
    if owner is None or "ConvLocal" not in owner.flax_type_names():
        return stacked
    n_filter = {"kernel": 2, "bias": 1}.get(name)
    seen = [j for j in range(len(shape)) if j not in stacked]
    if n_filter is None or len(seen) <= n_filter:
        return stacked
    return tuple(sorted((*stacked, *seen[: len(seen) - n_filter])))


def trace(model: nn.Module, key, *args, method=None, reuse: bool = True, **kwargs):
    """Abstract init: `jax.eval_shape(model.init, ...)` under a method interceptor
    (`nn.intercept_methods`, Flax's public hook, active for this call only) that records every
    module and the shape each variable had where its module created it. Inside a lifted
    transform (`nn.scan`, `nn.vmap`) a module sees one slice of a stacked variable; comparing
    the two shapes finds the stack axes.

    With `reuse` (the default), a call of one of Flax's own leaf layers (`nn.Dense`,
    `nn.Conv`, `nn.LayerNorm`, ... `_REUSABLE`) that repeats an earlier call exactly (the same
    class, attributes, method and input types; see `_CallCache`) is not traced again: its
    variables are put in its scope as zeros of the shapes the first call created, and it
    returns zeros of the first call's output types. An abstract trace only sees types, so the
    result is the same, and a stack of 1000 identical layers traces about one layer's
    initializers and forward pass instead of 1000 (`tests/test_trace_reuse.py` checks the
    result equals `reuse=False`'s on many kinds of model, and on cases an adversarial review
    found). Interceptors still see every call: one installed around this call runs outside
    jaxinit's, and while the model runs one of its own (inside jaxinit's) nothing is replayed.
    A Python side effect of a layer's initializer happens once per distinct call here (the
    values come from the policy, or from Flax's own `model.init` in `complete`).

    Args:
        model: the Linen module.
        key: the key or rng dict `model.init` takes (only its avals matter).
        *args: the example inputs.
        method: `model.init`'s `method=`.
        reuse: skip repeated calls of Flax's leaf layers (see above); False traces every
            call.
        **kwargs: keyword arguments for the module's method.

    Returns:
        (abstract variables, {module path: ModuleInfo}, {variable path: shape its module saw}).
    """
    modules: dict[str, ModuleInfo] = {}
    owners: dict[str, nn.Module] = {}
    inner: dict[str, tuple[int, ...]] = {}
    calls = _CallCache() if reuse else None

    def interceptor(next_fun, a, kw, context):
        m = context.module
        first = False  # the first call of a module at a new path, with no variables yet
        if m.scope is not None:
            p = "/".join(m.scope.path)
            if p not in modules:
                first = not m.scope.variables()
                modules[p] = _module_info(m)
                owners[p] = m
            elif getattr(m, "parent", None) is owners[p] and m is not owners[p]:
                # `nn.share_scope(wrapper, inner)`: a child shares its parent's scope and
                # creates the variables: it becomes the owner and the wrapper's types stay
                # matchable. (Other modules seen at a known path, such as a cell's
                # `initialize_carry` under a temporary root scope, are not owners.)
                owners[p] = m
                info, old = _module_info(m), modules[p]
                names = info.type_names + tuple(
                    t for t in old.type_names if t not in info.type_names
                )
                fnames = info.flax_names + tuple(
                    t for t in old.flax_names if t not in info.flax_names
                )
                modules[p] = ModuleInfo(
                    p, names, {**old.attrs, **info.attrs}, fnames, info.explicit_inits
                )
        key = calls.key(context, next_fun, a, kw) if first and calls is not None else None
        if key is not None and key in calls.entries:
            out = calls.replay(m, key)
        else:
            n_modules = len(modules)
            out = next_fun(*a, **kw)
            if key is not None and len(modules) == n_modules:
                calls.record(m, key, out, (a, kw))
        if m.scope is not None:
            p = "/".join(m.scope.path)
            for col, names in m.scope.variables().items():
                for name, v in names.items():
                    v = v.unbox() if isinstance(v, meta.AxisMetadata) else v
                    if not isinstance(v, Mapping) and hasattr(v, "shape"):
                        inner.setdefault("/".join(x for x in (col, p, name) if x), tuple(v.shape))
        return out

    def f(k):
        if calls is not None:  # the model's own trace: where its method is not transformed
            calls.trace_state = get_opaque_trace_state()
        return model.init(with_params_key(key, k), *args, method=method, **kwargs)

    with nn.intercept_methods(interceptor):
        abstract = jax.eval_shape(f, params_key(key))
    return abstract, modules, inner


# Flax's own layers without submodules whose init is a function of (attributes, method, input
# types) alone: exact classes, so a subclass (which may override anything) is always traced.
# nn.Embed is not here: it creates its table in `setup`, which must run for `__call__` to work.
_REUSABLE = frozenset(
    {
        nn.Dense,
        nn.DenseGeneral,
        nn.Einsum,
        nn.Conv,
        nn.ConvTranspose,
        nn.ConvLocal,
        nn.LayerNorm,
        nn.RMSNorm,
        nn.GroupNorm,
        nn.InstanceNorm,
        nn.BatchNorm,
        nn.Dropout,
    }
)


class _NotReusable(Exception):
    """A call that `_CallCache` cannot describe exactly: it is traced as usual."""


class _CallCache:
    """Calls of `_REUSABLE` layers already traced in one `trace`, by what determines them.

    A call is described by its key: the exact class; every dataclass attribute but `parent` and
    `name`, with the type of each element (`_typed`: functions by identity, `(3, 3)` is not
    `(3.0, 3.0)`); the method name; the tree structure of its arguments with, for each leaf,
    the type of a traced value (`jax.typeof`: shape, dtype, weak type, sharding), the type and
    bytes of a small concrete array, or the type and value of a Python scalar; the JAX
    settings in `_CONFIG`; and the abstract mesh in context. A call is recorded or replayed
    only when
    - its module is at a new path, with no variables yet, and its scope belongs to the model's
      own root scope (not a lifted transform's: `nn.scan`, `nn.vmap`, `nn.remat`);
    - it runs in the model's own trace, the one `model.init` starts in (not inside a
      `jax.vmap` a module or `method=` runs), and jaxinit's interceptor is the innermost one;
    - its first call created no submodule, its variables are arrays or `_BOXES` of arrays, and
      its outputs are traced values (not one of its inputs passed through), all of types
      `jnp.zeros` reproduces exactly.
    Anything else is traced as usual.
    """

    def __init__(self):
        self.entries: dict = {}
        self.root = None
        self.trace_state = None
        self._zeros: dict = {}

    def key(self, context, next_fun, args, kwargs):
        """The key of the first call of a module at a new path, or None when the call is not
        reusable (see the class docstring)."""
        m, method_name = context.module, context.method_name
        if self.root is None:
            self.root = m.scope.root  # the first call is the model's own: its root scope
        if type(m) not in _REUSABLE or method_name == "setup" or m.scope.root is not self.root:
            return None
        # jaxinit's interceptor must be the innermost (an interceptor the model installs runs
        # inside it and must see every call), in the model's own trace (not a `jax.vmap`,
        # `jax.jit`, `lax.scan`... that a module or `method=` runs).
        if next_fun is not context.orig_method or not self.trace_state == get_opaque_trace_state():
            return None
        try:
            attrs = tuple(
                (f, _typed(getattr(m, f, None)))
                for f in m.__dataclass_fields__
                if f not in ("parent", "name")
            )
            leaves, treedef = jax.tree.flatten((args, kwargs))
            key = (
                type(m),
                method_name,
                attrs,
                treedef,
                tuple(map(_leaf_key, leaves)),
                tuple(getattr(jax.config, name) for name in _CONFIG),
                jax.sharding.get_abstract_mesh(),
            )
            hash(key)
        except (_NotReusable, TypeError):
            return None
        return key

    def record(self, m: nn.Module, key, out, args) -> None:
        try:
            variables = []
            for col, names in m.scope.variables().items():
                if not m.scope.is_mutable_collection(col):
                    return
                for name, v in names.items():
                    box = None
                    if isinstance(v, meta.AxisMetadata):
                        if type(v) not in _BOXES:  # a box of its own may hold anything
                            return
                        box, v = v, v.value
                    variables.append((col, name, box, self.zeros_type(v)))
            leaves, treedef = jax.tree.flatten(out)
            inputs = {id(x) for x in jax.tree.leaves(args)}
            if any(not isinstance(y, jax.core.Tracer) or id(y) in inputs for y in leaves):
                return  # an output that is an input, or concrete: not a traced value
            out_types = tuple(self.zeros_type(y) for y in leaves)
            self.entries[key] = (tuple(variables), treedef, out_types)
        except _NotReusable:
            return

    def replay(self, m: nn.Module, key):
        variables, treedef, out_types = self.entries[key]
        for col, name, box, t in variables:
            z = self.zeros(t)
            m.scope.put_variable(col, name, box.replace_boxed(z) if box is not None else z)
        return jax.tree.unflatten(treedef, [self.zeros(t) for t in out_types])

    def zeros(self, t):
        """A new zeros value of type `t` (new each time, so no two replayed values are the same
        Python object where the full trace has two): one broadcast of a zero scalar kept per
        dtype (all are made in the model's own trace, see `key`)."""
        z0 = self._zeros.get(t.dtype)
        if z0 is None:
            z0 = self._zeros[t.dtype] = jnp.zeros((), t.dtype)
        return jax.lax.broadcast_in_dim(z0, t.shape, ()) if t.shape else z0 + z0

    def zeros_type(self, x):
        """The type of `x` when `jnp.zeros` makes a value of exactly that type (not for weak
        types or explicit shardings), else `_NotReusable`."""
        if not isinstance(x, jax.Array) or is_key_array(x):
            raise _NotReusable
        t = jax.typeof(x)
        if jax.typeof(self.zeros(t)) != t:
            raise _NotReusable
        return t


# A leaf argument at most this large that is not a traced value (a NumPy or concrete jax
# array) is part of the key by value, as a layer may branch on it (`deterministic=np.True_`);
# a larger one makes the call not reusable.
_CONCRETE_MAX = 64

# The JAX settings that change what a layer's trace does (type promotion, precision).
_CONFIG = (
    "jax_numpy_dtype_promotion",
    "jax_numpy_rank_promotion",
    "jax_enable_x64",
    "jax_default_matmul_precision",
    "jax_explicit_x64_dtypes",
)

# The metadata boxes whose `value` is the whole variable (`nn.with_partitioning`,
# `nn.with_logical_partitioning`); a box of another class may hold several values.
_BOXES = (meta.Partitioned, nn.LogicallyPartitioned)


def _typed(v):
    """`v` with the type of every element beside it, so that `(3, 3)` and `(3.0, 3.0)` (equal
    to Python) are different keys."""
    if isinstance(v, (tuple, list)):
        return (type(v), tuple(_typed(e) for e in v))
    if isinstance(v, Mapping):
        return (type(v), tuple((_typed(k), _typed(e)) for k, e in v.items()))
    return (type(v), v)


def _leaf_key(leaf):
    if isinstance(leaf, jax.core.Tracer):
        return jax.typeof(leaf)
    if isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
        if np.size(leaf) > _CONCRETE_MAX:
            raise _NotReusable
        a = np.asarray(leaf)
        return (type(leaf), jax.typeof(leaf), a.dtype, a.shape, a.tobytes())
    if leaf is None or isinstance(leaf, (bool, int, float, complex, str)):
        return (type(leaf), leaf)
    raise _NotReusable


def params_key(key):
    """The "params" key of `key`.

    Args:
        key: a PRNG key, or an rng dict (`{"params": k1, "dropout": k2}`, as `model.init`
            accepts).

    Returns:
        `key` itself, or its "params" entry.

    Raises:
        PolicyError: for an rng dict without "params".
    """
    if isinstance(key, Mapping):
        if "params" not in key:
            raise PolicyError(
                f"an rng dict needs a 'params' key (the parameters' keys derive from it); got "
                f"the streams {sorted(key)}."
            )
        return key["params"]
    return key


def with_params_key(key, k):
    """`key` with its "params" stream replaced.

    Args:
        key: a PRNG key or an rng dict.
        k: the new "params" key.

    Returns:
        `k`, or a copy of the rng dict with "params" set to `k` (the other streams go to the
        module).
    """
    if isinstance(key, Mapping):
        return {**key, "params": k}
    return k


def specs_from_abstract(
    abstract, modules: dict[str, ModuleInfo], inner: dict | None = None
) -> tuple[list[ParamSpec], dict, list[str]]:
    """The model description of an abstract init.

    Args:
        abstract: the abstract variables (`trace`'s first result).
        modules: {module path: ModuleInfo} (`trace`'s second).
        inner: {variable path: shape its module created} (`trace`'s third), for stacked axes.

    Returns:
        (a ParamSpec for every array variable, {path: metadata box} to restore after drawing,
        the paths of variables that are not arrays (sown tuples, None, PRNG keys): no rule
        sees those, and the module's own init creates them).
    """
    inner = inner or {}
    flat = flatten_dict(unfreeze(abstract), sep="/")
    out, boxes, others = [], {}, []
    for path, leaf in flat.items():
        unboxed = leaf.unbox() if isinstance(leaf, meta.AxisMetadata) else leaf
        if not is_array_like(unboxed) or is_key_array(unboxed):
            others.append(path)
            continue
        if isinstance(leaf, meta.AxisMetadata):
            boxes[path] = leaf
            leaf = leaf.unbox()
        parts = path.split("/")
        scope_parts = parts[1:-1]  # drop the collection and the variable name
        chain = []
        for j in range(len(scope_parts), -1, -1):
            mi = modules.get("/".join(scope_parts[:j]))
            if mi is not None:
                chain.append(mi)
        owner = modules.get("/".join(scope_parts))
        shape = tuple(leaf.shape)
        stacked = stack_axes(path, shape, inner.get(path))
        stacked = _local_axes(shape, stacked, owner, parts[-1])
        seen = tuple(d for j, d in enumerate(shape) if j not in stacked)
        spec = ParamSpec(
            path=path,
            shape=shape,
            dtype=leaf.dtype,
            modules=tuple(chain),
            view_shape=_view_shape(seen, owner, parts[-1]),
            stack_axes=stacked,
        )
        out.append(spec)
    return out, boxes, others


def unfreeze(x):
    """`x` as a plain dict when it is a `FrozenDict` (else unchanged)."""
    return core.unfreeze(x) if isinstance(x, core.FrozenDict) else x


def rebox(path: str, value, boxes: dict):
    """`value` in the metadata box (`nn.Partitioned`, ...) `boxes` records for `path`, or
    `value` itself when the model did not box it."""
    box = boxes.get(path)
    return box.replace_boxed(value) if box is not None else value


def complete(
    model: nn.Module, key, missing: list[str], *args, method=None, shardings=None, **kwargs
) -> dict:
    """The values of the `missing` paths (variables no rule covers, and non-parameters), as the
    model's own init creates them.

    This runs Flax's public `model.init` under `jax.jit` with the same rngs and keeps only the
    `missing` outputs: XLA drops the draws of every other parameter as dead code, and the rng
    sequence is `model.init`'s by construction, so each returned value equals
    `jax.jit(model.init)`'s bit for bit. Nothing of Flax is patched or pushed: its classes and
    module context are as they were before the call. A non-parameter computed from the
    parameters during init (a sown value) is therefore `model.init`'s, computed from Flax's
    initial parameters.

    Args:
        model: the Linen module.
        key: the key or rng dict `model.init` takes.
        missing: the flat paths ("collection/module/.../name") to return.
        *args: the example inputs.
        method: `model.init`'s `method=`.
        shardings: {path: sharding} for the outputs, or None.
        **kwargs: keyword arguments for the module's method.

    Returns:
        {path: value} for every path in `missing` (boxed where Flax boxes it).
    """

    def run(k):
        variables = model.init(k, *args, method=method, **kwargs)
        flat = flatten_dict(unfreeze(variables), sep="/")
        absent = [p for p in missing if p not in flat]
        if absent:
            raise PolicyError(f"the model did not create the variables {absent} when re-run.")
        return {p: flat[p] for p in missing}

    out_shardings = {p: shardings[p] for p in missing} if shardings else None
    jitted = jax.jit(run) if out_shardings is None else jax.jit(run, out_shardings=out_shardings)
    return jitted(key)


def assemble(flat_values: dict) -> dict:
    """The nested variables dict of {"collection/module/.../name": value}."""
    return unflatten_dict(flat_values, sep="/")
