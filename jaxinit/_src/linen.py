"""Flax Linen adapter: parameter specs from an abstract trace, and initialization.

`specs(model, *inputs)` runs `jax.eval_shape(model.init, ...)` under `nn.intercept_methods`
to learn every variable's path, shape and dtype and the type and attributes of every module,
without computing anything. `init(...)` then draws each covered parameter once; when some
variables are left to the module (fallback "keep", or non-parameter collections such as
BatchNorm statistics), it runs the model's own init with the drawn values already in place, so
Flax creates only the missing ones (their initializers are never called for covered ones).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Mapping

import flax.linen as nn
import jax
from flax import core
from flax.core import meta
from flax.linen import module as linen_module
from flax.traverse_util import flatten_dict, unflatten_dict

from jaxinit._src import flax_classes
from jaxinit._src.errors import PolicyError
from jaxinit._src.paths import is_key_array
from jaxinit._src.specs import (
    ModuleInfo,
    ParamSpec,
    is_array_like,
    kernel_view,
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


def trace(model: nn.Module, key, *args, method=None, **kwargs):
    """Abstract init: (abstract variables, {module path: ModuleInfo}, {variable path: shape the
    module saw}). Inside a lifted transform (`nn.scan`, `nn.vmap`) a module sees one slice of
    a stacked variable; comparing the two shapes finds the stack axes."""
    modules: dict[str, ModuleInfo] = {}
    owners: dict[str, nn.Module] = {}
    inner: dict[str, tuple[int, ...]] = {}

    def interceptor(next_fun, a, kw, context):
        m = context.module
        if m.scope is not None:
            p = "/".join(m.scope.path)
            if p not in modules:
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
        out = next_fun(*a, **kw)
        if m.scope is not None:
            p = "/".join(m.scope.path)
            for col, names in m.scope.variables().items():
                for name, v in names.items():
                    v = v.unbox() if isinstance(v, meta.AxisMetadata) else v
                    if not isinstance(v, Mapping) and hasattr(v, "shape"):
                        inner.setdefault("/".join(x for x in (col, p, name) if x), tuple(v.shape))
        return out

    def f(k):
        return model.init(with_params_key(key, k), *args, method=method, **kwargs)

    with nn.intercept_methods(interceptor):
        abstract = jax.eval_shape(f, params_key(key))
    return abstract, modules, inner


def params_key(key):
    """The "params" key of `key`: itself, or the "params" entry of an rng dict
    (`{"params": k1, "dropout": k2}`, as `model.init` accepts)."""
    if isinstance(key, Mapping):
        if "params" not in key:
            raise PolicyError(
                f"an rng dict needs a 'params' key (the parameters' keys derive from it); got "
                f"the streams {sorted(key)}."
            )
        return key["params"]
    return key


def with_params_key(key, k):
    """`key` with its "params" stream replaced by `k` (the other streams go to the module)."""
    if isinstance(key, Mapping):
        return {**key, "params": k}
    return k


def stack_axes(path: str, full: tuple[int, ...], inner: tuple[int, ...] | None) -> tuple:
    """The axes of `full` a lifted transform added to the `inner` shape its module created:
    the leading ones when they fit (`nn.scan`/`nn.vmap` with variable axis 0, the usual case),
    else the first set whose removal leaves `inner`."""
    if inner is None or tuple(inner) == tuple(full):
        return ()
    k = len(full) - len(inner)
    if k > 0:
        # itertools.combinations yields the leading axes (0..k-1) first.
        for axes in itertools.combinations(range(len(full)), k):
            if tuple(d for j, d in enumerate(full) if j not in axes) == tuple(inner):
                return axes
    raise PolicyError(
        f"parameter {path!r}: its module created shape {tuple(inner)} but the model stores "
        f"{tuple(full)}, which is not that shape with stacked axes added."
    )


def specs_from_abstract(
    abstract, modules: dict[str, ModuleInfo], inner: dict | None = None
) -> tuple[list[ParamSpec], dict, list[str]]:
    """ParamSpecs for every variable, the boxes ({path: metadata box}) to restore, and the
    paths of variables that are not parameters (sown tuples, None, PRNG keys): no rule sees
    those, and the module's own init creates them."""
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
    return core.unfreeze(x) if isinstance(x, core.FrozenDict) else x


def rebox(path: str, value, boxes: dict):
    box = boxes.get(path)
    return box.replace_boxed(value) if box is not None else value


# Flax's `Scope.param` calls `make_rng("params")` only for a parameter it creates, so a
# pre-populated (covered) parameter would shift the key of every later parameter of the same
# module: uncovered parameters would then differ from `model.init`'s. Under this flag (set only
# by `complete`) a pre-populated parameter consumes its key exactly as `model.init` would,
# without drawing anything, so uncovered parameters equal `model.init`'s bit for bit.
_CONSUME_RNG_FLAG = "jaxinit_consume_rng"


@contextlib.contextmanager
def _param_hook():
    """Patches `Scope.param` (see above) for the duration of the block only, and restores
    Flax's own method afterwards, so nothing changes process-wide."""
    orig = core.scope.Scope.param
    if getattr(orig, "_jaxinit_hook", False):  # nested: already installed
        yield
        return

    def param(self, name, init_fn, *init_args, unbox=True, **init_kwargs):
        if (
            self.get_flag(_CONSUME_RNG_FLAG, False) is True
            and self.has_variable("params", name)
            and self.has_rng("params")
        ):
            self.make_rng("params")  # the key model.init would have drawn; nothing is drawn
        return orig(self, name, init_fn, *init_args, unbox=unbox, **init_kwargs)

    param._jaxinit_hook = True
    param.__doc__ = orig.__doc__
    core.scope.Scope.param = param
    try:
        yield
    finally:
        core.scope.Scope.param = orig


def complete(
    model: nn.Module,
    key,
    drawn_boxed: dict,
    missing: list[str],
    *args,
    method=None,
    shardings=None,
    **kwargs,
) -> dict:
    """Runs the model's own init with `drawn_boxed` ({path: value}) in place and returns the
    values of the `missing` paths, which Flax creates with the module's own initializers.

    This is Flax's `Module.init` (core `init` = `apply` with the `initializing` flag) with the
    given variables pre-populated, so covered initializers are never called.
    """

    def scope_fn(scope, *a, **kw):
        linen_module._context.capture_stack.append(False)
        try:
            m = model.clone(parent=scope, _deep_clone=True)
            if method is None or isinstance(method, str):
                return getattr(m, method or "__call__")(*a, **kw)
            return method(m, *a, **kw)  # as Flax: an unbound method or `lambda module, ...`
        finally:
            linen_module._context.capture_stack.pop()

    flags = {"initializing": True, _CONSUME_RNG_FLAG: True}
    f = core.apply(scope_fn, mutable=True, flags=flags)
    others = {n: v for n, v in key.items() if n != "params"} if isinstance(key, Mapping) else {}

    def run(drawn, k, streams):
        rngs = {**streams, "params": k}
        _, variables = f(unflatten_dict(drawn, sep="/"), *args, rngs=rngs, **kwargs)
        flat = flatten_dict(unfreeze(variables), sep="/")
        absent = [p for p in missing if p not in flat]
        if absent:
            raise PolicyError(f"the model did not create the variables {absent} when re-run.")
        return {p: flat[p] for p in missing}

    out_shardings = {p: shardings[p] for p in missing} if shardings else None
    jitted = jax.jit(run) if out_shardings is None else jax.jit(run, out_shardings=out_shardings)
    with _param_hook():  # traced (and the hook used) inside the block
        return jitted(drawn_boxed, params_key(key), others)


def assemble(flat_values: dict) -> dict:
    return unflatten_dict(flat_values, sep="/")
