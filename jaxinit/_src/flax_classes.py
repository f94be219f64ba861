"""Which classes are Flax's own, and which initializers a Flax module uses by default.

* `flax_names(obj)`: the public Flax names (`flax.linen.Dense`, `flax.nnx.Linear`) of the
  classes in `type(obj).__mro__`; a subclass of `nn.Dense` has `flax.linen.Dense` among them, a
  user class that is merely called `Dense` or `RMSNorm` has none. Preset rules match these
  (`module="flax:RMSNorm"`), so big_vision's own `RMSNorm` (`x * (1 + scale)`, zeros scale) is
  not mistaken for Flax's.
* `explicit_inits(module)`: the `*_init` attributes of a Linen module whose value is not a
  default initializer of its Flax class (nor of an enclosing Flax module, which passes its own
  defaults down: an LSTMCell's gate Dense gets the cell's `recurrent_kernel_init`). Those
  initializers were chosen by the model code (`norm(scale_init=zeros_init())`, a zero head,
  T5's query scaling), and a preset leaves them standing (see `Policy(explicit_init=...)`).

Defaults are compared by value, not only by identity: Flax's initializers are closures
(`lecun_normal()` makes a new one on every call), so two are the same initializer when they
run the same code over equal closure values (`_same_init`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import Any

_PUBLIC: dict[type, str] | None = None


def _public() -> dict[type, str]:
    """{class: "flax.linen.Name" / "flax.nnx.Name"} for the classes Flax exports."""
    global _PUBLIC
    if _PUBLIC is None:
        import flax.linen
        from flax import nnx

        out: dict[type, str] = {}
        for prefix, ns in (("flax.linen", flax.linen), ("flax.nnx", nnx)):
            for name, obj in vars(ns).items():
                if isinstance(obj, type) and not name.startswith("_"):
                    out.setdefault(obj, f"{prefix}.{name}")
        _PUBLIC = out
    return _PUBLIC


# Base classes every module has: a user class deriving only from these is not Flax's.
_BASES = ("Module", "Object", "Pytree")


def flax_names(obj: Any) -> tuple[str, ...]:
    """Public Flax names of the layer classes in `type(obj).__mro__`.

    Args:
        obj: a module (Linen or NNX), Flax's or a user's subclass.

    Returns:
        The names ("flax.linen.Dense", ...), innermost first; the base classes
        `nn.Module`/`nnx.Module` are left out (every module has them).

    Example:
        >>> import flax.linen as nn
        >>> class MyDense(nn.Dense):
        ...     pass
        >>> flax_names(MyDense(3))
        ('flax.linen.Dense',)
    """
    pub = _public()
    return tuple(
        pub[c] for c in type(obj).__mro__ if c in pub and pub[c].rsplit(".", 1)[1] not in _BASES
    )


def flax_class(obj: Any) -> type | None:
    """The nearest class of `obj`'s MRO defined by Flax itself.

    Args:
        obj: a module.

    Returns:
        That class (exported or not, such as the gate `DenseParams` of Linen's
        OptimizedLSTMCell), or None when only the base classes are Flax's.
    """
    for c in type(obj).__mro__:
        if c.__module__.startswith("flax.") and c.__name__ not in _BASES:
            return c
    return None


def _unwrap(f: Any) -> Any:
    """The initializer under `functools.wraps` wrappers (`nn.with_partitioning(init, names)`
    and `nn.with_logical_partitioning` box the same values: partitioning is not a choice of
    initializer)."""
    for _ in range(8):
        inner = getattr(f, "__wrapped__", None)
        if inner is None or not callable(inner):
            return f
        f = inner
    return f


def _same_value(a: Any, b: Any, depth: int) -> bool:
    a, b = _unwrap(a), _unwrap(b)
    if a is b:
        return True
    if callable(a) and callable(b):
        return _same_init(a, b, depth + 1)
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # arrays and other values without a plain truth value
        return False


def _same_init(a: Any, b: Any, depth: int = 0) -> bool:
    """The same initializer: identical, or the same code over equal closure values (a fresh
    `lecun_normal()` equals Flax's `default_kernel_init`), or equal partials."""
    if a is b:
        return True
    if depth > 4:
        return False
    if isinstance(a, functools.partial) and isinstance(b, functools.partial):
        return (
            _same_value(a.func, b.func, depth)
            and len(a.args) == len(b.args)
            and all(_same_value(x, y, depth) for x, y in zip(a.args, b.args))
            and a.keywords.keys() == b.keywords.keys()
            and all(_same_value(a.keywords[k], b.keywords[k], depth) for k in a.keywords)
        )
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    if code_a is None or code_a is not code_b:
        return False
    ca, cb = a.__closure__ or (), b.__closure__ or ()
    if len(ca) != len(cb):
        return False
    try:
        return all(_same_value(x.cell_contents, y.cell_contents, depth) for x, y in zip(ca, cb))
    except ValueError:  # an empty cell
        return False


def _class_defaults(cls: type) -> dict[str, Any]:
    """{attribute: default} of a Flax class's `*_init` options: its dataclass fields (Linen),
    else its `__init__` keyword defaults (NNX)."""
    out = {}
    fields = getattr(cls, "__dataclass_fields__", None)
    if fields:
        for name, f in fields.items():
            if name.endswith("_init") and f.default is not dataclasses.MISSING:
                out[name] = f.default
        return out
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return out
    for name, p in params.items():
        if name.endswith("_init") and p.default is not inspect.Parameter.empty:
            out[name] = p.default
    return out


@functools.lru_cache(maxsize=None)
def class_defaults(cls: type) -> tuple[tuple[str, Any], ...]:
    """The `*_init` attributes a Flax class declares, with their defaults (cached per class).

    Args:
        cls: a Flax module class.

    Returns:
        ((attribute name, default), ...).
    """
    return tuple(_class_defaults(cls).items())


def _init_attrs(module: Any) -> list[tuple[str, Any, Any]]:
    """(name, value, its Flax class's default) of `module`'s `*_init` attributes."""
    cls = flax_class(module)
    if cls is None:
        return []
    return [
        (name, getattr(module, name), default)
        for name, default in class_defaults(cls)
        if hasattr(module, name)
    ]


def explicit_inits(module: Any, enclosing: tuple[Any, ...] = ()) -> tuple[str, ...]:
    """The `*_init` attributes of `module` (a Flax module or a subclass) that the model code
    chose: neither its Flax class's default for that attribute nor an initializer an enclosing
    Flax module (innermost first) passed down from one of its own defaulted attributes (an
    LSTMCell hands its default `recurrent_kernel_init` to its gate Dense). An initializer
    handed down from an enclosing module's explicit attribute is explicit.

    Args:
        module: the module.
        enclosing: its enclosing modules, innermost first.

    Returns:
        The explicit attributes' names; () for a class that is not Flax's.
    """
    out = []
    for name, value, default in _init_attrs(module):
        if value is None or _same_value(value, default, 0):
            continue  # None: "use another option" (MHA's out_kernel_init=None)
        passed = []  # (enclosing module's attribute explicit?) for each that holds `value`
        for j, outer in enumerate(enclosing):
            held = [a for a, v, _ in _init_attrs(outer) if _unwrap(v) is _unwrap(value)]
            if held:
                explicit_there = explicit_inits(outer, enclosing[j + 1 :])
                passed.extend(a in explicit_there for a in held)
        if not passed or any(passed):
            out.append(name)
    return tuple(out)
