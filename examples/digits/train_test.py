"""Runs one shrunken epoch (two batches) of every digits model under every init policy.

    python -m pytest examples/digits/train_test.py -q

`make test` runs it with the rest of the suite (it is in pytest's `testpaths`);
`tests/test_examples.py` covers the command line, configs and the comparison script.
"""

import json
import math
import os

import pytest

from examples.digits import train

MODELS = ("mlp", "cnn", "lstm", "gru")
POLICIES = ("flax_default", "torch_like", "tf_like", "tf1_like", "haiku_like")
RESULT_KEYS = {
    "policy",
    "model",
    "config",
    "num_params",
    "steps_per_epoch",
    "initial",
    "epochs",
    "final_test_accuracy",
    "final_test_loss",
    "wall_time_s",
}


def shrunken_config(model: str, policy: str):
    """The model's own config file with one epoch of two batches and no progress bar."""
    config = train.get_config(model)
    config.init_policy = policy
    config.num_epochs = 1
    config.max_steps_per_epoch = 2
    config.progress_bar = False
    return config


def metrics(result):
    """Everything a run computes, without the wall time (which is not reproducible)."""
    return {k: v for k, v in result.items() if k != "wall_time_s"}


def check_shrunken_run(workdir, model: str, policy: str):
    """One shrunken run: finite losses, results.json and loss.png written; a re-run with the
    same seed and config gives the same numbers. Returns the result."""
    config = shrunken_config(model, policy)
    result = train.train_and_evaluate(config, os.path.join(workdir, "a"))

    assert result["model"] == model and result["policy"] == policy
    assert result["steps_per_epoch"] == 2 and len(result["epochs"]) == 1
    losses = [result["initial"]["test_loss"]]
    losses += [result["epochs"][0][k] for k in ("train_loss", "test_loss")]
    assert all(math.isfinite(x) for x in losses), losses
    # Ten balanced classes: a fresh classifier scores near log(10) = 2.30, not orders away.
    assert 1.0 < result["initial"]["test_loss"] < 5.0, result["initial"]
    assert 0.0 <= result["final_test_accuracy"] <= 1.0
    assert result["num_params"] > 0

    with open(os.path.join(workdir, "a", "results.json")) as f:
        written = json.load(f)
    assert set(written) == RESULT_KEYS
    assert written["epochs"] == result["epochs"] and written["policy"] == policy
    assert os.path.getsize(os.path.join(workdir, "a", "loss.png")) > 0

    again = train.train_and_evaluate(config, os.path.join(workdir, "b"))
    assert metrics(again) == metrics(result)
    return result


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("model", MODELS)
def test_one_shrunken_epoch(tmp_path, model, policy):
    check_shrunken_run(str(tmp_path), model, policy)


def test_seed_changes_the_numbers(tmp_path):
    config = shrunken_config("cnn", "torch_like")
    first = train.train_and_evaluate(config, str(tmp_path / "seed0"))
    config.seed = 1
    other = train.train_and_evaluate(config, str(tmp_path / "seed1"))
    assert other["initial"] != first["initial"]
    assert other["epochs"] != first["epochs"]
