"""Plain pytrees (dicts, lists, dataclasses, Equinox-style modules): paths only."""

from __future__ import annotations

import jax

from jaxinit._src.errors import ShapeError
from jaxinit._src.paths import is_key_array, keystr
from jaxinit._src.policy import ParamSpec


def walk(tree):
    """(leaves with paths, treedef, specs). Leaves must have `.shape` and `.dtype`; PRNG key
    leaves are kept as they are and seen by no rule."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    specs, paths = [], []
    for kp, leaf in leaves:
        path = "/".join(keystr(k) for k in kp)
        paths.append(path)
        if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
            # Fix: a non-array leaf (a Python float) raised a bare AttributeError.
            raise ShapeError(
                f"pytree leaf {path!r} is a {type(leaf).__name__} ({leaf!r}), not an array; "
                "jaxinit.init needs leaves with .shape and .dtype (jax or numpy arrays, "
                "jax.ShapeDtypeStruct). Filter other leaves out of the tree first."
            )
        if is_key_array(leaf):
            continue  # PRNG keys are RNG state, not parameters: no rule sees them; kept
        specs.append(ParamSpec(path, tuple(leaf.shape), leaf.dtype))
    return [leaf for _, leaf in leaves], paths, treedef, specs
