"""Initialization benchmark: models x contenders, fresh process per measurement.

    .venv/bin/python benchmarks/run.py                       # everything, full size (make bench)
    .venv/bin/python benchmarks/run.py --size tiny --reps 1  # seconds, for a smoke test
    .venv/bin/python benchmarks/run.py --models gpt2 --contenders torch,flax_jit,jaxinit_torch_like

Each (model, contender) is measured `--reps` times, each time in a fresh interpreter
(`measure.py` says exactly what is timed and how memory is read). Repetitions are interleaved
(rep 1 of everything, then rep 2, ...) so that a slow spell on a shared machine spreads over all
contenders instead of landing on one. The table gives medians and ratios computed within this
run: time / torch's time, time / flax_jit's time (same model; below 1 is faster), and peak RSS
above baseline / bytes of the arrays produced. It is printed with the machine it ran on and saved
as JSON (`--out`).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import measure
import specs

DEFAULT_CONTENDERS = (
    "torch",
    "flax_jit",
    "flax_eager",
    "constant_floor",
    "jaxinit_flax_default",
    "jaxinit_torch_like",
    "jaxinit_tf_like",
)
# Per-rep numbers whose medians the table reports.
MEDIAN_FIELDS = (
    "wall_s",
    "peak_rss_above_baseline_bytes",
    "trace_lower_s",
    "compile_s",
    "execute_s",
    "xla_compiles",
)
MB = 2**20


def _csv(choices: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        items = [s.strip() for s in text.split(",") if s.strip()]
        bad = [s for s in items if s not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {', '.join(choices)}")
        return items

    return parse


def machine_info() -> dict:
    """Where the numbers come from (versions read from metadata: nothing heavy is imported)."""

    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=measure.HERE,
        ).stdout.strip()
    except OSError:
        commit = ""
    cpu_model = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu_model = next((ln.split(":", 1)[1].strip() for ln in f if "model name" in ln), "")
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_avg_at_start": os.getloadavg(),
        "versions": {d: version(d) for d in ("jax", "jaxlib", "flax", "torch", "jaxinit")},
        "git_commit": commit,
    }


def summarize(runs: dict[tuple[str, str], list[dict]]) -> list[dict]:
    """Medians per (model, contender), then ratios to torch / flax_jit of the same model.

    A contender that timed out has no median; its time is a lower bound (`wall_s_lower_bound`),
    and ratios involving it are bounds too: `ratio_bounds[name]` is ">" (at least) or "<" (at
    most).
    """
    rows = []
    for (model, contender), reps in runs.items():
        ok = [r for r in reps if r.get("status") == "ok"]
        row = {"model": model, "contender": contender, "reps": reps}
        if not ok:
            failed = reps[-1] if reps else {"status": "error", "reason": "not run"}
            row.update(status=failed["status"], reason=failed.get("reason", ""))
            if failed["status"] == "timeout":
                row["wall_s_lower_bound"] = failed["timeout_s"]
            rows.append(row)
            continue
        row["status"] = "ok"
        row["median"] = {
            f: statistics.median(r[f] for r in ok) for f in MEDIAN_FIELDS if f in ok[0]
        }
        row["wall_s_min"] = min(r["wall_s"] for r in ok)
        row["wall_s_max"] = max(r["wall_s"] for r in ok)
        for f in ("n_params", "n_trainable", "param_bytes", "n_arrays"):
            row[f] = ok[0][f]
        row["hwm_reset"] = all(r["hwm_reset"] for r in ok)
        rows.append(row)

    def time_of(row: dict | None) -> tuple[float | None, bool]:
        """(seconds, is_lower_bound)."""
        if row is None:
            return None, False
        if row["status"] == "ok":
            return row["median"]["wall_s"], False
        if row["status"] == "timeout":
            return row["wall_s_lower_bound"], True
        return None, False

    by_key = {(r["model"], r["contender"]): r for r in rows}
    for row in rows:
        t, t_lower = time_of(row)
        if t is None:
            continue
        ratios, bounds = {}, {}
        for ref in ("torch", "flax_jit"):
            name = f"time_vs_{ref}"
            t_ref, ref_lower = time_of(by_key.get((row["model"], ref)))
            if t_ref is None or (t_lower and ref_lower and row["contender"] != ref):
                ratios[name] = None
            elif row["contender"] == ref:
                ratios[name] = 1.0
            else:
                ratios[name] = t / t_ref
                if t_lower or ref_lower:
                    bounds[name] = ">" if t_lower else "<"
        if row["status"] == "ok":
            ratios["peak_mem_vs_param_bytes"] = (
                row["median"]["peak_rss_above_baseline_bytes"] / row["param_bytes"]
            )
        row["ratios"] = ratios
        row["ratio_bounds"] = bounds
    return rows


def check_counts(rows: list[dict]) -> list[str]:
    """Every contender of a model must have produced the same number of trainable elements."""
    problems = []
    for model in {r["model"] for r in rows}:
        counts = {
            r["contender"]: r["n_trainable"]
            for r in rows
            if r["model"] == model and r["status"] == "ok"
        }
        if len(set(counts.values())) > 1:
            problems.append(f"{model}: trainable parameter counts differ: {counts}")
    return problems


def _count(n: int) -> str:
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def format_table(rows: list[dict]) -> str:
    def num(x, fmt, bound=""):
        if x is not None and fmt == "ratio":
            fmt = ".2f" if x >= 0.1 else ".2g"  # two significant digits for small ratios
        return "-" if x is None else bound + format(x, fmt)

    header = (
        "model",
        "contender",
        "time s",
        "min-max s",
        "peak MB",
        "x torch",
        "x flax_jit",
        "mem/params",
        "compiles",
        "params",
    )
    lines = [header]
    for r in rows:
        q, b = r.get("ratios", {}), r.get("ratio_bounds", {})
        ratio_cells = (
            num(q.get("time_vs_torch"), "ratio", b.get("time_vs_torch", "")),
            num(q.get("time_vs_flax_jit"), "ratio", b.get("time_vs_flax_jit", "")),
        )
        if r["status"] == "timeout":
            t = f">{r['wall_s_lower_bound']:g}"
            lines.append(
                (r["model"], r["contender"], t, "timeout", "-", *ratio_cells, "-", "-", "")
            )
            continue
        if r["status"] != "ok":
            lines.append((r["model"], r["contender"], r["status"], "", "", "", "", "", "", ""))
            continue
        m = r["median"]
        lines.append(
            (
                r["model"],
                r["contender"],
                num(m["wall_s"], ".3f"),
                f"{r['wall_s_min']:.2f}-{r['wall_s_max']:.2f}",
                num(m["peak_rss_above_baseline_bytes"] / MB, ".1f"),
                *ratio_cells,
                num(q["peak_mem_vs_param_bytes"], ".2f"),
                num(m.get("xla_compiles"), ".0f"),
                _count(r["n_params"]),
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        cells = [
            str(c).ljust(w) if i < 2 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(line, widths))
        ]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def format_phases(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        if r["status"] == "ok" and "compile_s" in r["median"]:
            m = r["median"]
            lines.append(
                f"  {r['model']:<12} {r['contender']}: trace+lower {m['trace_lower_s']:.3f} s,"
                f" compile {m['compile_s']:.3f} s, execute {m['execute_s']:.3f} s"
            )
    return "\n".join(lines)


def format_machine(info: dict) -> str:
    v = info["versions"]
    return (
        f"machine: {info['cpu_count']} CPUs ({info['cpus_usable']} usable) {info['cpu_model']},"
        f" {info['platform']}, python {info['python']}, load avg at start"
        f" {info['load_avg_at_start'][0]:.2f}\n"
        + "versions: "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + f" (git {info['git_commit'] or '?'})"
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=_csv(specs.MODELS), default=list(specs.MODELS))
    parser.add_argument(
        "--contenders",
        type=_csv(measure.CONTENDERS),
        default=list(DEFAULT_CONTENDERS),
        help=f"comma-separated, from: {', '.join(measure.CONTENDERS)}",
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--out", default="out/bench.json")
    parser.add_argument(
        "--timeout",
        type=float,
        default=150,
        help="seconds per initialization (imports excluded); one still running is stopped,"
        " reported as '>TIMEOUT' and not repeated (Flax's jit init of the 1000-layer"
        " deep_narrow model compiles for many minutes on 2 cores)",
    )
    args = parser.parse_args(argv)
    if args.reps < 1:
        parser.error("--reps must be at least 1")

    info = machine_info()
    print(format_machine(info), flush=True)
    runs: dict[tuple[str, str], list[dict]] = {
        (m, c): [] for m in args.models for c in args.contenders
    }
    skip: set[tuple[str, str]] = set()
    t_start = time.perf_counter()
    for rep in range(args.reps):
        for key in runs:
            if key in skip:
                continue
            result = measure.measure(*key, args.size, timeout_s=args.timeout)
            runs[key].append(result)
            status = result["status"]
            detail = (
                f"{result['wall_s']:.3f} s, {result['peak_rss_above_baseline_bytes'] / MB:.1f} MB"
                if status == "ok"
                else f"{status}: {result.get('reason', '')}"
            )
            print(f"[rep {rep + 1}/{args.reps}] {key[0]:<12} {key[1]:<22} {detail}", flush=True)
            if status in ("unavailable", "timeout"):
                skip.add(key)  # neither changes between reps; a timeout would cost it again

    rows = summarize(runs)
    problems = check_counts(rows)
    elapsed = time.perf_counter() - t_start
    print()
    print(f"size={args.size}, reps={args.reps}, timeout={args.timeout:g} s, total {elapsed:.0f} s.")
    print("time: median seconds from model defined to every parameter ready (compile included);")
    print("peak MB: peak RSS above the RSS right before init; x torch, x flax_jit: time ratios")
    print("(<1 is faster); mem/params: peak MB / bytes of the arrays produced; >N: timed out.")
    print(format_table(rows))
    phases = format_phases(rows)
    if phases:
        print("\nflax_jit phases (AOT API, medians):\n" + phases)
    for p in problems:
        print("WARNING:", p)

    report = {
        "machine": info,
        "config": {
            "models": args.models,
            "contenders": args.contenders,
            "reps": args.reps,
            "size": args.size,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "elapsed_s": elapsed,
        },
        "results": rows,
        "problems": problems,
    }
    if os.path.dirname(args.out):
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nsaved {args.out}")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
