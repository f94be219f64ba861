"""Explain tables and policy diffs: see every decision before anything is sampled."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import jax.numpy as jnp

from jaxinit._src import fans as fans_lib
from jaxinit._src.errors import ShapeError
from jaxinit._src.policy import Decision, Resolution


def stats_of(d: Decision):
    """The theoretical statistics of one decision and the fans its scheme uses.

    Args:
      d: a decision of a `Resolution`.

    Returns:
      (stats, fans): the scheme's `Stats` (mean, std, low, high) for the sample shape, or
      None where the scheme does not say; (fan_in, fan_out) as the scheme sees them (explicit
      `fan_in`/`fan_out` hyperparameters win), or None where they cannot be computed. Both
      are None for a parameter no rule covers.
    """
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


@dataclasses.dataclass(frozen=True)
class ExplainRow:
    """One parameter of an explain table: where it is, which rule covers it and what it draws.

    Args:
      path, module, shape, dtype: the parameter and its owner's class name.
      rule: "#i name-or-pattern", or why no rule applies ("(module default)", "(explicit
        kernel_init kept; ...)").
      scheme: the canonical scheme name, or "(module default)".
      hyperparameters: the bound hyperparameters.
      fan_in, fan_out: the fans the scheme uses (None where unknown).
      std, bound: the theoretical std and max |w| of the support (inf for normals), None
        where unknown.
      group: the fused group it is drawn in.
      stack_axes: axes stacked by nn.scan/nn.vmap (one draw per slice).
      explicit: the model's own initializer attribute that was kept ("kernel_init").
    """

    path: str
    module: str
    shape: tuple[int, ...]
    dtype: str
    rule: str  # "#i pattern" or "(module default)"
    scheme: str
    hyperparameters: dict[str, Any]
    fan_in: float | None
    fan_out: float | None
    std: float | None
    bound: float | None  # max |w| of the support (inf for normals), None if unknown
    group: str | None = None
    stack_axes: tuple[int, ...] = ()  # axes stacked by nn.scan/nn.vmap: one draw per slice
    # The model's own initializer attribute that was kept ("kernel_init"): the model code set
    # it explicitly, and the rule that matched does not override explicit initializers.
    explicit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-safe values (non-finite numbers as strings).

        Returns:
          A dict with the row's fields.
        """
        d = dataclasses.asdict(self)
        d["shape"] = list(self.shape)
        d["stack_axes"] = list(self.stack_axes)
        for k in ("std", "bound", "fan_in", "fan_out"):
            if d[k] is not None and not math.isfinite(d[k]):
                d[k] = str(d[k])
        d["hyperparameters"] = {k: _jsonable(v) for k, v in self.hyperparameters.items()}
        return d


def _jsonable(v):
    if isinstance(v, tuple):
        return [_jsonable(i) for i in v]
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def explain_rows(res: Resolution) -> list[ExplainRow]:
    """The explain table of a resolution.

    Args:
      res: the result of `Policy.resolve`.

    Returns:
      One `ExplainRow` per decision, in order.
    """
    rows = []
    for d in res.decisions:
        s = d.spec
        if not d.covered:
            if d.explicit is not None:
                r = res.rules[d.explicit_rule] if res.rules else None
                label = f"#{d.explicit_rule} {r.name or r.pattern}" if r else f"#{d.explicit_rule}"
                rule = f"(explicit {d.explicit} kept; {label} not applied)"
                scheme = f"(model's {d.explicit.split(' ')[0]})"
            else:
                rule = f"(module default: {d.note})" if d.note else "(module default)"
                scheme = "(module default)"
            rows.append(
                ExplainRow(
                    s.path,
                    s.module_type,
                    s.shape,
                    str(jnp.dtype(s.dtype)),
                    rule,
                    scheme,
                    {},
                    None,
                    None,
                    None,
                    None,
                    stack_axes=s.stack_axes,
                    explicit=d.explicit,
                )
            )
            continue
        st, fans = stats_of(d)
        bound = None
        if st is not None:
            bound = max(abs(st.low), abs(st.high))
        rows.append(
            ExplainRow(
                s.path,
                s.module_type,
                s.shape,
                str(jnp.dtype(s.dtype)),
                f"#{d.rule_index} {d.rule.name or d.rule.pattern}",
                d.scheme,
                dict(d.hyperparameters),
                fans[0] if fans else None,
                fans[1] if fans else None,
                st.std if st is not None else None,
                bound,
                d.group,
                s.stack_axes,
            )
        )
    return rows


def shape_str(shape, stack_axes=()) -> str:
    """`6x64` ; a stacked axis (nn.scan/nn.vmap over layers) in brackets: `[6]x64x64`."""
    dims = [f"[{d}]" if k in stack_axes else str(d) for k, d in enumerate(shape)]
    return "x".join(dims) or "()"


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isinf(v):
            return "inf"
        if v == int(v) and abs(v) < 1e9:
            return str(int(v))
        return f"{v:.4g}"
    return str(v)


def _hp(hp: dict) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in hp.items() if v is not None and v != ())


def table(headers: list[str], rows: list[list[str]]) -> str:
    """An aligned plain-text table.

    Args:
      headers: the column names.
      rows: the cells, as strings.

    Returns:
      The table: a header line, a rule and one line per row, columns padded to align.

    >>> print(table(["path", "init"], [["w", "ones"]]))
    path  init
    ----  ----
    w     ones
    """
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    return "\n".join(lines)


@dataclasses.dataclass
class Explanation:
    """Every decision of a policy for a model, before anything is sampled (`jaxinit.explain`).

    `print(explanation)` shows the table; `to_dict`/`to_json` export it.

    Args:
      policy: the policy's name.
      rows: one `ExplainRow` per parameter.
      unused_rules: the labels of the rules that matched nothing.
    """

    policy: str | None
    rows: list[ExplainRow]
    unused_rules: list[str]
    # The decisions the rows come from (what `Policy.resolve` returned); not exported by to_dict.
    resolution: Resolution | None = dataclasses.field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        headers = [
            "path",
            "module",
            "shape",
            "dtype",
            "rule",
            "scheme",
            "hyperparameters",
            "fan_in",
            "fan_out",
            "std",
            "bound",
        ]
        body = [
            [
                r.path,
                r.module or "-",
                shape_str(r.shape, r.stack_axes),
                r.dtype,
                r.rule,
                r.scheme,
                _hp(r.hyperparameters),
                _fmt(r.fan_in),
                _fmt(r.fan_out),
                _fmt(r.std),
                _fmt(r.bound),
            ]
            for r in self.rows
        ]
        out = f"policy: {self.policy}\n" + table(headers, body)
        if any(r.stack_axes for r in self.rows):
            out += (
                "\n[n]: an axis stacked by nn.scan/nn.vmap; fans are those of one slice and "
                "each slice is drawn on its own."
            )
        if any(r.explicit for r in self.rows):
            out += (
                "\nexplicit: the model code passes its own initializer there, which stands "
                "(drawn as model.init draws it); explicit_init='override' on the Policy or the "
                "Rule replaces it."
            )
        if self.unused_rules:
            out += "\nrules that matched nothing: " + "; ".join(self.unused_rules)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON-safe values.

        Returns:
          {"policy", "rows" (`ExplainRow.to_dict`), "unused_rules"}.
        """
        return {
            "policy": self.policy,
            "rows": [r.to_dict() for r in self.rows],
            "unused_rules": self.unused_rules,
        }

    def to_json(self, **kw) -> str:
        """`to_dict()` as JSON text (`**kw` go to `json.dumps`; default `indent=2`)."""
        return json.dumps(self.to_dict(), **{"indent": 2, **kw})


@dataclasses.dataclass(frozen=True)
class DiffRow:
    """One parameter that two policies draw differently: its rows under each."""

    path: str
    a: ExplainRow
    b: ExplainRow


def diff_rows(rows_a: list[ExplainRow], rows_b: list[ExplainRow]) -> list[DiffRow]:
    """The parameters whose scheme, hyperparameters, std or bound differ between two tables.

    Args:
      rows_a: the explain rows under the first policy.
      rows_b: the explain rows under the second.

    Returns:
      One `DiffRow` per differing path present in both, in `rows_a`'s order.
    """
    b_by = {r.path: r for r in rows_b}
    out = []
    for ra in rows_a:
        rb = b_by.get(ra.path)
        if rb is None:
            continue
        same = (ra.scheme, _hp(ra.hyperparameters), _fmt(ra.std), _fmt(ra.bound)) == (
            rb.scheme,
            _hp(rb.hyperparameters),
            _fmt(rb.std),
            _fmt(rb.bound),
        )
        if not same:
            out.append(DiffRow(ra.path, ra, rb))
    return out


@dataclasses.dataclass
class PolicyDiff:
    """Where two policies initialize a model differently (`jaxinit.diff`).

    `print(diff)` shows the table; `to_dict`/`to_json` export it.

    Args:
      policy_a: the first policy's name.
      policy_b: the second policy's name.
      rows: the parameters they draw differently.
    """

    policy_a: str | None
    policy_b: str | None
    rows: list[DiffRow]

    def __str__(self) -> str:
        a, b = self.policy_a or "A", self.policy_b or "B"
        headers = ["path", "shape", f"{a}: scheme", "std", "bound", f"{b}: scheme", "std", "bound"]
        body = [
            [
                r.path,
                shape_str(r.a.shape, r.a.stack_axes),
                r.a.scheme,
                _fmt(r.a.std),
                _fmt(r.a.bound),
                r.b.scheme,
                _fmt(r.b.std),
                _fmt(r.b.bound),
            ]
            for r in self.rows
        ]
        if not body:
            return f"{a} and {b} agree on every parameter."
        return f"{len(body)} parameter(s) differ between {a} and {b}\n" + table(headers, body)

    def to_dict(self) -> dict[str, Any]:
        """The diff as JSON-safe values.

        Returns:
          {"policy_a", "policy_b", "rows": [{"path", "a", "b"}]}.
        """
        return {
            "policy_a": self.policy_a,
            "policy_b": self.policy_b,
            "rows": [{"path": r.path, "a": r.a.to_dict(), "b": r.b.to_dict()} for r in self.rows],
        }

    def to_json(self, **kw) -> str:
        """`to_dict()` as JSON text (`**kw` go to `json.dumps`; default `indent=2`)."""
        return json.dumps(self.to_dict(), **{"indent": 2, **kw})
