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
from flax import core
from flax.core import meta
from flax.traverse_util import flatten_dict, unflatten_dict

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


def trace(model: nn.Module, key, *args, method=None, **kwargs):
    """Abstract init: `jax.eval_shape(model.init, ...)` under a method interceptor
    (`nn.intercept_methods`, Flax's public hook, active for this call only) that records every
    module and the shape each variable had where its module created it. Inside a lifted
    transform (`nn.scan`, `nn.vmap`) a module sees one slice of a stacked variable; comparing
    the two shapes finds the stack axes.

    Args:
        model: the Linen module.
        key: the key or rng dict `model.init` takes (only its avals matter).
        *args: the example inputs.
        method: `model.init`'s `method=`.
        **kwargs: keyword arguments for the module's method.

    Returns:
        (abstract variables, {module path: ModuleInfo}, {variable path: shape its module saw}).
    """
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
