"""The conformance table: layer x preset x parameter -> pass/fail with the figures."""

from __future__ import annotations


def _f(x, digits: int = 5) -> str:
    if x is None:
        return "-"
    return f"{x:.{digits}g}"


def _pair(a, b) -> str:
    if a is None and b is None:
        return "-"
    return f"{_f(a)} / {_f(b)}"


def render(rows) -> str:
    head = (
        "| layer | size | preset | api | parameter | check | result | bound ours / theirs "
        "| std ours / theirs | KS p | n ours / theirs | note |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        p = "-" if r.p is None else f"{r.p:.3g}"
        n = f"{r.n_ours} / {r.n_theirs}" if (r.n_ours or r.n_theirs) else "-"
        lines.append(
            f"| {r.layer} | {r.size} | {r.preset} | {r.api} | {r.param} | {r.check} | "
            f"{'pass' if r.ok else 'FAIL'} | {_pair(r.bound_ours, r.bound_theirs)} | "
            f"{_pair(r.std_ours, r.std_theirs)} | {p} | {n} | {r.note} |"
        )
    n_ok = sum(r.ok for r in rows)
    lines.append("")
    lines.append(f"{n_ok}/{len(rows)} checks pass.")
    return "\n".join(lines)
