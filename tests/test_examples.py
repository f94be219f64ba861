"""The digits example (examples/digits): factories, configs are locked, the command line works
end to end, and `compare` writes one curve per policy.

The model x policy matrix of shrunken training runs is `examples/digits/train_test.py` (Flax's
`examples/mnist` layout), which `make test` runs too.
"""

import importlib
import json
import os
import subprocess
import sys

import pytest
from absl import flags
from ml_collections import config_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # `pytest tests/...` puts tests/, not the repository root, on the path.
    sys.path.insert(0, ROOT)

import jaxinit  # noqa: E402
from examples.digits import models, train  # noqa: E402
from examples.digits.train_test import (  # noqa: E402
    MODELS,
    RESULT_KEYS,
    metrics,
    shrunken_config,
)

CONFIGS = ("default", "mlp", "lstm", "gru")
SHRINK = {"max_steps_per_epoch": 2, "progress_bar": False}


@pytest.mark.parametrize("model", MODELS)
def test_factory_returns_module_and_batch_of_one(model):
    module, example_input = models.get_factory(f"examples.digits.models:{model}")()
    assert example_input.shape == (1, 8, 8, 1)
    assert module == models.get_factory(model)()[0]


@pytest.mark.parametrize("name", CONFIGS)
def test_config_files_share_keys_and_document_their_command(name):
    module = importlib.import_module(f"examples.digits.configs.{name}")
    config = module.get_config()
    assert set(config) == set(
        importlib.import_module("examples.digits.configs.default").get_config()
    )
    assert config.init_policy in ("flax_default", "torch_like", "tf_like", "tf1_like", "haiku_like")
    command = f"python -m examples.digits.main --config=examples/digits/configs/{name}.py"
    assert command in module.__doc__


# Third-party noise: ml_collections' config_flags loads config files with importlib's deprecated
# load_module().
@pytest.mark.filterwarnings("ignore:the load_module\\(\\) method is deprecated:DeprecationWarning")
def test_locked_config_rejects_a_typo():
    path = os.path.join(ROOT, "examples", "digits", "configs", "default.py")
    argv = ["main", f"--config={path}", "--config.init_polcy=tf_like"]
    flag_values = flags.FlagValues()
    config_flags.DEFINE_config_file(
        "config", None, flag_values=flag_values, lock_config=True, sys_argv=argv
    )
    # ml_collections raises its did-you-mean as an AttributeError when the override is applied.
    with pytest.raises((flags.Error, AttributeError), match='Did you mean "init_policy"'):
        flag_values(argv)


def test_main_end_to_end(tmp_path):
    workdir = tmp_path / "mlp"
    command = [
        sys.executable,
        "-m",
        "examples.digits.main",
        "--config=examples/digits/configs/mlp.py",
        f"--workdir={workdir}",
        "--config.init_policy=tf_like",
        "--config.num_epochs=1",
        "--config.max_steps_per_epoch=2",
    ]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[##############################] 2/2" in proc.stderr  # The progress bar.
    assert "test_accuracy=" in proc.stderr  # Per-epoch absl logging.
    with open(workdir / "results.json") as f:
        result = json.load(f)
    assert set(result) == RESULT_KEYS
    assert (result["model"], result["policy"]) == ("mlp", "tf_like")
    assert os.path.getsize(workdir / "loss.png") > 0


def test_compare_policies_on_the_cnn(tmp_path):
    policy_file = str(tmp_path / "my_policy.json")
    jaxinit.save_policy(jaxinit.load_policy("torch_like"), policy_file)
    results = train.compare(
        ["tf_like", policy_file], "cnn", str(tmp_path / "cmp"), 1, overrides=SHRINK
    )
    assert [r["policy"] for r in results] == ["tf_like", policy_file]
    assert results[0]["initial"] != results[1]["initial"]  # The policy changes the start.
    for label in ("tf_like", "my_policy"):
        assert os.path.isfile(tmp_path / "cmp" / label / "results.json")
    assert os.path.getsize(tmp_path / "cmp" / "compare.png") > 0
    with open(tmp_path / "cmp" / "compare.json") as f:
        assert list(json.load(f)) == ["tf_like", "my_policy"]

    # A policy file saved from a preset trains exactly like the preset.
    preset = train.train_and_evaluate(shrunken_config("cnn", "torch_like"), str(tmp_path / "p"))
    from_file = dict(metrics(results[1]), policy="torch_like")
    from_file["config"] = dict(from_file["config"], init_policy="torch_like")
    assert from_file == metrics(preset)
