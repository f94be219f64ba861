"""The flat public surface (one name per line in jaxinit/__init__.py, ending with __all__), and
the house style (ruff format and ruff check) over the whole tree."""

import os
import shutil
import subprocess
import sys

import pytest

import jaxinit

PUBLIC = {
    "diff", "explain", "init",
    "Policy", "Rule", "load_config_file", "load_policy", "preset", "preset_names", "save_policy",
    "all_names", "describe", "get", "names", "register", "unregister",
    "TRUNCATED_STD_FACTOR", "calculate_gain", "compute_fans", "keras_fans", "path_key",
    "torch_fans",
    "Decision", "DiffRow", "DrawStats", "ExplainRow", "Explanation", "Initializer", "ModuleInfo",
    "ParamSpec", "PolicyDiff", "Resolution", "SchemeInfo", "Stats",
    "draw_stats", "reset_draw_stats", "plot_policies",
    "ConfigError", "HyperparameterError", "JaxinitError", "PolicyError", "ShapeError",
    "UnknownNameError", "UnusedRuleWarning",
}  # fmt: skip
# Removed in 0.2: apply (jaxinit.init on a pytree), resolve (jaxinit.explain(...).resolution),
# the jaxinit.presets module (jaxinit.preset(name), jaxinit.preset_names()).
REMOVED = ("apply", "resolve", "presets")


def test_public_surface_is_exactly_all():
    assert set(jaxinit.__all__) == PUBLIC
    for name in jaxinit.__all__:
        assert getattr(jaxinit, name) is not None
    assert not any(n.startswith("_") for n in jaxinit.__all__)
    assert len(set(jaxinit.__all__)) == len(jaxinit.__all__)
    for name in REMOVED:
        assert not hasattr(jaxinit, name), name
    assert jaxinit.preset_names()[:5] == [
        "torch_like", "tf_like", "tf1_like", "flax_default", "haiku_like",
    ]  # fmt: skip
    for name in jaxinit.preset_names():
        assert jaxinit.preset(name).name == name


def test_errors_share_one_root():
    for cls in (jaxinit.ConfigError, jaxinit.HyperparameterError, jaxinit.PolicyError,
                jaxinit.ShapeError, jaxinit.UnknownNameError):  # fmt: skip
        assert issubclass(cls, jaxinit.JaxinitError) and issubclass(cls, ValueError)


@pytest.mark.parametrize("args", [["format", "--check"], ["check"]])
def test_ruff(args):
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    assert ruff, "ruff is installed with the test extras"
    dirs = ["jaxinit", "tests", "configs", "examples", "benchmarks"]
    p = subprocess.run([ruff, *args, *dirs], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_readme_python_blocks_run_in_order(capsys):
    """Every ```python block of README.md runs, in order, in one namespace (the quick start
    defines the model later blocks use), and does what its comments say."""
    import math
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    ns: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), ns)
    assert "params/hidden/kernel" in capsys.readouterr().out  # the explain table printed
    hidden = ns["variables"]["params"]["hidden"]["kernel"]  # block 3: sharded torch_like init
    assert 0 < float(abs(hidden).max()) <= 1 / math.sqrt(784)
    assert ns["policy"].variables["out_std"] == 0.02 / (2 * 12) ** 0.5  # block 2
