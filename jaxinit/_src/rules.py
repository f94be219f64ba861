"""Rules: one regex (and optional module, rank, shape) -> one registry scheme.

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

Every rule is validated when it is built (regexes compiled once, scheme and hyperparameter
names checked with a did-you-mean, hyperparameter values checked by building the scheme when
none is bound from context); `Rule.from_dict` also checks the JSON types of a rule document
(`RULE_SCHEMA`). Rules are immutable.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable, Mapping

from jaxinit._src import registry
from jaxinit._src.errors import JaxinitError, PolicyError, did_you_mean, unknown
from jaxinit._src.specs import ModuleInfo, ParamSpec

CTX_NAMES = ("fan_in", "fan_out", "kernel_fan_in", "kernel_fan_out", "hidden_size", "cell_fan_in")
GROUP_FALLBACKS = ("error", "separate")
# What a rule does to a parameter whose module the model code gave an explicit initializer
# (`nn.Dense(kernel_init=zeros)`): "keep" it (the model's initializer stands, drawn by Flax
# from the parameter's own key) or "override" it with the rule's scheme. Set on a Rule or on
# the Policy (None: not set); "override" wins when either sets it, then "keep"; when neither
# does the rule applies as written. Preset rules say "keep": explicit initializers stand.
EXPLICIT_INIT = ("keep", "override")
# `module="flax:Dense|Conv"`: only Flax's own classes (flax.linen / flax.nnx, or subclasses of
# them) whose name matches; `module="Dense|Conv"`: any class of that name, user classes too.
MODULE_NAMESPACES = ("flax", "flax.linen", "flax.nnx")

# The schema of a rule document (JSON, YAML, a dict): field -> (accepted types, description).
# The fields are Rule's, in its order.
RULE_SCHEMA: dict[str, tuple[tuple[type, ...], str]] = {
    "pattern": ((str,), "a regex string"),
    "scheme": ((str,), "a registry name"),
    "hyperparameters": ((Mapping,), "a mapping"),
    "module": ((str, type(None)), "a regex string or null"),
    "module_attrs": ((Mapping, type(None)), "a mapping of attribute name to value, or null"),
    "rank": ((int, type(None)), "an integer or null"),
    "shape": ((list, tuple, type(None)), "a list of integers/nulls or null"),
    "group": ((str, type(None)), "a template string or null"),
    "group_member": ((str, type(None)), "a template string or null"),
    "group_order": ((list, tuple), "a list of strings"),
    "group_axis": ((int,), "an integer"),
    "group_fallback": ((str,), "'error' or 'separate'"),
    "raw_shape": ((bool,), "true or false"),
    "optional": ((bool,), "true or false"),
    "explicit_init": ((str, type(None)), "'keep', 'override' or null (the policy's)"),
    "name": ((str, type(None)), "a string or null"),
}
RULE_FIELDS = tuple(RULE_SCHEMA)


class FrozenDict(dict):
    """A dict that cannot be changed after it is built (the mappings a Rule or Policy holds).

    It is a plain `dict` to read, compare, copy, pickle and `json.dumps`; every mutating
    method raises TypeError.

    >>> d = FrozenDict({"std": 0.02})
    >>> d == {"std": 0.02}, d["std"]
    (True, 0.02)
    >>> d["std"] = 1.0
    Traceback (most recent call last):
      ...
    TypeError: this mapping is immutable (it belongs to a Rule or Policy); build a new one instead.
    """

    def _immutable(self, *args: Any, **kwargs: Any):
        raise TypeError(
            "this mapping is immutable (it belongs to a Rule or Policy); build a new one instead."
        )

    __setitem__ = __delitem__ = _immutable
    clear = pop = popitem = setdefault = update = _immutable
    __ior__ = _immutable

    def __reduce__(self):
        return (FrozenDict, (dict(self),))


def is_ctx(value: Any) -> bool:
    """Whether a hyperparameter value is bound at resolution ("ctx:..." or "cfg:...")."""
    return isinstance(value, str) and (value.startswith("ctx:") or value.startswith("cfg:"))


def _freeze(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(i) for i in v)
    return v


def check_document(d: Any, where: str) -> None:
    """Checks a rule document against `RULE_SCHEMA`, field by field.

    Args:
      d: the rule as a mapping of plain values (JSON, YAML or a dict).
      where: where the rule is, for the messages ("policy JSON.rules[1]").

    Raises:
      PolicyError: naming `where`, the field and the bad value: a document that is not a
        mapping, an unknown field (with a did-you-mean), a value of the wrong type or a
        missing `pattern` or `scheme`.
    """
    if not isinstance(d, Mapping):
        raise PolicyError(f"{where}: a rule must be a mapping, got {type(d).__name__}.")
    for k, v in d.items():
        if k not in RULE_SCHEMA:
            raise PolicyError(
                f"{where}: unknown field {k!r}.{did_you_mean(k, RULE_FIELDS)} "
                f"Valid fields: {', '.join(RULE_FIELDS)}."
            )
        types, desc = RULE_SCHEMA[k]
        ok = isinstance(v, types) and not (isinstance(v, bool) and bool not in types)
        # The items of list fields are checked too ("shape": [2, "a"] is not a shape).
        if ok and k == "shape" and v is not None:
            ok = all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in v)
        if ok and k == "group_order":
            ok = all(isinstance(m, str) for m in v)
        if not ok:
            raise PolicyError(f"{where}.{k}: must be {desc}, got {v!r}.")
    for k in ("pattern", "scheme"):
        if k not in d:
            raise PolicyError(f"{where}: a rule needs the field {k!r}.")


@dataclasses.dataclass(frozen=True)
class Rule:
    """One rule of a policy: which parameters it matches and the scheme that draws them.

    Validated when built: regexes (compiled once), the scheme name, hyperparameter names,
    context bindings and (when no value is bound from context) the hyperparameter values.
    Immutable: a frozen dataclass whose mappings are `FrozenDict`s.

    Args:
      pattern: a regex that must `re.fullmatch` the parameter's "/"-joined path.
      scheme: a registry name ("glorot_uniform", an alias such as "xavier_uniform_").
      hyperparameters: the scheme's hyperparameters; a string value "ctx:..." or "cfg:..." is
        bound when the policy is resolved (see the module docstring).
      module: a regex over the class names of an enclosing module (the owner or any parent,
        any class of its MRO); "flax:" (or "flax.linen:", "flax.nnx:") in front matches only
        Flax's own classes and their subclasses.
      module_attrs: attribute values the owning module must have, e.g.
        {"transpose_kernel": True} for a ConvTranspose whose kernel stores in/out swapped.
      rank: the rank the module created (stacked axes not counted).
      shape: the shape the module created; None entries match any size.
      group: a template (`re.Match.expand`) naming the fused array of the matched members.
      group_member: a template naming a member (default: the parameter's name).
      group_order: the member names, in the order they are concatenated.
      group_axis: the axis the members are concatenated along.
      group_fallback: when the members cannot be fused (their shapes differ off the group
        axis): "error", or "separate": draw each alone with its own fans (torch
        MultiheadAttention packs q/k/v into one (3E, E) in_proj only when kdim == vdim == E).
      raw_shape: draw in the stored shape, not the 2-D view of a DenseGeneral kernel.
      optional: a rule that matches nothing is not reported.
      explicit_init: "keep" or "override" an initializer the model code set explicitly
        (see EXPLICIT_INIT); None: the policy's setting.
      name: a label for messages and explain tables.

    Raises:
      PolicyError, UnknownNameError, HyperparameterError: naming the rule and the bad value.

    >>> r = Rule("params/.*/bias", "zeros")
    >>> r.pattern, r.scheme, r.label
    ('params/.*/bias', 'zeros', "rule 'params/.*/bias' -> zeros")
    >>> Rule(".*kernel", "normal_", {"std": 0.02}, rank=2).to_dict()
    {'pattern': '.*kernel', 'scheme': 'normal_', 'hyperparameters': {'std': 0.02}, 'rank': 2}
    """

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
        # Every field is type-checked here, with a message naming the rule and the value.
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
            object.__setattr__(self, "module_attrs", FrozenDict(self.module_attrs))
        if not isinstance(self.hyperparameters, Mapping):
            raise PolicyError(
                f"{label}: hyperparameters must be a mapping, got {self.hyperparameters!r}."
            )
        hp = FrozenDict({str(k): _freeze(v) for k, v in self.hyperparameters.items()})
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
        ):  # a negative rank would silently match nothing
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
        if not any(is_ctx(v) for v in hp.values()):
            try:
                registry.get(self.scheme, **hp)  # validate the values once, at build time
            except JaxinitError as e:
                raise type(e)(f"{label}: {e}") from None

    @property
    def label(self) -> str:
        """How messages name the rule: its name, else its pattern and scheme."""
        return f"rule {self.name!r}" if self.name else f"rule {self.pattern!r} -> {self.scheme}"

    def matches(self, spec: ParamSpec) -> re.Match | None:
        """Whether the rule matches a parameter.

        Args:
          spec: the parameter.

        Returns:
          The path's `re.Match` (for group templates) when path, module, module attributes,
          rank and shape all match; else None.
        """
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
        """The rule as a document of plain values (JSON- and YAML-safe).

        Returns:
          A dict with `pattern`, `scheme`, `hyperparameters` and every other field that is not
          at its default; tuples become lists.
        """
        d = {}
        for f in RULE_FIELDS:
            v = getattr(self, f)
            default = Rule.__dataclass_fields__[f].default
            if f == "hyperparameters":
                d[f] = {k: list(x) if isinstance(x, tuple) else x for k, x in v.items()}
            elif f in ("pattern", "scheme") or v != default:
                d[f] = list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, dict) else v
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "rule") -> "Rule":
        """A rule from a document, checked against `RULE_SCHEMA` first (see `check_document`).

        Args:
          d: the rule as a mapping of plain values (a `to_dict` result, parsed JSON or YAML).
          where: where the rule is, for the messages.

        Returns:
          The Rule.

        Raises:
          PolicyError: for a document that does not fit the schema, naming `where` and the
            field; the errors of `Rule` for values it rejects.

        >>> Rule.from_dict({"pattern": ".*/bias", "scheme": "zeros", "rank": 1}).rank
        1
        >>> Rule.from_dict({"pattern": ".*", "scheme": "zeros", "rank": "2"}, where="rules[0]")
        Traceback (most recent call last):
          ...
        jaxinit._src.errors.PolicyError: rules[0].rank: must be an integer or null, got '2'.
        """
        check_document(d, where)
        kw = dict(d)
        kw["hyperparameters"] = dict(kw.get("hyperparameters") or {})
        for k in ("shape", "group_order"):
            if kw.get(k) is not None:
                kw[k] = tuple(kw[k])
        return cls(**kw)
