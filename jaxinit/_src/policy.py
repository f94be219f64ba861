"""The policy engine: ordered regex rules that choose the initializer of every parameter.

A `Rule` matches a parameter by `re.fullmatch` of its "/"-joined path, optionally also by the
type of a module that owns it (the owner or any enclosing module, by class name or any base
class name: `module="Dense"` is any class so named, `module="flax:Dense"` only Flax's own
classes and their subclasses, as preset rules use), by rank or by shape. It names a registry
scheme and its hyperparameters. A hyperparameter may be bound from context, as a string:

* `"ctx:fan_in"`, `"ctx:fan_out"`: fans of the parameter itself (of its 2-D view for
  DenseGeneral-style kernels, or of the whole fused group);
* `"ctx:kernel_fan_in"`, `"ctx:kernel_fan_out"`: fans of the sibling kernel of the same module
  (a bias takes its bound from its kernel: torch's `U(+-1/sqrt(fan_in))`);
* `"ctx:hidden_size"`: the hidden size of the enclosing recurrent cell;
* `"ctx:cell_fan_in"`: input features + hidden size of the enclosing recurrent cell, the
  fan_in of the ONE kernel over [x, h] that Haiku's and TF1's cells hold (from the cell's
  input kernel `i*/kernel` or `dense_i/kernel`);
* `"ctx:module.ATTR"`: attribute ATTR of the nearest enclosing module that has it;
* `"cfg:NAME"`: `policy.variables[NAME]` (e.g. the number of layers, for depth scaling).

A rule with `group=` fuses the parameters it matches into one array (concatenated along
`group_axis`, members ordered by `group_order`), draws it once and splits it: Keras's LSTM
kernel is one (in, 4H) matrix though Flax stores four (in, H) pieces.

Where the model code passed an explicit initializer (`nn.Dense(kernel_init=zeros)`), a rule
with `explicit_init="keep"` (every preset rule), or any rule of a `Policy(explicit_init="keep")`,
leaves it standing; `"override"` on either replaces it (see `EXPLICIT_INIT`).

The first matching rule wins. Unmatched parameters keep the module's own initializer
(`fallback="keep"`) or fail, all listed at once (`fallback="strict"`). A required rule that
matches nothing is reported with an `UnusedRuleWarning` (or an error, `unused="error"`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import warnings
from typing import Any, Iterable, Mapping, Sequence

import jax

from jaxinit._src import fans as fans_lib
from jaxinit._src import registry
from jaxinit._src.errors import (
    JaxinitError,
    PolicyError,
    ShapeError,
    did_you_mean,
    unknown,
)

CTX_NAMES = ("fan_in", "fan_out", "kernel_fan_in", "kernel_fan_out", "hidden_size", "cell_fan_in")
# A recurrent cell's input-side kernel, relative to the cell (Linen ii/if/.../i, NNX if_,
# dense_i): its first axis is the cell's input features (`ctx:cell_fan_in`).
_CELL_INPUT_KERNEL = re.compile(r"(?:i[a-z]?_?|dense_i)/kernel")
FALLBACKS = ("keep", "strict")
GROUP_FALLBACKS = ("error", "separate")
UNUSED = ("warn", "error", "ignore")
# What a rule does to a parameter whose module the model code gave an explicit initializer
# (`nn.Dense(kernel_init=zeros)`): "keep" it (the model's initializer stands, drawn by Flax
# from the parameter's own key) or "override" it with the rule's scheme. Set on a Rule or on
# the Policy (None: not set); "override" wins when either sets it, then "keep"; when neither
# does the rule applies as written. Preset rules say "keep": explicit initializers stand.
EXPLICIT_INIT = ("keep", "override")
# `module="flax:Dense|Conv"`: only Flax's own classes (flax.linen / flax.nnx, or subclasses of
# them) whose name matches; `module="Dense|Conv"`: any class of that name, user classes too.
MODULE_NAMESPACES = ("flax", "flax.linen", "flax.nnx")
KERNEL_SIBLINGS = ("kernel", "weight", "w")
RULE_FIELDS = (
    "pattern",
    "scheme",
    "hyperparameters",
    "module",
    "module_attrs",
    "rank",
    "shape",
    "group",
    "group_member",
    "group_order",
    "group_axis",
    "group_fallback",
    "raw_shape",
    "optional",
    "explicit_init",
    "name",
)


class UnusedRuleWarning(UserWarning):
    """A rule of a policy matched no parameter (often a typo in its pattern)."""


# --------------------------------------------------------------------------------------------
# What the engine knows about a model's parameters.


@dataclasses.dataclass(frozen=True)
class ModuleInfo:
    """A module enclosing parameters: its path, class names (MRO) and simple attributes."""

    path: str
    type_names: tuple[str, ...]
    attrs: Mapping[str, Any]
    # Public Flax names of the classes in its MRO ("flax.linen.Dense"); () for a class that is
    # neither Flax's nor a subclass of one. `module="flax:..."` rules match these.
    flax_names: tuple[str, ...] = ()
    # Its `*_init` attributes that the model code set to something other than its Flax class's
    # default ("kernel_init"): the parameters they create keep them unless told otherwise.
    explicit_inits: tuple[str, ...] = ()

    @property
    def type_name(self) -> str:
        return self.type_names[0] if self.type_names else ""

    def flax_type_names(self, namespace: str = "flax") -> tuple[str, ...]:
        """The class names of its Flax classes, from `namespace` ("flax", "flax.linen" or
        "flax.nnx")."""
        return tuple(n.rsplit(".", 1)[1] for n in self.flax_names if n.startswith(namespace + "."))


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One parameter (or other variable) of a model, before anything is sampled."""

    path: str
    shape: tuple[int, ...]
    dtype: Any
    modules: tuple[ModuleInfo, ...] = ()  # innermost (owner) first
    view_shape: tuple[int, ...] | None = None  # the 2-D view a DenseGeneral kernel is drawn in
    # Axes of `shape` added by a lifted transform (`nn.scan`/`nn.vmap` over layers): the module
    # created one `inner_shape` array per index of these axes, so fans, rank and shape rules
    # and the draw itself (one independent draw per slice) use `inner_shape`.
    stack_axes: tuple[int, ...] = ()

    @property
    def inner_shape(self) -> tuple[int, ...]:
        """The shape the owning module created (the stored shape without `stack_axes`)."""
        return tuple(d for k, d in enumerate(self.shape) if k not in self.stack_axes)

    @property
    def stack_shape(self) -> tuple[int, ...]:
        return tuple(self.shape[k] for k in self.stack_axes)

    @property
    def draw_shape(self) -> tuple[int, ...]:
        return self.view_shape if self.view_shape is not None else self.inner_shape

    @property
    def module_type(self) -> str:
        return self.modules[0].type_name if self.modules else ""

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""


def einsum_view(equation: Any, shape: tuple[int, ...]) -> tuple[int, int] | None:
    """The 2-D (fan_in, fan_out) view of an Einsum kernel (the equation's second operand), as
    Keras's EinsumDense computes its fans (keras/src/layers/core/einsum_dense.py,
    `_analyze_split_string`): kernel axes that appear in the output are output units (batch
    letters included), the others are input units. A kernel whose contracted axes do not lead
    is drawn as a (fan_in, fan_out) matrix reshaped to its shape: exact for element-wise
    schemes, only approximately structured for orthogonal. None when the equation cannot be
    read (no "->", not two operands, an ellipsis in the kernel, a rank mismatch)."""
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


# Modules that flatten their kernel to a 2-D (in axes, out axes) view before kernel_init.
GENERAL_TYPES = ("DenseGeneral", "LinearGeneral")


def kernel_view(
    type_names: Sequence[str],
    shape: tuple[int, ...],
    *,
    einsum_str: Any = None,
    n_in: int | None = None,
) -> tuple[int, int] | None:
    """The 2-D view a kernel is drawn in: Einsum kernels as `einsum_view` reads them;
    DenseGeneral/LinearGeneral (and subclasses) as (prod of the first `n_in` axes: batch and
    input axes, prod of the rest), as Flax flattens them; None for any other module."""
    if "Einsum" in type_names:
        return einsum_view(einsum_str, shape)
    if n_in is None or not any(t in GENERAL_TYPES for t in type_names):
        return None
    if len(shape) > 2 and 0 < n_in < len(shape):
        return (math.prod(shape[:n_in]), math.prod(shape[n_in:]))
    return None


def is_array_like(value: Any) -> bool:
    """Has a shape and a dtype: an array or a ShapeDtypeStruct (sown tuples, None, Python
    scalars held in a variable are not)."""
    return hasattr(value, "shape") and hasattr(value, "dtype")


def simple_attrs(obj: Any) -> dict[str, Any]:
    """The attributes of a module that are plain numbers, strings or tuples of them."""
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
    return tuple(c.__name__ for c in type(obj).__mro__ if c.__name__ not in ("object", "ABC"))


# --------------------------------------------------------------------------------------------
# Rules.


def _is_ctx(v: Any) -> bool:
    return isinstance(v, str) and (v.startswith("ctx:") or v.startswith("cfg:"))


def _freeze(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_freeze(i) for i in v)
    if isinstance(v, tuple):
        return tuple(_freeze(i) for i in v)
    return v


@dataclasses.dataclass(frozen=True)
class Rule:
    """One rule of a policy. Build-time validated: regexes, scheme name, hyperparameter names,
    context bindings, and (when no value is bound from context) the hyperparameter values."""

    pattern: str
    scheme: str
    hyperparameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    module: str | None = None
    # Attribute values the owning (innermost) module must have, e.g. {"transpose_kernel": True}
    # for a ConvTranspose whose kernel stores in/out swapped.
    module_attrs: Mapping[str, Any] | None = None
    rank: int | None = None
    shape: tuple[int | None, ...] | None = None
    group: str | None = None
    group_member: str | None = None
    group_order: tuple[str, ...] = ()
    group_axis: int = -1
    # When the members cannot be fused (their shapes differ off the group axis): "error", or
    # "separate": draw each alone with its own fans (torch MultiheadAttention packs q/k/v into
    # one (3E, E) in_proj only when kdim == vdim == E; otherwise each has its own xavier).
    group_fallback: str = "error"
    raw_shape: bool = False  # draw in the stored shape, not the 2-D view of a DenseGeneral kernel
    optional: bool = False
    # "keep" / "override" an initializer the model code set explicitly (see EXPLICIT_INIT).
    explicit_init: str | None = None
    name: str | None = None

    def __post_init__(self):
        label = self.label
        if not isinstance(self.pattern, str):
            raise PolicyError(f"{label}: pattern must be a string, got {self.pattern!r}.")
        try:
            object.__setattr__(self, "_regex", re.compile(self.pattern))
        except re.error as e:
            raise PolicyError(f"{label}: invalid regex {self.pattern!r}: {e}.") from None
        # Fix: a non-string module/shape/group_order raised a bare TypeError (or passed).
        if self.module is not None and not isinstance(self.module, str):
            raise PolicyError(f"{label}: module must be a regex string, got {self.module!r}.")
        namespace, mod_pattern = None, self.module
        prefix = re.match(r"([A-Za-z_][\w.]*):", self.module) if self.module else None
        if prefix is not None:  # "flax:Dense" (a class-name regex never starts "word:")
            namespace, mod_pattern = prefix.group(1), self.module[prefix.end() :]
            if namespace not in MODULE_NAMESPACES:
                raise PolicyError(
                    f"{label}: module={self.module!r} names the namespace {namespace!r}; "
                    f"valid: {', '.join(n + ':' for n in MODULE_NAMESPACES)} (Flax's own "
                    "classes and their subclasses), or no prefix (any class of that name)."
                    + did_you_mean(namespace, MODULE_NAMESPACES)
                )
        try:
            mod = re.compile(mod_pattern) if mod_pattern is not None else None
        except re.error as e:
            raise PolicyError(f"{label}: invalid module regex {self.module!r}: {e}.") from None
        object.__setattr__(self, "_module_regex", mod)
        object.__setattr__(self, "_module_namespace", namespace)
        if self.explicit_init is not None and self.explicit_init not in EXPLICIT_INIT:
            raise unknown("explicit_init", self.explicit_init, EXPLICIT_INIT, where=label)
        if self.module_attrs is not None:
            if not isinstance(self.module_attrs, Mapping) or not all(
                isinstance(k, str) and isinstance(v, (bool, int, float, str, type(None)))
                for k, v in self.module_attrs.items()
            ):
                raise PolicyError(
                    f"{label}: module_attrs must map attribute names to plain values "
                    f"(bool, number, string, None), got {self.module_attrs!r}."
                )
            object.__setattr__(self, "module_attrs", dict(self.module_attrs))
        if not isinstance(self.hyperparameters, Mapping):
            raise PolicyError(
                f"{label}: hyperparameters must be a mapping, got {self.hyperparameters!r}."
            )
        hp = {str(k): _freeze(v) for k, v in self.hyperparameters.items()}
        object.__setattr__(self, "hyperparameters", hp)
        if self.shape is not None:
            if isinstance(self.shape, (str, bytes)) or not isinstance(self.shape, Iterable):
                raise PolicyError(
                    f"{label}: shape must be a sequence of integers or None, got {self.shape!r}."
                )
            object.__setattr__(self, "shape", tuple(self.shape))
            if any(
                d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0)
                for d in self.shape
            ):
                raise PolicyError(
                    f"{label}: shape must be a sequence of integers >= 0 or None (any size), "
                    f"got {self.shape!r}."
                )
        if isinstance(self.group_order, str) or not all(
            isinstance(m, str) for m in (self.group_order or ())
        ):
            raise PolicyError(
                f"{label}: group_order must be a sequence of member names (strings), "
                f"got {self.group_order!r}."
            )
        object.__setattr__(self, "group_order", tuple(self.group_order or ()))
        if self.rank is not None and (
            isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank < 0
        ):  # Fix: a negative rank was accepted and silently matched nothing.
            raise PolicyError(f"{label}: rank must be an int >= 0, got {self.rank!r}.")
        for flag in ("raw_shape", "optional"):
            if not isinstance(getattr(self, flag), bool):
                raise PolicyError(
                    f"{label}: {flag} must be True or False, got {getattr(self, flag)!r}."
                )
        if isinstance(self.group_axis, bool) or not isinstance(self.group_axis, int):
            raise PolicyError(f"{label}: group_axis must be an int, got {self.group_axis!r}.")
        if self.group_fallback not in GROUP_FALLBACKS:
            raise unknown("group_fallback", self.group_fallback, GROUP_FALLBACKS, where=label)
        if self.group is not None and not self.group_order:
            raise PolicyError(f"{label}: a group needs group_order (the member names in order).")
        try:
            registry.canonical_name(self.scheme)
        except JaxinitError as e:
            raise type(e)(f"{label}: {e}") from None
        registry.check_hyperparameters(self.scheme, hp, where=label)
        for k, v in hp.items():
            if isinstance(v, str) and v.startswith("ctx:"):
                name = v[4:]
                if name not in CTX_NAMES and not name.startswith("module."):
                    choices = list(CTX_NAMES) + ["module.<attr>"]
                    raise PolicyError(
                        f"{label}: hyperparameter {k}={v!r} binds an unknown context value "
                        f"{name!r}.{did_you_mean(name, CTX_NAMES)} Valid: "
                        f"{', '.join('ctx:' + c for c in choices)}, or cfg:<policy variable>."
                    )
        if not any(_is_ctx(v) for v in hp.values()):
            try:
                registry.get(self.scheme, **hp)  # validate the values once, at build time
            except JaxinitError as e:
                raise type(e)(f"{label}: {e}") from None

    @property
    def label(self) -> str:
        return f"rule {self.name!r}" if self.name else f"rule {self.pattern!r} -> {self.scheme}"

    def matches(self, spec: ParamSpec) -> re.Match | None:
        m = self._regex.fullmatch(spec.path)
        if m is None:
            return None
        if self._module_regex is not None and not any(
            self._module_regex.fullmatch(t) for mi in spec.modules for t in self._names(mi)
        ):
            return None
        if self.module_attrs:
            owner = spec.modules[0] if spec.modules else None
            if owner is None or any(
                k not in owner.attrs or owner.attrs[k] != v or type(owner.attrs[k]) is not type(v)
                for k, v in self.module_attrs.items()
            ):
                return None
        # Rank and shape are those the module created (a layer stacked by nn.scan matches the
        # same rules as the layer alone).
        if self.rank is not None and len(spec.inner_shape) != self.rank:
            return None
        if self.shape is not None:
            if len(self.shape) != len(spec.inner_shape) or any(
                s is not None and s != d for s, d in zip(self.shape, spec.inner_shape)
            ):
                return None
        return m

    def _names(self, mi: ModuleInfo) -> tuple[str, ...]:
        """The class names `module=` is matched against: any class name, or only Flax's."""
        if self._module_namespace is None:
            return mi.type_names
        return mi.flax_type_names(self._module_namespace)

    def module_name_only_match(self, spec: ParamSpec) -> ModuleInfo | None:
        """For a `flax:` rule that does not match: the enclosing module whose class NAME
        matches (a user class called like a Flax one), if the path matches too."""
        if self._module_namespace is None or self._regex.fullmatch(spec.path) is None:
            return None
        for mi in spec.modules:
            if any(self._module_regex.fullmatch(t) for t in mi.type_names):
                return mi
        return None

    def to_dict(self) -> dict[str, Any]:
        d = {}
        for f in RULE_FIELDS:
            v = getattr(self, f)
            default = Rule.__dataclass_fields__[f].default
            if f == "hyperparameters":
                d[f] = {k: list(x) if isinstance(x, tuple) else x for k, x in v.items()}
            elif f in ("pattern", "scheme") or v != default:
                d[f] = list(v) if isinstance(v, tuple) else v
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "rule") -> "Rule":
        if not isinstance(d, Mapping):
            raise PolicyError(f"{where}: a rule must be a mapping, got {type(d).__name__}.")
        for k in d:
            if k not in RULE_FIELDS:
                raise PolicyError(
                    f"{where}: unknown rule field {k!r}.{did_you_mean(k, RULE_FIELDS)} "
                    f"Valid fields: {', '.join(RULE_FIELDS)}."
                )
        for k in ("pattern", "scheme"):
            if k not in d:
                raise PolicyError(f"{where}: a rule needs the field {k!r}.")
        kw = dict(d)
        kw["hyperparameters"] = dict(kw.get("hyperparameters") or {})
        for k in ("shape", "group_order"):
            if kw.get(k) is not None:
                kw[k] = tuple(kw[k])
        return cls(**kw)


# --------------------------------------------------------------------------------------------
# Decisions: the result of matching, before anything is sampled.


@dataclasses.dataclass(frozen=True)
class Decision:
    """How one parameter will be initialized."""

    spec: ParamSpec
    rule_index: int | None  # None: not covered (module default)
    rule: Rule | None
    hyperparameters: Mapping[str, Any]  # resolved (context bound)
    group: str | None = None
    group_shape: tuple[int, ...] | None = None  # the fused array's shape
    group_slice: tuple[int, int] | None = None  # this member's range along the group axis
    # Not covered because the model code set this initializer attribute explicitly (e.g.
    # "scale_init") and the rule `explicit_rule` (an index) would have overridden it.
    explicit: str | None = None
    explicit_rule: int | None = None
    # Why an uncovered parameter is left to its module (for explain), when it is not obvious.
    note: str | None = None

    @property
    def covered(self) -> bool:
        return self.rule is not None

    @property
    def scheme(self) -> str | None:
        return registry.canonical_name(self.rule.scheme) if self.rule else None

    @property
    def sample_shape(self) -> tuple[int, ...]:
        if self.group_shape is not None:
            return self.group_shape
        return (
            self.spec.inner_shape
            if self.rule is not None and self.rule.raw_shape
            else self.spec.draw_shape
        )

    def initializer(self):
        return registry.get(self.rule.scheme, **self.hyperparameters)


@dataclasses.dataclass
class Resolution:
    """All decisions for a model, plus the rules that matched nothing."""

    decisions: list[Decision]
    unused_rules: list[tuple[int, Rule]]
    rules: tuple[Rule, ...] = ()  # the policy's, for the rule indices in decisions

    def by_path(self) -> dict[str, Decision]:
        return {d.spec.path: d for d in self.decisions}


class Policy:
    """An ordered list of rules plus a fallback. Immutable; round-trips through
    `ml_collections.ConfigDict` (`to_config`/`from_config`) and JSON (`to_json`/`from_json`).

    >>> import jaxinit
    >>> p = jaxinit.Policy([jaxinit.Rule(r".*/bias", "zeros")], fallback="keep")
    >>> len(p.rules)
    1
    """

    def __init__(
        self,
        rules: Iterable[Rule | Mapping[str, Any]] = (),
        *,
        fallback: str = "keep",
        unused: str = "warn",
        variables: Mapping[str, Any] | None = None,
        name: str | None = None,
        partition_rules: Sequence[tuple[str, Any]] = (),
        explicit_init: str | None = None,
    ):
        rules = list(rules)
        self.rules: tuple[Rule, ...] = tuple(
            r if isinstance(r, Rule) else Rule.from_dict(r, where=f"rule #{i}")
            for i, r in enumerate(rules)
        )
        if fallback not in FALLBACKS:
            raise unknown("fallback", fallback, FALLBACKS, where="Policy")
        if unused not in UNUSED:
            raise unknown("unused", unused, UNUSED, where="Policy")
        if explicit_init is not None and explicit_init not in EXPLICIT_INIT:
            raise unknown("explicit_init", explicit_init, EXPLICIT_INIT, where="Policy")
        # "override": every rule replaces initializers the model code passed explicitly
        # (`kernel_init=zeros`); "keep": rules that do not say otherwise leave them standing.
        self.explicit_init = explicit_init
        self.fallback = fallback
        self.unused = unused
        if variables is not None and not isinstance(variables, Mapping):
            # Fix: a non-mapping raised a bare TypeError from dict().
            raise PolicyError(f"Policy: variables must be a mapping, got {variables!r}.")
        self.variables = dict(variables or {})
        self.name = name
        from jaxinit._src.sharding import compile_rules  # validates regexes and specs

        compile_rules(partition_rules)
        self.partition_rules = tuple(
            (p, tuple(tuple(a) if isinstance(a, list) else a for a in spec) if spec else ())
            for p, spec in partition_rules
        )
        for i, r in enumerate(self.rules):
            for k, v in r.hyperparameters.items():
                if isinstance(v, str) and v.startswith("cfg:") and v[4:] not in self.variables:
                    raise PolicyError(
                        f"{r.label} (#{i}): hyperparameter {k}={v!r} names the policy variable "
                        f"{v[4:]!r}, which is not set.{did_you_mean(v[4:], self.variables)} "
                        f"Set variables: {', '.join(sorted(self.variables)) or '(none)'}."
                    )

    def __repr__(self) -> str:
        return (
            f"Policy(name={self.name!r}, rules={len(self.rules)}, fallback={self.fallback!r}, "
            f"variables={self.variables!r}"
            + (f", explicit_init={self.explicit_init!r})" if self.explicit_init else ")")
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and self.to_dict() == other.to_dict()

    def replace(self, **kw) -> "Policy":
        d = dict(
            rules=self.rules,
            fallback=self.fallback,
            unused=self.unused,
            variables=self.variables,
            name=self.name,
            partition_rules=self.partition_rules,
            explicit_init=self.explicit_init,
        )
        d.update(kw)
        return Policy(d.pop("rules"), **d)

    def prepend(self, *rules: Rule | Mapping[str, Any]) -> "Policy":
        """A policy with `rules` tried before this one's (user overrides on a preset)."""
        return self.replace(rules=tuple(rules) + self.rules)

    # -- serialisation ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        extra = {"explicit_init": self.explicit_init} if self.explicit_init else {}
        return {
            **extra,
            "name": self.name,
            "fallback": self.fallback,
            "unused": self.unused,
            "variables": dict(self.variables),
            "rules": [r.to_dict() for r in self.rules],
            "partition_rules": [
                [p, [list(a) if isinstance(a, tuple) else a for a in spec]]
                for p, spec in self.partition_rules
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Policy":
        from jaxinit._src.config import policy_from_dict  # validated schema

        return policy_from_dict(d)

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **{"indent": 2, **kw})

    @classmethod
    def from_json(cls, text: str) -> "Policy":
        from jaxinit._src.config import policy_from_json

        return policy_from_json(text)

    def to_config(self):
        from jaxinit._src.config import policy_to_config

        return policy_to_config(self)

    @classmethod
    def from_config(cls, cfg) -> "Policy":
        from jaxinit._src.config import policy_from_config

        return policy_from_config(cfg)

    # -- matching -----------------------------------------------------------------------------

    def resolve(self, specs: Sequence[ParamSpec]) -> Resolution:
        """Matches every parameter to its rule and binds context. Samples nothing."""
        specs = list(specs)
        by_path = {s.path: s for s in specs}
        used = [False] * len(self.rules)
        matched: list[tuple[ParamSpec, int | None, re.Match | None]] = []
        kept: dict[str, tuple[str, int]] = {}  # path -> (explicit init attribute, rule index)
        for s in specs:
            for i, r in enumerate(self.rules):
                m = r.matches(s)
                if m is not None:
                    used[i] = True
                    attr = self._explicit(s, r)
                    if attr is not None:
                        kept[s.path] = (attr, i)
                    matched.append((s, i, m))
                    break
            else:
                matched.append((s, None, None))
        # A fused group is drawn whole or not at all: one member with an explicit initializer
        # leaves the whole group to the model.
        for s, i, m in matched:
            if s.path in kept and self.rules[i].group is not None:
                gid = m.expand(self.rules[i].group)
                for s2, i2, m2 in matched:
                    if i2 == i and s2.path not in kept and m2.expand(self.rules[i].group) == gid:
                        kept[s2.path] = (kept[s.path][0] + " (of a group member)", i)
        matched = [(s, None, None) if s.path in kept else (s, i, m) for s, i, m in matched]
        unmatched = [s.path for s, i, _ in matched if i is None and s.path not in kept]
        if unmatched and self.fallback == "strict":
            raise PolicyError(
                f"strict policy{_named(self.name)}: {len(unmatched)} parameter(s) match no rule: "
                + ", ".join(unmatched)
                + ". Add rules for them or use fallback='keep'."
            )
        unused_rules = [(i, r) for i, r in enumerate(self.rules) if not used[i]]
        required_unused = [(i, r) for i, r in unused_rules if not r.optional]
        if required_unused and self.unused != "ignore":
            msg = "; ".join(f"#{i} {r.label}" for i, r in required_unused)
            msg = f"policy{_named(self.name)}: rule(s) matched no parameter: {msg}."
            if self.unused == "error":
                raise PolicyError(msg)
            warnings.warn(msg, UnusedRuleWarning, stacklevel=3)

        # Groups: collect members per (rule, group id).
        groups: dict[tuple[int, str], list[tuple[ParamSpec, str]]] = {}
        for s, i, m in matched:
            if i is not None and self.rules[i].group is not None:
                r = self.rules[i]
                gid = m.expand(r.group)
                member = m.expand(r.group_member) if r.group_member else s.name
                groups.setdefault((i, gid), []).append((s, member))
        group_info: dict[str, tuple[tuple[int, ...], tuple[int, int]]] = {}
        for (i, gid), members in groups.items():
            group_info.update(self._layout_group(self.rules[i], gid, members))

        decisions, validated = [], set()
        for s, i, m in matched:
            if i is None:
                attr, ri = kept.get(s.path, (None, None))
                note = self._uncovered_note(s) if attr is None else None
                decisions.append(
                    Decision(s, None, None, {}, explicit=attr, explicit_rule=ri, note=note)
                )
                continue
            r = self.rules[i]
            gid = m.expand(r.group) if r.group is not None and s.path in group_info else None
            gshape, gslice = group_info[s.path] if gid is not None else (None, None)
            shape_for_ctx = (
                gshape if gshape is not None else (s.inner_shape if r.raw_shape else s.draw_shape)
            )
            hp = {
                k: self._bind(v, k, s, r, i, shape_for_ctx, by_path)
                for k, v in r.hyperparameters.items()
            }
            d = Decision(s, i, r, hp, gid, gshape, gslice)
            sig = (d.scheme, repr(sorted(hp.items())), d.sample_shape, str(s.dtype))
            if sig not in validated:  # build and trace once per distinct signature
                try:
                    init = d.initializer()
                    jax.eval_shape(
                        lambda k, f=init, sh=d.sample_shape, dt=s.dtype: f(k, sh, dt),
                        _ABSTRACT_KEY,
                    )
                except JaxinitError as e:
                    raise type(e)(f"parameter {s.path!r} shape {s.shape}, {r.label}: {e}") from None
                validated.add(sig)
            decisions.append(d)
        return Resolution(decisions, unused_rules, self.rules)

    def _explicit(self, spec: ParamSpec, rule: Rule) -> str | None:
        """The owner's initializer attribute that created `spec` when the model code set it
        explicitly and `rule` is to keep it; else None."""
        modes = (rule.explicit_init, self.explicit_init)
        if "override" in modes or "keep" not in modes or not spec.modules:
            return None
        attr = spec.name + "_init"
        return attr if attr in spec.modules[0].explicit_inits else None

    def _uncovered_note(self, spec: ParamSpec) -> str | None:
        """Why no rule covers `spec`, when its module is not one the rules know."""
        for i, r in enumerate(self.rules):
            mi = r.module_name_only_match(spec)
            if mi is not None:
                return (
                    f"{mi.type_name} is not Flax's own; rule #{i} {r.name or r.pattern} "
                    f"matches {r._module_namespace} classes only"
                )
        owner = spec.modules[0] if spec.modules else None
        if owner is not None and not owner.flax_names:
            return f"no rule for class {owner.type_name}"
        return None

    def _layout_group(self, rule: Rule, gid: str, members: list[tuple[ParamSpec, str]]):
        order = {name: k for k, name in enumerate(rule.group_order)}
        names = [mem for _, mem in members]
        for mem in names:
            if mem not in order:
                raise PolicyError(
                    f"{rule.label}: group {gid!r} has a member {mem!r} that is not in "
                    f"group_order {list(rule.group_order)}.{did_you_mean(mem, order)}"
                )
        missing = [n for n in rule.group_order if n not in names]
        if missing or len(set(names)) != len(names):
            raise PolicyError(
                f"{rule.label}: group {gid!r} must have each of {list(rule.group_order)} exactly "
                f"once; found {sorted(names)}"
                # name what is wrong, not only what was found
                + (f", missing {missing}" if missing else ", with duplicates")
                + f" (paths: {[s.path for s, _ in members]})."
            )
        members = sorted(members, key=lambda sm: order[sm[1]])
        shapes = [s.inner_shape if rule.raw_shape else s.draw_shape for s, _ in members]
        for s, _ in members:
            if (s.stack_axes, s.stack_shape) != (
                members[0][0].stack_axes,
                members[0][0].stack_shape,
            ):
                raise ShapeError(
                    f"{rule.label}: group {gid!r} cannot fuse {s.path!r} (stacked {s.stack_shape} "
                    f"on axes {s.stack_axes}) with {members[0][0].path!r} (stacked "
                    f"{members[0][0].stack_shape} on axes {members[0][0].stack_axes})."
                )
        nd = len(shapes[0])
        ax = rule.group_axis % nd if nd else 0
        for (s, _), sh in zip(members, shapes):
            other = tuple(d for k, d in enumerate(sh) if k != ax)
            ref = tuple(d for k, d in enumerate(shapes[0]) if k != ax)
            if len(sh) != nd or other != ref or s.dtype != members[0][0].dtype:
                if rule.group_fallback == "separate":
                    return {}  # each member is drawn alone
                raise ShapeError(
                    f"{rule.label}: group {gid!r} cannot fuse {s.path!r} of shape "
                    f"{sh} ({s.dtype}) with {members[0][0].path!r} of shape "
                    f"{shapes[0]} ({members[0][0].dtype}) along axis {rule.group_axis}."
                )
        total = sum(sh[ax] for sh in shapes)
        gshape = tuple(total if k == ax else d for k, d in enumerate(shapes[0]))
        out, start = {}, 0
        for (s, _), sh in zip(members, shapes):
            out[s.path] = (gshape, (start, start + sh[ax]))
            start += sh[ax]
        return out

    def _bind(self, v, k, spec: ParamSpec, rule: Rule, i: int, shape, by_path):
        if not _is_ctx(v):
            return v
        where = f"parameter {spec.path!r}, {rule.label} (#{i}), hyperparameter {k}={v!r}"
        name = v[4:]
        if v.startswith("cfg:"):
            return self.variables[name]
        if name in ("fan_in", "fan_out"):
            fi, fo = _fans(shape, where)
            return fi if name == "fan_in" else fo
        if name in ("kernel_fan_in", "kernel_fan_out"):
            sib = None
            for n in KERNEL_SIBLINGS:
                sib = by_path.get(f"{spec.parent}/{n}" if spec.parent else n)
                if sib is not None:
                    break
            if sib is None:
                raise PolicyError(
                    f"{where}: cannot be resolved: no sibling kernel "
                    f"({' or '.join(KERNEL_SIBLINGS)}) next to it under {spec.parent!r}."
                )
            fi, fo = _fans(sib.draw_shape, where)
            return fi if name == "kernel_fan_in" else fo
        if name == "hidden_size":
            for mi in spec.modules:
                for attr in ("hidden_size", "hidden_features", "num_units", "units"):
                    if isinstance(mi.attrs.get(attr), int):
                        return mi.attrs[attr]
                if mi.type_name.endswith("Cell") and isinstance(mi.attrs.get("features"), int):
                    return mi.attrs["features"]
            raise PolicyError(
                f"{where}: cannot be resolved: no enclosing recurrent cell with a hidden size "
                f"(modules: {[mi.type_name for mi in spec.modules] or 'unknown'})."
            )
        if name == "cell_fan_in":
            try:
                h = self._bind("ctx:hidden_size", k, spec, rule, i, shape, by_path)
            except PolicyError:
                raise PolicyError(
                    f"{where}: cannot be resolved: no enclosing recurrent cell with a hidden "
                    f"size (modules: {[mi.type_name for mi in spec.modules] or 'unknown'})."
                ) from None
            cell = spec.path.rsplit("/", 2)[0]
            for p, s in by_path.items():
                rest = p[len(cell) + 1 :] if p.startswith(cell + "/") else ""
                if _CELL_INPUT_KERNEL.fullmatch(rest) and len(s.inner_shape) == 2:
                    return s.inner_shape[0] + h
            raise PolicyError(
                f"{where}: cannot be resolved: no input kernel (i*/kernel or dense_i/kernel) "
                f"of rank 2 in the recurrent cell {cell!r}."
            )
        attr = name[len("module.") :]
        for mi in spec.modules:
            if attr in mi.attrs:
                return mi.attrs[attr]
        raise PolicyError(
            f"{where}: cannot be resolved: no enclosing module has the attribute {attr!r}."
        )


def _named(name: str | None) -> str:
    """ " 'name'" for a named policy, "" otherwise (messages read "policy: ...", not "policy :")."""
    return f" {name!r}" if name else ""


_ABSTRACT_KEY = jax.ShapeDtypeStruct((), jax.random.key(0).dtype)


def _fans(shape, where) -> tuple[float, float]:
    try:
        return fans_lib.compute_fans(shape, scheme="context")
    except ShapeError as e:
        raise PolicyError(f"{where}: cannot be resolved: {e}") from None


def stats_of(d: Decision):
    """Theoretical (mean, std, low, high) and the fans the scheme uses, or None where unknown."""
    if not d.covered:
        return None, None
    init = d.initializer()
    st = init.stats(d.sample_shape) if hasattr(init, "stats") else None
    hp = d.hyperparameters
    axes = {k: hp[k] for k in ("in_axis", "out_axis", "batch_axis") if hp.get(k) is not None}
    try:
        if hasattr(init, "fans"):  # a scheme with its own fan rule (Keras depthwise)
            fans = tuple(float(f) for f in init.fans(tuple(d.sample_shape)))
        else:
            fans = fans_lib.compute_fans(d.sample_shape, scheme="explain", **axes)
    except ShapeError:
        fans = None
    if isinstance(hp.get("fan_in"), (int, float)) or isinstance(hp.get("fan_out"), (int, float)):
        fi = hp.get("fan_in") if hp.get("fan_in") is not None else (fans[0] if fans else None)
        fo = hp.get("fan_out") if hp.get("fan_out") is not None else (fans[1] if fans else None)
        fans = (fi, fo)
    return st, fans
