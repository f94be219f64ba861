"""Plain pytrees (dicts, lists, dataclasses, Equinox-style modules): paths only."""

from __future__ import annotations

import jax

from jaxinit._src.paths import keystr
from jaxinit._src.policy import ParamSpec


def walk(tree):
    """(leaves with paths, treedef, specs). Leaves must have `.shape` and `.dtype`."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    specs, paths = [], []
    for kp, leaf in leaves:
        path = "/".join(keystr(k) for k in kp)
        paths.append(path)
        specs.append(ParamSpec(path, tuple(leaf.shape), leaf.dtype))
    return [leaf for _, leaf in leaves], paths, treedef, specs
