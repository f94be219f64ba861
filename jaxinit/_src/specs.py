"""The model description: what the policy engine knows about a model's parameters.

The adapters (Linen, NNX, plain pytrees) walk a model and describe every parameter as a
`ParamSpec` (path, shape, dtype, the `ModuleInfo` of every enclosing module); rules match
these, and nothing here samples. The 2-D kernel views (`kernel_view`, `einsum_view`) and the
stacked-axes helper (`stack_axes`) are the facts about Flax modules that every adapter shares.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, Mapping, Sequence

from jaxinit._src.errors import PolicyError

# Modules that flatten their kernel to a 2-D (in axes, out axes) view before kernel_init.
GENERAL_TYPES = ("DenseGeneral", "LinearGeneral")


@dataclasses.dataclass(frozen=True)
class ModuleInfo:
    """A module enclosing parameters: its path, class names (MRO) and simple attributes.

    Args:
      path: the module's "/"-joined path ("params/encoder/Dense_0").
      type_names: the class names of its MRO, its own class first.
      attrs: its attributes that are plain values (see `simple_attrs`).
      flax_names: public Flax names of the classes in its MRO ("flax.linen.Dense"); () for a
        class that is neither Flax's nor a subclass of one. `module="flax:..."` rules match
        these.
      explicit_inits: its `*_init` attributes that the model code set to something other than
        its Flax class's default ("kernel_init"): the parameters they create keep them unless a
        rule overrides explicit initializers.

    >>> m = ModuleInfo("params/Dense_0", ("Dense", "Module"), {"features": 4},
    ...                flax_names=("flax.linen.Dense", "flax.linen.Module"))
    >>> m.type_name, m.flax_type_names("flax.linen")
    ('Dense', ('Dense', 'Module'))
    """

    path: str
    type_names: tuple[str, ...]
    attrs: Mapping[str, Any]
    flax_names: tuple[str, ...] = ()
    explicit_inits: tuple[str, ...] = ()

    @property
    def type_name(self) -> str:
        """The module's own class name ("" when unknown)."""
        return self.type_names[0] if self.type_names else ""

    def flax_type_names(self, namespace: str = "flax") -> tuple[str, ...]:
        """The class names of its Flax classes from one namespace.

        Args:
          namespace: "flax" (Linen and NNX), "flax.linen" or "flax.nnx".

        Returns:
          The bare class names ("Dense") of the classes in its MRO that live in `namespace`.
        """
        return tuple(n.rsplit(".", 1)[1] for n in self.flax_names if n.startswith(namespace + "."))


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One parameter (or other variable) of a model, before anything is sampled.

    Args:
      path: the "/"-joined path, collection first ("params/Dense_0/kernel").
      shape: the stored shape.
      dtype: the stored dtype.
      modules: the enclosing modules, innermost (the owner) first.
      view_shape: the 2-D view a DenseGeneral or Einsum kernel is drawn in (see
        `kernel_view`), or None to draw in `inner_shape`.
      stack_axes: axes of `shape` added by a lifted transform (`nn.scan`/`nn.vmap` over
        layers): the module created one `inner_shape` array per index of these axes, so fans,
        rank and shape rules and the draw itself (one independent draw per slice) use
        `inner_shape`.

    >>> s = ParamSpec("params/layers/Dense_0/kernel", (6, 4, 8), "float32", stack_axes=(0,))
    >>> s.inner_shape, s.stack_shape, s.name, s.parent
    ((4, 8), (6,), 'kernel', 'params/layers/Dense_0')
    """

    path: str
    shape: tuple[int, ...]
    dtype: Any
    modules: tuple[ModuleInfo, ...] = ()
    view_shape: tuple[int, ...] | None = None
    stack_axes: tuple[int, ...] = ()

    @property
    def inner_shape(self) -> tuple[int, ...]:
        """The shape the owning module created (the stored shape without `stack_axes`)."""
        return tuple(d for k, d in enumerate(self.shape) if k not in self.stack_axes)

    @property
    def stack_shape(self) -> tuple[int, ...]:
        """The sizes of the stacked axes (() for a parameter that is not stacked)."""
        return tuple(self.shape[k] for k in self.stack_axes)

    @property
    def draw_shape(self) -> tuple[int, ...]:
        """The shape one draw has: the 2-D view when there is one, else `inner_shape`."""
        return self.view_shape if self.view_shape is not None else self.inner_shape

    @property
    def module_type(self) -> str:
        """The owner's class name ("" for a pytree leaf)."""
        return self.modules[0].type_name if self.modules else ""

    @property
    def name(self) -> str:
        """The last path segment ("kernel")."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        """The path without its last segment ("" at the top level)."""
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""


def einsum_view(equation: Any, shape: tuple[int, ...]) -> tuple[int, int] | None:
    """The 2-D (fan_in, fan_out) view of an Einsum kernel, as Keras's EinsumDense computes it.

    The kernel is the equation's second operand (keras/src/layers/core/einsum_dense.py,
    `_analyze_split_string`): kernel axes that appear in the output are output units (batch
    letters included), the others are input units. A kernel whose contracted axes do not lead
    is drawn as a (fan_in, fan_out) matrix reshaped to its shape: exact for element-wise
    schemes, only approximately structured for orthogonal.

    Args:
      equation: the Einsum module's equation ("btd,dnh->btnh").
      shape: the kernel's shape.

    Returns:
      (prod of input axes, prod of output axes), or None when the equation cannot be read (no
      "->", not two operands, an ellipsis in the kernel, a rank mismatch).

    >>> einsum_view("btd,dnh->btnh", (16, 4, 8))
    (16, 32)
    >>> einsum_view("not an equation", (16, 4)) is None
    True
    """
    if not isinstance(equation, str) or "->" not in equation:
        return None
    lhs, out = equation.replace(" ", "").split("->", 1)
    ops = lhs.split(",")
    if len(ops) != 2 or "..." in ops[1] or len(ops[1]) != len(shape) or len(shape) < 2:
        return None
    out = out.replace("...", "")
    inputs = [d for c, d in zip(ops[1], shape) if c not in out]
    outputs = [d for c, d in zip(ops[1], shape) if c in out]
    if not inputs or not outputs:
        return None
    return (math.prod(inputs), math.prod(outputs))


def kernel_view(
    type_names: Sequence[str],
    shape: tuple[int, ...],
    *,
    einsum_str: Any = None,
    n_in: int | None = None,
) -> tuple[int, int] | None:
    """The 2-D view a kernel is drawn in.

    Args:
      type_names: the owner's class names (its MRO).
      shape: the kernel's shape.
      einsum_str: the equation of an Einsum owner.
      n_in: for DenseGeneral/LinearGeneral, how many leading axes are batch and input axes.

    Returns:
      Einsum kernels as `einsum_view` reads them; DenseGeneral/LinearGeneral (and subclasses)
      as (prod of the first `n_in` axes, prod of the rest), as Flax flattens them; None for
      any other module.

    >>> kernel_view(("DenseGeneral", "Module"), (8, 4, 16), n_in=1)
    (8, 64)
    >>> kernel_view(("Dense", "Module"), (8, 16)) is None
    True
    """
    if "Einsum" in type_names:
        return einsum_view(einsum_str, shape)
    if n_in is None or not any(t in GENERAL_TYPES for t in type_names):
        return None
    if len(shape) > 2 and 0 < n_in < len(shape):
        return (math.prod(shape[:n_in]), math.prod(shape[n_in:]))
    return None


def stack_axes(path: str, full: tuple[int, ...], inner: tuple[int, ...] | None) -> tuple:
    """The axes of `full` a lifted transform added to the `inner` shape its module created.

    Args:
      path: the parameter's path (for the error message).
      full: the stored shape.
      inner: the shape the module created, or None when unknown.

    Returns:
      The leading axes when they fit (`nn.scan`/`nn.vmap` with variable axis 0, the usual
      case), else the first set whose removal leaves `inner`; () when nothing is stacked.

    Raises:
      PolicyError: when `full` is not `inner` with axes added.

    >>> stack_axes("params/layers/kernel", (6, 4, 8), (4, 8))
    (0,)
    >>> stack_axes("params/layers/kernel", (4, 6, 8), (4, 8))
    (1,)
    """
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


def is_array_like(value: Any) -> bool:
    """Whether `value` has a shape and a dtype: an array or a ShapeDtypeStruct (sown tuples,
    None, Python scalars held in a variable are not)."""
    return hasattr(value, "shape") and hasattr(value, "dtype")


def simple_attrs(obj: Any) -> dict[str, Any]:
    """The public attributes of a module that are plain numbers, strings or tuples of them."""
    out = {}
    try:
        items = vars(obj).items()
    except TypeError:
        return out
    for k, v in items:
        if k.startswith("_"):
            continue
        if isinstance(v, (bool, int, float, str)) or (
            isinstance(v, tuple) and all(isinstance(i, (int, str)) for i in v)
        ):
            out[k] = v
    return out


def type_names(obj: Any) -> tuple[str, ...]:
    """The class names of `obj`'s MRO, its own class first (without object and ABC)."""
    return tuple(c.__name__ for c in type(obj).__mro__ if c.__name__ not in ("object", "ABC"))
