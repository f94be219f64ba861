"""Flax NNX adapter: parameter specs from the module graph, and in-place re-initialization.

Paths are the graph paths prefixed with the variable's collection (`params/linear/kernel`,
`batch_stats/bn/mean`), so one policy reads the same on Linen and NNX. Works on constructed
modules and on abstract ones from `nnx.eval_shape` (whose variables hold ShapeDtypeStructs);
an abstract module must have every variable covered by a rule, since no default values exist.

Variables whose value is not an array (tuples sown by `self.sow`, None, Python scalars) or is a
PRNG key are not parameters either: no rule sees them and they are kept as they are.

RNG state (`nnx.RngKey`/`nnx.RngCount`, e.g. the streams an `nnx.Dropout` holds) is not a
parameter: no rule sees it and a constructed module keeps it. An abstract module has none, so
`rng_state` gives each key stream `fold_in(key, hash(path))` and each counter 0; the module
comes out whole, and the same key gives the same streams.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
from flax import nnx

from jaxinit._src import flax_classes
from jaxinit._src import paths as paths_lib
from jaxinit._src.errors import PolicyError
from jaxinit._src.paths import is_key_array
from jaxinit._src.specs import (
    ModuleInfo,
    ParamSpec,
    is_array_like,
    kernel_view,
    simple_attrs,
    stack_axes,
    type_names,
)

_COLLECTIONS = {"Param": "params", "BatchStat": "batch_stats", "Cache": "cache"}


def collection_of(var: nnx.Variable) -> str:
    """The collection name a variable's path starts with, as on Linen.

    Args:
      var: an NNX variable.

    Returns:
      "params", "batch_stats" or "cache" for Flax's own variable types (and subclasses),
      else the snake_case class name (`RngKey` -> "rng_key").
    """
    for t in type(var).__mro__:
        if t.__name__ in _COLLECTIONS:
            return _COLLECTIONS[t.__name__]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(var).__name__).lower()


def _join(path) -> str:
    return "/".join(str(p) for p in path)


def walk(module: nnx.Module):
    """Describes every variable of an NNX module graph.

    Args:
      module: the NNX module (concrete, or abstract from `nnx.eval_shape`).

    Returns:
      (variables, specs): {path: Variable} of every array variable (paths start with the
      collection, "params/linear/kernel"), and their `ParamSpec`s with the enclosing
      modules, 2-D kernel views and stacked axes (`nnx.vmap`/`nnx.scan` over layers).
    """
    modules: dict[str, ModuleInfo] = {}
    nodes: dict[str, nnx.Module] = {}
    variables: dict[str, nnx.Variable] = {}
    raw = []
    for path, node in nnx.iter_graph(module):
        if isinstance(node, nnx.Module):
            nodes[_join(path)] = (tuple(path), node)
        elif isinstance(node, nnx.Variable) and not isinstance(node, nnx.RngState):
            raw.append((path, node))
    for p, (path, node) in nodes.items():
        enclosing = tuple(
            nodes[_join(path[:j])][1]
            for j in range(len(path) - 1, -1, -1)
            if _join(path[:j]) in nodes
        )
        modules[p] = ModuleInfo(
            p,
            type_names(node),
            simple_attrs(node),
            flax_classes.flax_names(node),
            flax_classes.explicit_inits(node, enclosing),
        )
    specs = []
    for path, var in raw:
        p = collection_of(var) + "/" + _join(path)
        value = var.get_value()
        if not is_array_like(value) or is_key_array(value):
            continue  # sown tuples, None, Python scalars, PRNG keys: not parameters; kept
        variables[p] = var
        chain = [
            modules[_join(path[:j])]
            for j in range(len(path) - 1, -1, -1)
            if _join(path[:j]) in modules
        ]
        owner = chain[0] if chain else None
        shape = tuple(value.shape)
        stacked = ()
        if owner is not None and path and chain[0].path == _join(path[:-1]):
            expected = layer_shape(owner, nodes[owner.path][1], str(path[-1]))
            if expected is not None and len(expected) < len(shape):
                stacked = stack_axes(p, shape, expected)
        inner = tuple(d for j, d in enumerate(shape) if j not in stacked)
        view = None
        if owner is not None and path[-1] == "kernel":
            view = _kernel_view(owner, nodes[owner.path][1], inner)
        specs.append(ParamSpec(p, shape, value.dtype, tuple(chain), view, stacked))
    return variables, specs


_NORMS = ("LayerNorm", "RMSNorm", "BatchNorm", "GroupNorm", "InstanceNorm")


def layer_shape(owner: ModuleInfo, node: nnx.Module, name: str) -> tuple[int, ...] | None:
    """The shape a Flax NNX layer creates for its variable `name`, from its attributes (None
    where unknown). `nnx.vmap`/`nnx.scan` over a constructor (scan over layers) stores a
    stack of them, `(5, 10, 10)` for five `Linear(10, 10)`; the module keeps its
    `in_features=10`, so comparing the two finds the stacked axes, as on Linen."""
    types = owner.flax_type_names("flax.nnx")

    def ints(*names):
        vals = [getattr(node, n, None) for n in names]
        ok = all(isinstance(v, int) and not isinstance(v, bool) for v in vals)
        return tuple(vals) if ok else None

    def tup(v):
        v = (v,) if isinstance(v, int) else v
        return tuple(v) if isinstance(v, tuple) and all(isinstance(i, int) for i in v) else None

    ks = tup(getattr(node, "kernel_shape", None))
    if "LinearGeneral" in types:
        batch = tup(tuple((getattr(node, "batch_axis", None) or {}).values()))
        fin, fout = (
            tup(getattr(node, "in_features", None)),
            tup(getattr(node, "out_features", None)),
        )
        if batch is None or fin is None or fout is None:
            return None
        return {"kernel": (*batch, *fin, *fout), "bias": (*batch, *fout)}.get(name)
    if "Linear" in types:
        io = ints("in_features", "out_features")
        return None if io is None else {"kernel": io, "bias": io[1:]}.get(name)
    if any(t in types for t in ("Conv", "ConvTranspose")):
        out = ints("out_features")
        return {"kernel": ks, "bias": out}.get(name)
    if "Einsum" in types:
        return {"kernel": ks, "bias": tup(getattr(node, "bias_shape", None))}.get(name)
    if "Embed" in types and name == "embedding":
        return ints("num_embeddings", "features")
    if any(t in types for t in _NORMS) and name in ("scale", "bias", "mean", "var"):
        return ints("num_features")
    return None


def _kernel_view(owner: ModuleInfo, node: nnx.Module, shape: tuple[int, ...]):
    """The kernel's 2-D view (`kernel_view`): LinearGeneral's input axes are `in_features` plus
    `batch_axis` (read from the module: a dict, which ModuleInfo's plain attributes drop)."""
    fin = getattr(node, "in_features", ()) or ()
    n_in = (1 if isinstance(fin, int) else len(fin)) + len(getattr(node, "batch_axis", {}) or {})
    return kernel_view(
        owner.flax_type_names(), shape, einsum_str=getattr(node, "einsum_str", None), n_in=n_in
    )


def is_abstract(var: nnx.Variable) -> bool:
    """Whether the variable holds a ShapeDtypeStruct (from `nnx.eval_shape`), not an array."""
    return isinstance(var.get_value(), jax.ShapeDtypeStruct)


def check_abstract_covered(variables, decisions) -> None:
    """Fails, listing them, when abstract variables are left to their module (no value to keep).

    Args:
      variables: {path: Variable} from `walk`.
      decisions: the resolution's decisions.

    Raises:
      PolicyError: naming every uncovered abstract variable and how to cover it.
    """
    missing = [
        d.spec.path for d in decisions if not d.covered and is_abstract(variables[d.spec.path])
    ]
    if missing:
        raise PolicyError(
            "an abstract NNX module (from nnx.eval_shape) has no values to keep for "
            f"{', '.join(missing)}; add rules that cover them (e.g. "
            "jaxinit.Rule(r'cache/.*', 'zeros') for caches and counters)."
        )


def rng_state(module: nnx.Module, key) -> dict:
    """Values for the abstract RNG state of a module (see the module docstring).

    Args:
      module: the NNX module.
      key: the root key of the init.

    Returns:
      {path: (Variable, value)} for every abstract RngKey (a key derived from the path) and
      RngCount (zeros); {} for a concrete module.

    Raises:
      PolicyError: for RNG state of another type.
    """
    out = {}
    for path, node in nnx.iter_graph(module):
        if not isinstance(node, nnx.RngState) or not is_abstract(node):
            continue
        p = collection_of(node) + "/" + _join(path)
        value = node.get_value()
        if isinstance(node, nnx.RngKey):
            root = key if is_key_array(key) else None
            root = jax.random.wrap_key_data(key) if root is None else root
            new = paths_lib.path_key(root, p)
            out[p] = (node, jax.random.split(new, value.shape) if value.shape else new)
        elif isinstance(node, nnx.RngCount):
            out[p] = (node, jnp.zeros(value.shape, value.dtype))
        else:
            raise PolicyError(
                f"abstract NNX module: RNG state {p!r} is a {type(node).__name__}, which jaxinit "
                "cannot create (known: RngKey, RngCount); build the module concretely instead."
            )
    return out


def write(variables, values: dict) -> None:
    """Sets every value at once (after all of them were drawn).

    Args:
      variables: {path: Variable} from `walk`.
      values: {path: new value}.
    """
    for p, v in values.items():
        variables[p].set_value(v)
