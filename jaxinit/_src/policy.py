"""Policies: ordered rules resolved against a model's parameters, before anything is sampled.

A `Policy` is an ordered tuple of `Rule`s plus what to do with the parameters no rule covers.
`Policy.resolve` matches every `ParamSpec` to its first matching rule, binds the context
values of its hyperparameters ("ctx:fan_in", "cfg:depth", ...; see `jaxinit._src.rules`),
lays out fused groups and returns a `Resolution` of one `Decision` per parameter; the draw
engine samples from it.

Where the model code passed an explicit initializer (`nn.Dense(kernel_init=zeros)`), a rule
with `explicit_init="keep"` (every preset rule), or any rule of a `Policy(explicit_init="keep")`,
leaves it standing; `"override"` on either replaces it (see `EXPLICIT_INIT`).

The first matching rule wins. Unmatched parameters keep the module's own initializer
(`fallback="keep"`) or fail, all listed at once (`fallback="strict"`). A required rule that
matches nothing is reported with an `UnusedRuleWarning` (or an error, `unused="error"`).

A policy document (a dict, JSON, a ConfigDict) is validated here, once, field by field:
`Policy.from_dict` checks the policy's fields and `Rule.from_dict` each rule's, and every
error is a `ConfigError` naming the field. Policies are immutable.
"""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from typing import Any, Iterable, Mapping, Sequence

import jax
import ml_collections

from jaxinit._src import fans as fans_lib
from jaxinit._src import registry
from jaxinit._src.errors import (
    ConfigError,
    JaxinitError,
    PolicyError,
    ShapeError,
    did_you_mean,
    unknown,
)
from jaxinit._src.rules import EXPLICIT_INIT, FrozenDict, Rule, is_ctx
from jaxinit._src.sharding import compile_rules
from jaxinit._src.specs import ParamSpec

FALLBACKS = ("keep", "strict")
UNUSED = ("warn", "error", "ignore")
# The fields of a policy document, in `Policy.to_dict` order (explicit_init only when set).
POLICY_FIELDS = (
    "name",
    "fallback",
    "unused",
    "variables",
    "rules",
    "partition_rules",
    "explicit_init",
)
# The names a module's kernel has, next to its bias (`ctx:kernel_fan_in`).
KERNEL_SIBLINGS = ("kernel", "weight", "w")
# A recurrent cell's input-side kernel, relative to the cell (Linen ii/if/.../i, NNX if_,
# dense_i): its first axis is the cell's input features (`ctx:cell_fan_in`).
_CELL_INPUT_KERNEL = re.compile(r"(?:i[a-z]?_?|dense_i)/kernel")


class UnusedRuleWarning(UserWarning):
    """A rule of a policy matched no parameter (often a typo in its pattern)."""


@dataclasses.dataclass(frozen=True)
class Decision:
    """How one parameter will be initialized (one entry of a `Resolution`).

    Args:
      spec: the parameter.
      rule_index: the index of the rule that covers it in the policy, None when no rule does
        (the module's own initializer draws it).
      rule: that rule, or None.
      hyperparameters: the rule's hyperparameters with every context value bound.
      group: the fused group it is drawn in, or None.
      group_shape: the fused array's shape.
      group_slice: this member's (start, stop) along the group axis.
      explicit: when not covered because the model code set this initializer attribute
        explicitly (e.g. "scale_init") and rule `explicit_rule` (an index) would have
        overridden it: that attribute.
      explicit_rule: see `explicit`.
      note: why an uncovered parameter is left to its module (for explain), when it is not
        obvious.

    >>> d = Policy([Rule(".*", "zeros")]).resolve([ParamSpec("w", (2, 3), "float32")])
    >>> d.decisions[0].scheme, d.decisions[0].sample_shape, d.decisions[0].covered
    ('zeros', (2, 3), True)
    """

    spec: ParamSpec
    rule_index: int | None
    rule: Rule | None
    hyperparameters: Mapping[str, Any]
    group: str | None = None
    group_shape: tuple[int, ...] | None = None
    group_slice: tuple[int, int] | None = None
    explicit: str | None = None
    explicit_rule: int | None = None
    note: str | None = None

    @property
    def covered(self) -> bool:
        """Whether a rule covers the parameter."""
        return self.rule is not None

    @property
    def scheme(self) -> str | None:
        """The canonical registry name of the rule's scheme (None when not covered)."""
        return registry.canonical_name(self.rule.scheme) if self.rule else None

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape one draw has: the fused group's, the stored inner shape (`raw_shape`) or
        the parameter's draw shape (its 2-D view, if any)."""
        if self.group_shape is not None:
            return self.group_shape
        return (
            self.spec.inner_shape
            if self.rule is not None and self.rule.raw_shape
            else self.spec.draw_shape
        )

    def initializer(self):
        """The scheme built with the bound hyperparameters.

        Returns:
          The initializer `init(key, shape, dtype)` from the registry.
        """
        return registry.get(self.rule.scheme, **self.hyperparameters)


@dataclasses.dataclass
class Resolution:
    """All decisions for a model, plus the rules that matched nothing (`Policy.resolve`).

    Args:
      decisions: one `Decision` per parameter, in the order of the specs.
      unused_rules: (index, rule) of every rule that matched no parameter.
      rules: the policy's rules, for the rule indices in `decisions`.
    """

    decisions: list[Decision]
    unused_rules: list[tuple[int, Rule]]
    rules: tuple[Rule, ...] = ()

    def by_path(self) -> dict[str, Decision]:
        """The decisions keyed by parameter path.

        Returns:
          {path: Decision}.
        """
        return {d.spec.path: d for d in self.decisions}


def _plain(x: Any) -> Any:
    """ConfigDicts, FrozenConfigDicts and other mappings -> plain dicts; tuples -> lists."""
    if isinstance(x, (ml_collections.ConfigDict, ml_collections.FrozenConfigDict, Mapping)):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


class Policy:
    """An ordered list of rules plus a fallback: how every parameter of a model is initialized.

    Immutable (setting an attribute raises `dataclasses.FrozenInstanceError`; `replace`,
    `prepend` and `append` return new policies). Round-trips through plain dicts
    (`to_dict`/`from_dict`), JSON (`to_json`/`from_json`) and `ml_collections.ConfigDict`
    (`to_config`/`from_config`).

    Args:
      rules: `Rule`s or rule documents (dicts, see `Rule.from_dict`), tried in order: the
        first that matches a parameter wins.
      fallback: for parameters no rule covers: "keep" the module's own initializer, or
        "strict": fail, listing them all.
      unused: for a required (not `optional`) rule that matches nothing: "warn" with an
        `UnusedRuleWarning`, "error" or "ignore".
      variables: the values "cfg:NAME" hyperparameters are bound to.
      name: a label for messages.
      partition_rules: `[(regex, PartitionSpec or list of mesh axis names), ...]`, how
        `jaxinit.init(..., mesh=...)` shards the parameters (see `jaxinit._src.sharding`).
      explicit_init: "override": every rule replaces initializers the model code passed
        explicitly (`kernel_init=zeros`); "keep": rules that do not say otherwise leave them
        standing; None: each rule as it says.

    Raises:
      PolicyError, UnknownNameError: for an invalid rule, choice or variable, naming it.

    >>> p = Policy([Rule(r"params/.*/bias", "zeros")], fallback="keep", name="biases")
    >>> p
    Policy(name='biases', rules=1, fallback='keep', variables={})
    >>> p.to_dict()["rules"][0]
    {'pattern': 'params/.*/bias', 'scheme': 'zeros', 'hyperparameters': {}}
    >>> p.fallback = "strict"  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    dataclasses.FrozenInstanceError: Policy is immutable: cannot set 'fallback'; use ...
    >>> p.replace(fallback="strict").fallback, p.fallback
    ('strict', 'keep')
    """

    rules: tuple[Rule, ...]
    fallback: str
    unused: str
    variables: Mapping[str, Any]
    name: str | None
    partition_rules: tuple[tuple[str, Any], ...]
    explicit_init: str | None

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
        rules = tuple(
            r if isinstance(r, Rule) else Rule.from_dict(r, where=f"rule #{i}")
            for i, r in enumerate(list(rules))
        )
        if fallback not in FALLBACKS:
            raise unknown("fallback", fallback, FALLBACKS, where="Policy")
        if unused not in UNUSED:
            raise unknown("unused", unused, UNUSED, where="Policy")
        if explicit_init is not None and explicit_init not in EXPLICIT_INIT:
            raise unknown("explicit_init", explicit_init, EXPLICIT_INIT, where="Policy")
        if variables is not None and not isinstance(variables, Mapping):
            raise PolicyError(f"Policy: variables must be a mapping, got {variables!r}.")
        variables = FrozenDict(variables or {})
        compile_rules(partition_rules)  # validates the regexes and specs
        partition_rules = tuple(
            (p, tuple(tuple(a) if isinstance(a, list) else a for a in spec) if spec else ())
            for p, spec in partition_rules
        )
        for i, r in enumerate(rules):
            for k, v in r.hyperparameters.items():
                if isinstance(v, str) and v.startswith("cfg:") and v[4:] not in variables:
                    raise PolicyError(
                        f"{r.label} (#{i}): hyperparameter {k}={v!r} names the policy variable "
                        f"{v[4:]!r}, which is not set.{did_you_mean(v[4:], variables)} "
                        f"Set variables: {', '.join(sorted(variables)) or '(none)'}."
                    )
        for field, value in (
            ("rules", rules),
            ("fallback", fallback),
            ("unused", unused),
            ("variables", variables),
            ("name", name),
            ("partition_rules", partition_rules),
            ("explicit_init", explicit_init),
        ):
            object.__setattr__(self, field, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(
            f"Policy is immutable: cannot set {name!r}; use policy.replace({name}=...) for a "
            "changed copy."
        )

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(
            f"Policy is immutable: cannot delete {name!r}; use policy.replace(...) for a "
            "changed copy."
        )

    def __repr__(self) -> str:
        return (
            f"Policy(name={self.name!r}, rules={len(self.rules)}, fallback={self.fallback!r}, "
            f"variables={dict(self.variables)!r}"
            + (f", explicit_init={self.explicit_init!r})" if self.explicit_init else ")")
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and self.to_dict() == other.to_dict()

    __hash__ = None  # equal policies are equal documents; a document is not hashable

    def replace(self, **kw: Any) -> "Policy":
        """A copy of the policy with some constructor arguments changed.

        Args:
          **kw: any of `Policy`'s arguments (`rules`, `fallback`, `unused`, `variables`,
            `name`, `partition_rules`, `explicit_init`).

        Returns:
          A new, validated Policy; this one is unchanged.

        >>> p = Policy([Rule(".*", "zeros")], unused="ignore")
        >>> p.replace(name="all zeros", fallback="strict")
        Policy(name='all zeros', rules=1, fallback='strict', variables={})
        """
        d = dict(
            rules=self.rules,
            fallback=self.fallback,
            unused=self.unused,
            variables=self.variables,
            name=self.name,
            partition_rules=self.partition_rules,
            explicit_init=self.explicit_init,
        )
        unknown_kw = [k for k in kw if k not in d]
        if unknown_kw:
            raise unknown("Policy argument", unknown_kw[0], d, where="Policy.replace")
        d.update(kw)
        return Policy(d.pop("rules"), **d)

    def prepend(self, *rules: Rule | Mapping[str, Any]) -> "Policy":
        """A policy with `rules` tried before this one's (user overrides on a preset).

        Args:
          *rules: `Rule`s or rule documents.

        Returns:
          A new Policy; this one is unchanged.

        >>> p = Policy([Rule(".*", "zeros")]).prepend(Rule(".*kernel", "ones"))
        >>> [r.scheme for r in p.rules]
        ['ones', 'zeros']
        """
        return self.replace(rules=tuple(rules) + self.rules)

    def append(self, *rules: Rule | Mapping[str, Any]) -> "Policy":
        """A policy with `rules` tried after this one's (defaults for what it leaves open).

        Args:
          *rules: `Rule`s or rule documents.

        Returns:
          A new Policy; this one is unchanged.
        """
        return self.replace(rules=self.rules + tuple(rules))

    # -- documents ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The policy as a document of plain values (JSON- and YAML-safe).

        Returns:
          A dict with the fields of `POLICY_FIELDS` (`explicit_init` only when set), the rules
          as `Rule.to_dict` documents; `Policy.from_dict` reads it back.
        """
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
    def from_dict(cls, d: Any, where: str = "policy") -> "Policy":
        """A policy from a document, validated field by field (the one schema check).

        Args:
          d: the policy as a mapping (a `to_dict` result, parsed JSON or YAML, a ConfigDict).
          where: how messages name the document ("policy JSON", a file name).

        Returns:
          The Policy.

        Raises:
          ConfigError: naming `where` and the field ("policy.rules[1].rank: must be an
            integer or null, got '2'."), with a did-you-mean for misspelt fields and choices.

        >>> p = Policy.from_dict({"rules": [{"pattern": ".*bias", "scheme": "zeros"}]})
        >>> p.rules[0].scheme, p.fallback
        ('zeros', 'keep')
        >>> Policy.from_dict({"fallbak": "keep"}, where="p")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
          ...
        jaxinit._src.errors.ConfigError: p: unknown field 'fallbak'. Did you mean 'fallback'?...
        """
        d = _plain(d)
        if not isinstance(d, dict):
            raise ConfigError(f"{where}: a policy must be a mapping, got {type(d).__name__}.")
        for k in d:
            if k not in POLICY_FIELDS:
                raise ConfigError(
                    f"{where}: unknown field {k!r}.{did_you_mean(k, POLICY_FIELDS)} "
                    f"Valid fields: {', '.join(POLICY_FIELDS)}."
                )
        rules = d.get("rules", [])
        if not isinstance(rules, list):
            raise ConfigError(
                f"{where}.rules: must be a list of rules, got {type(rules).__name__}."
            )
        for field, kind in (
            ("fallback", FALLBACKS),
            ("unused", UNUSED),
            ("explicit_init", EXPLICIT_INIT),
        ):
            if field == "explicit_init" and d.get(field) in (None, ""):
                d.pop(field, None)  # not set (a ConfigDict holds "" for None)
            if field in d and d[field] not in kind:
                raise ConfigError(
                    f"{where}.{field}: {d[field]!r} is not valid."
                    f"{did_you_mean(str(d[field]), kind)} Valid: {', '.join(kind)}."
                )
        if "variables" in d and not isinstance(d["variables"], dict):
            raise ConfigError(f"{where}.variables: must be a mapping, got {d['variables']!r}.")
        if "name" in d and d["name"] is not None and not isinstance(d["name"], str):
            raise ConfigError(f"{where}.name: must be a string, got {d['name']!r}.")
        prules = d.get("partition_rules", [])
        if not isinstance(prules, list) or any(
            not isinstance(pr, (list, tuple))
            or len(pr) != 2
            or not isinstance(pr[0], str)
            or not isinstance(pr[1], (list, tuple, type(None)))
            for pr in prules
        ):
            raise ConfigError(
                f"{where}.partition_rules: must be a list of [regex, [mesh axis names or null, "
                f"...]] pairs, got {prules!r}."
            )
        parsed = []
        for i, r in enumerate(rules):
            rw = f"{where}.rules[{i}]"
            try:
                parsed.append(Rule.from_dict(r, where=rw))
            except JaxinitError as e:
                # Schema messages already start with `rw`: do not repeat it.
                msg = str(e)
                raise ConfigError(
                    msg if msg.startswith((rw + ":", rw + ".")) else f"{rw}: {msg}"
                ) from None
        try:
            return cls(
                parsed,
                fallback=d.get("fallback", "keep"),
                unused=d.get("unused", "warn"),
                variables=d.get("variables") or {},
                name=d.get("name"),
                partition_rules=[(pr[0], pr[1]) for pr in prules],
                explicit_init=d.get("explicit_init"),
            )
        except JaxinitError as e:
            raise ConfigError(f"{where}: {e}") from None

    def to_json(self, **kw: Any) -> str:
        """The policy as a JSON document.

        Args:
          **kw: passed to `json.dumps` (default `indent=2`).

        Returns:
          The JSON text of `to_dict()`.
        """
        return json.dumps(self.to_dict(), **{"indent": 2, **kw})

    @classmethod
    def from_json(cls, text: str, where: str = "policy JSON") -> "Policy":
        """A policy from a JSON document (no code runs), validated as `from_dict` does.

        Args:
          text: the JSON text.
          where: how messages name the document.

        Returns:
          The Policy.

        Raises:
          ConfigError: for text that is not JSON, or a document that does not fit the schema.

        >>> Policy.from_json('{"rules": [{"pattern": ".*", "scheme": "zeros"}]}').rules[0].scheme
        'zeros'
        """
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{where}: not valid JSON: {e}.") from None
        return cls.from_dict(d, where=where)

    def to_config(self) -> ml_collections.ConfigDict:
        """The policy as a ConfigDict: overridable from the command line, printable.

        Returns:
          A ConfigDict with the fields of `to_dict` (rules as a list of ConfigDicts; None
          name and explicit_init as "").
        """
        d = self.to_dict()
        cfg = ml_collections.ConfigDict()
        cfg.name = d["name"] or ""
        cfg.fallback = d["fallback"]
        cfg.unused = d["unused"]
        cfg.variables = ml_collections.ConfigDict(d["variables"])
        cfg.rules = [ml_collections.ConfigDict(r) for r in d["rules"]]
        cfg.partition_rules = d["partition_rules"]
        cfg.explicit_init = d.get("explicit_init") or ""
        return cfg

    @classmethod
    def from_config(cls, cfg: Any, where: str = "config") -> "Policy":
        """A policy from a ConfigDict: the policy itself or a config with a `policy` field.

        Args:
          cfg: a ConfigDict (or FrozenConfigDict, or mapping) as `to_config` writes it, or a
            config whose `policy` field is one.
          where: how messages name the config.

        Returns:
          The Policy, validated as `from_dict` does.
        """
        d = _plain(cfg)
        if isinstance(d, dict) and "policy" in d and "rules" not in d:
            d = d["policy"]
            where = f"{where}.policy"
        if isinstance(d, dict) and d.get("name") == "":
            d["name"] = None
        return cls.from_dict(d, where=where)

    # -- matching -----------------------------------------------------------------------------

    def resolve(self, specs: Sequence[ParamSpec]) -> Resolution:
        """Matches every parameter to its rule and binds context. Samples nothing.

        Every distinct (scheme, hyperparameters, shape, dtype) is built and traced abstractly
        once, so a rule that cannot draw its parameter fails here, naming both.

        Args:
          specs: the model's parameters (from an adapter: Linen, NNX or a pytree).

        Returns:
          A `Resolution`: one `Decision` per spec, in order, and the rules that matched
          nothing.

        Raises:
          PolicyError: for a strict policy with uncovered parameters (all listed), a required
            rule that matches nothing with `unused="error"`, a context value that cannot be
            bound, or a group that cannot be laid out; ShapeError for members that cannot be
            fused; scheme errors prefixed with the parameter path and the rule.

        >>> specs = [ParamSpec("Dense_0/kernel", (4, 8), "float32"),
        ...          ParamSpec("Dense_0/bias", (8,), "float32")]
        >>> p = Policy([Rule(".*/bias", "torch_bias", {"fan_in": "ctx:kernel_fan_in"})])
        >>> [(d.spec.name, d.scheme, dict(d.hyperparameters)) for d in p.resolve(specs).decisions]
        [('kernel', None, {}), ('bias', 'torch_bias', {'fan_in': 4.0})]
        """
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
        if not is_ctx(v):
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
