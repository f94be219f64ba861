"""Plain pytrees (dicts, lists, dataclasses, Equinox-style modules): paths only."""

from __future__ import annotations

import jax

from jaxinit._src.errors import ShapeError
from jaxinit._src.paths import is_key_array, keystr
from jaxinit._src.specs import ParamSpec


def walk(tree):
    """Describes every leaf of a pytree (paths only: no modules).

    Args:
      tree: a pytree of arrays (dicts, lists, dataclasses, Equinox-style modules); every leaf
        must have `.shape` and `.dtype`.

    Returns:
      (leaves, paths, treedef, specs): the leaves and their "/"-joined paths in flatten
      order, the treedef to rebuild the tree, and a `ParamSpec` per leaf that is not a PRNG
      key (key leaves are kept as they are and seen by no rule).

    Raises:
      ShapeError: for a leaf that is not an array, naming its path.

    >>> import jax.numpy as jnp
    >>> leaves, paths, treedef, specs = walk({"w": jnp.zeros((2, 3)), "b": jnp.zeros(3)})
    >>> paths, [s.shape for s in specs]
    (['b', 'w'], [(3,), (2, 3)])
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    specs, paths = [], []
    for kp, leaf in leaves:
        path = "/".join(keystr(k) for k in kp)
        paths.append(path)
        if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
            # A non-array leaf (a Python float, a string) is named, with what to do about it.
            raise ShapeError(
                f"pytree leaf {path!r} is a {type(leaf).__name__} ({leaf!r}), not an array; "
                "jaxinit.init needs leaves with .shape and .dtype (jax or numpy arrays, "
                "jax.ShapeDtypeStruct). Filter other leaves out of the tree first."
            )
        if is_key_array(leaf):
            continue  # PRNG keys are RNG state, not parameters: no rule sees them; kept
        specs.append(ParamSpec(path, tuple(leaf.shape), leaf.dtype))
    return [leaf for _, leaf in leaves], paths, treedef, specs
