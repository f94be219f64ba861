"""The command line: every subcommand, and one clear line with exit code 2 on bad arguments."""

import json
import subprocess
import sys

import pytest

from jaxinit._src import cli

MODEL = "examples.digits.models:cnn"


def run(capsys, *argv):
    rc = cli.main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_list_shows_every_scheme(capsys):
    import jaxinit

    rc, out, _ = run(capsys, "list")
    assert rc == 0
    for name in jaxinit.names():
        assert f"\n{name} " in out
    assert "U(-1 / sqrt(fan_in), 1 / sqrt(fan_in))" in out  # torch_kernel's formula


def test_explain_table_and_json(capsys):
    rc, out, _ = run(capsys, "explain", "--config", "configs/torch_like.py", "--model", MODEL)
    assert rc == 0
    assert "params/conv_0/kernel" in out and "torch_kernel" in out
    # conv_0 kernel (3, 3, 1, 16): fan_in 9, torch bound 1/3.
    line = next(ln for ln in out.splitlines() if ln.startswith("params/conv_0/kernel"))
    assert "0.3333" in line
    rc, out, _ = run(capsys, "explain", "--config", "tf_like", "--model", MODEL, "--json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["policy"] == "tf_like"
    rows = {r["path"]: r for r in doc["rows"]}
    hidden = rows["params/hidden/kernel"]  # (128, 64) glorot: sqrt(6 / 192)
    assert hidden["scheme"] == "glorot_uniform"
    assert hidden["bound"] == pytest.approx((6 / 192) ** 0.5)


def test_diff(capsys):
    rc, out, _ = run(
        capsys, "diff", "--config", "torch_like", "--config", "tf_like", "--model", MODEL
    )
    assert rc == 0
    assert "8 parameter(s) differ between torch_like and tf_like" in out
    rc, out, _ = run(
        capsys,
        "diff",
        "--config",
        "torch_like",
        "--config",
        "torch_like",
        "--model",
        MODEL,
        "--json",
    )
    assert rc == 0 and json.loads(out)["rows"] == []


def test_plot_writes_png(capsys, tmp_path):
    png = tmp_path / "h.png"
    rc, out, _ = run(
        capsys,
        "plot",
        "--config",
        "torch_like",
        "--config",
        "tf_like",
        "--model",
        MODEL,
        "--out",
        str(png),
    )
    assert rc == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_input_shape_overrides(capsys):
    rc, out, _ = run(
        capsys, "explain", "--config", "torch_like", "--model", MODEL, "--input-shape", "2,8,8,1"
    )
    assert rc == 0 and "params/hidden/kernel" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["explain", "--config", "nope.py", "--model", MODEL],
            "config file 'nope.py' does not exist",
        ),
        (["explain", "--config", "torch_lik", "--model", MODEL], "Did you mean 'torch_like'"),
        (
            ["explain", "--config", "torch_like", "--model", "examples.digits.models:cnm"],
            "has no factory 'cnm'. Did you mean 'cnn'",
        ),
        (
            ["explain", "--config", "torch_like", "--model", "no_such_module:f"],
            "cannot import module 'no_such_module'",
        ),
        (
            ["explain", "--config", "torch_like", "--model", "examples.digits.models"],
            "expected MODULE:FACTORY",
        ),
        (
            ["explain", "--config", "torch_like", "--model", MODEL, "--input-shape", "1,x,8"],
            "bad --input-shape '1,x,8'",
        ),
        (
            ["explain", "--config", "torch_like", "--model", MODEL, "--input-shape", "1,-8"],
            "bad --input-shape '1,-8'",
        ),
        (["diff", "--config", "torch_like", "--model", MODEL], "diff needs --config exactly twice"),
        (
            ["explain", "--config", "torch_like", "--model", MODEL, "--input-dtype", "foo"],
            "bad --input-dtype 'foo'",
        ),
        # argparse's own syntax errors: one line too (no usage block).
        (["explain", "--model", MODEL], "the following arguments are required: --config"),
        (["explain", "--config", "torch_like", "--model", MODEL, "--bogus"], "--bogus"),
    ],
)
def test_bad_arguments_one_line_exit_2(capsys, argv, message):
    rc, out, err = run_exit(capsys, *argv)
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith((f"jaxinit {argv[0]}: error: ", "jaxinit: error: "))
    assert message in lines[0]


def run_exit(capsys, *argv):
    """argparse errors end in SystemExit(2) from parse_args."""
    try:
        return run(capsys, *argv)
    except SystemExit as e:
        out = capsys.readouterr()
        return e.code, out.out, out.err


def test_output_piped_into_head_is_not_an_error():
    """`jaxinit list | head -1` used to end in a BrokenPipeError traceback (exit 1)."""
    p = subprocess.run(
        f"{sys.executable} -m jaxinit list | head -1; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and p.stdout.startswith("name")


def test_config_without_get_config(capsys, tmp_path):
    f = tmp_path / "empty.py"
    f.write_text("x = 1\n")
    rc, _, err = run(capsys, "explain", "--config", str(f), "--model", MODEL)
    assert rc == 2 and "has no get_config() function" in err


def test_module_entry_point_runs():
    p = subprocess.run(
        [sys.executable, "-m", "jaxinit", "explain", "--config", "torch_lik", "--model", MODEL],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "Did you mean 'torch_like'" in p.stderr


def test_input_shape_the_model_rejects(capsys):
    rc, out, err = run(
        capsys, "explain", "--config", "torch_like", "--model", MODEL, "--input-shape", "1,8"
    )
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "fails on example input(s) of shape (1, 8)" in err
