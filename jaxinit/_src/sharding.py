"""Sharded initialization: every parameter is created directly with its `NamedSharding`.

Shardings come from Flax partitioning metadata (`nn.with_partitioning`,
`nn.with_logical_partitioning` plus logical axis rules) or from a regex table of
`PartitionSpec`s, `[(pattern, spec), ...]` matched with `re.fullmatch` on the parameter path
(first match wins; unmatched parameters are replicated). The table can live in the policy
(`Policy(..., partition_rules=...)`), so one config file says how to initialize and how to shard.

The draw is one `jax.jit` with `out_shardings`; with `jax_threefry_partitionable` (JAX's default
since 0.5) every device generates only its own shard's random bits, so no device holds a full
copy of a sharded parameter and the values are bit-identical to the unsharded draw with the same
key. Exception: schemes that need the whole matrix (orthogonal and delta_orthogonal need a QR;
sparse needs a per-column ranking) are computed whole on each device and then sliced, which
costs one full copy of that parameter per device while it is drawn.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import flax.linen as nn
import jax
from flax.core import meta
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxinit._src.errors import PolicyError

WHOLE_MATRIX_SCHEMES = ("orthogonal", "delta_orthogonal", "sparse")

PartitionRules = Sequence[tuple[str, Any]]


def to_spec(spec: Any, where: str) -> PartitionSpec:
    """A PartitionSpec from one (a list of mesh axis names, lists for several, or None).

    Args:
      spec: a PartitionSpec, None (replicated) or a list/tuple of entries.
      where: how messages name the rule.

    Returns:
      The PartitionSpec.

    >>> tuple(to_spec(["data", ["x", "y"], None], "rule #0"))
    ('data', ('x', 'y'), None)
    """
    if isinstance(spec, PartitionSpec):
        return spec
    if spec is None:
        return PartitionSpec()
    if isinstance(spec, (list, tuple)):
        return PartitionSpec(*[tuple(s) if isinstance(s, list) else s for s in spec])
    raise PolicyError(f"{where}: {spec!r} is not a PartitionSpec or a list of mesh axis names.")


def compile_rules(rules: PartitionRules | None) -> list[tuple[re.Pattern, PartitionSpec]]:
    """Compiles and validates a table of partition rules.

    Args:
      rules: `[(regex, PartitionSpec or list of mesh axis names), ...]`, or None.

    Returns:
      [(compiled regex, PartitionSpec)], in order.

    Raises:
      PolicyError: for an entry that is not a pair, an invalid regex or spec, naming it.
    """
    out = []
    for i, item in enumerate(rules or ()):
        try:
            pattern, spec = item
        except (TypeError, ValueError):
            raise PolicyError(
                f"partition rule #{i}: {item!r} must be a (pattern, PartitionSpec) pair."
            ) from None
        try:
            rx = re.compile(pattern)
        except re.error as e:
            raise PolicyError(f"partition rule #{i}: invalid regex {pattern!r}: {e}.") from None
        out.append((rx, to_spec(spec, f"partition rule #{i}")))
    return out


def shardings_for(
    paths_shapes: Mapping[str, tuple[int, ...]],
    boxes: Mapping[str, Any],
    mesh: Mesh,
    partition_rules: PartitionRules | None = None,
    logical_axis_rules: Any = None,
) -> dict[str, NamedSharding]:
    """The sharding of every parameter: the regex table first, then Flax metadata, else
    replicated.

    Args:
      paths_shapes: {path: shape} of the parameters.
      boxes: {path: Flax metadata box} (`nn.Partitioned`, `nn.LogicallyPartitioned`).
      mesh: the device mesh.
      partition_rules: the regex table (see `compile_rules`).
      logical_axis_rules: rules mapping logical axis names to mesh axes (default: the box's).

    Returns:
      {path: NamedSharding}.

    Raises:
      PolicyError: for a spec with more entries than dimensions, an unknown mesh axis or a
        dimension the mesh axes do not divide, naming the parameter.
    """
    table = compile_rules(partition_rules)
    out = {}
    for path, shape in paths_shapes.items():
        spec = None
        for rx, s in table:
            if rx.fullmatch(path):
                spec = s
                break
        box = boxes.get(path)
        if spec is None and isinstance(box, meta.AxisMetadata):
            spec = box.get_partition_spec()
            if isinstance(box, nn.LogicallyPartitioned):
                spec = nn.logical_to_mesh_axes(
                    tuple(spec), rules=logical_axis_rules if logical_axis_rules else box.rules
                )
        spec = spec if spec is not None else PartitionSpec()
        if len(spec) > len(shape):
            raise PolicyError(
                f"parameter {path!r} of shape {shape} cannot take PartitionSpec {spec} "
                f"(more entries than dimensions)."
            )
        for dim, axes in zip(shape, spec):
            if axes is None:
                continue
            names = axes if isinstance(axes, tuple) else (axes,)
            size = 1
            for n in names:
                if n not in mesh.shape:
                    raise PolicyError(
                        f"parameter {path!r}: PartitionSpec {spec} names mesh axis {n!r}, "
                        f"which the mesh does not have (axes: {', '.join(mesh.axis_names)})."
                    )
                size *= mesh.shape[n]
            if dim % size:
                raise PolicyError(
                    f"parameter {path!r} of shape {shape}: dimension {dim} is not divisible by "
                    f"the {size} devices of mesh axes {names} (PartitionSpec {spec})."
                )
        out[path] = NamedSharding(mesh, spec)
    return out


def current_sharding(value: Any):
    """The sharding of an existing value when it spans several devices.

    Args:
      value: a jax.Array, or a ShapeDtypeStruct that carries a sharding.

    Returns:
      Its multi-device sharding (an abstract-mesh NamedSharding placed on the mesh in
      context), or None: single-device, no sharding, or a tracer (inside jit).
    """
    if isinstance(value, jax.core.Tracer):
        return None
    sh = getattr(value, "sharding", None)
    if sh is None or isinstance(sh, jax.sharding.SingleDeviceSharding):
        return None
    if isinstance(sh, NamedSharding) and isinstance(sh.mesh, jax.sharding.AbstractMesh):
        # An abstract module (nnx.eval_shape under jax.sharding.set_mesh): place it on the
        # concrete mesh in context, as Flax's own jitted init would.
        mesh = jax.sharding.get_mesh()
        if mesh is None or getattr(mesh, "empty", True) or mesh.abstract_mesh != sh.mesh:
            return None
        sh = NamedSharding(mesh, sh.spec)
    try:
        if len(sh.device_set) <= 1:
            return None
    except Exception:  # a sharding without devices: nothing to place on
        return None
    return sh


def current_shardings(values: Mapping[str, Any], decisions) -> dict | None:
    """The current shardings of the covered parameters, so that new values land the same way.

    Args:
      values: {path: current value} (an array, or the ShapeDtypeStruct of an abstract NNX
        module).
      decisions: the resolution's decisions.

    Returns:
      {path: sharding or None} for the covered parameters, or None when none is sharded (the
      common single-device case).
    """
    out = {d.spec.path: current_sharding(values[d.spec.path]) for d in decisions if d.covered}
    return out if any(s is not None for s in out.values()) else None
