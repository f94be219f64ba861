"""Smoke test of the benchmark harness: tiny models, one repetition, three contenders.

Runs `benchmarks/run.py` and `benchmarks/models_torch.py` as subprocesses (as `make bench` would),
so this test process never imports torch and every measurement stays in its own interpreter.
"""

import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
CONTENDERS = ("flax_jit", "torch", "constant_floor")


def _run(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    stdout = _run(
        os.path.join(BENCH, "run.py"),
        "--size=tiny",
        "--reps=1",
        "--models=deep_narrow",
        f"--contenders={','.join(CONTENDERS)}",
        f"--out={out}",
    )
    assert "x flax_jit" in stdout and "machine:" in stdout
    with open(out) as f:
        return json.load(f)


def test_report_has_machine_and_config(report):
    assert report["machine"]["cpu_count"] >= 1
    assert report["machine"]["versions"]["jax"]
    assert report["config"]["size"] == "tiny" and report["config"]["reps"] == 1
    assert report["problems"] == []


def test_every_contender_measured_with_positive_numbers(report):
    rows = {r["contender"]: r for r in report["results"]}
    assert set(rows) == set(CONTENDERS)
    for name, row in rows.items():
        assert row["status"] == "ok", (name, row)
        assert row["model"] == "deep_narrow"
        rep = row["reps"][0]
        for field in ("wall_s", "peak_rss_above_baseline_bytes", "param_bytes", "n_params"):
            assert rep[field] > 0, (name, field, rep[field])
        assert row["median"]["wall_s"] > 0
        assert row["ratios"]["peak_mem_vs_param_bytes"] > 0
        assert row["ratios"]["time_vs_torch"] > 0 and row["ratios"]["time_vs_flax_jit"] > 0
    assert rows["flax_jit"]["ratios"]["time_vs_flax_jit"] == pytest.approx(1.0)
    assert rows["torch"]["ratios"]["time_vs_torch"] == pytest.approx(1.0)


def test_torch_and_flax_build_the_same_parameters(report):
    rows = {r["contender"]: r for r in report["results"]}
    # deep_narrow tiny: 8 x (Dense(16): 16*16 + 16, LayerNorm(16): 2*16).
    expected = 8 * (16 * 16 + 16 + 2 * 16)
    assert {r["n_trainable"] for r in rows.values()} == {expected}
    assert rows["torch"]["param_bytes"] == rows["flax_jit"]["param_bytes"] == 4 * expected


def test_tiny_parameter_counts_match_for_every_model():
    counts = json.loads(_run(os.path.join(BENCH, "models_torch.py"), "tiny").splitlines()[-1])
    assert set(counts) == {"gpt2", "resnet50", "deep_narrow"}
    for name, c in counts.items():
        assert c["torch"] == c["flax"] > 0, (name, c)


def test_phases_script_reports_every_phase_of_a_tiny_init():
    out = _run(os.path.join(BENCH, "phases.py"), "deep_narrow", "torch_like", "tiny")
    m = re.search(
        r"trace ([\d.]+) s, specs\+resolve ([\d.]+) s, draw ([\d.]+) s, total ([\d.]+) s; "
        r"(\d+) parameters, (\d+) left to the module",
        out,
    )
    assert m, out
    trace, resolve, drawn, total = map(float, m.groups()[:4])
    assert abs(trace + resolve + drawn - total) < 0.015  # each printed to 0.01 s
    assert int(m.group(5)) == 32 and int(m.group(6)) == 0  # 8 x (Dense + LayerNorm) x 2
