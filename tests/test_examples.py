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
import time

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


def run_on_a_terminal(command: list[str], timeout: float = 300) -> tuple[str, int]:
    """Run `command` with stdout and stderr on a pseudo-terminal; return its output and code."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, where tqdm draws an empty bar: make it 100.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1.0)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal.
                break
            if not data:
                break
            chunks.append(data)
        returncode = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return b"".join(chunks).decode(errors="replace"), returncode


def test_progress_bar_is_quiet_when_output_is_not_a_terminal(tmp_path, capsys):
    """A log of a run (output redirected: pytest captures it here) holds no progress bar."""
    assert train.progress_disabled()
    config = shrunken_config("cnn", "torch_like")
    config.progress_bar = True
    train.train_and_evaluate(config, str(tmp_path))
    captured = capsys.readouterr()
    assert "\r" not in captured.err and "epoch 1" not in captured.err, captured.err[-500:]
    assert "\r" not in captured.out


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
    output, returncode = run_on_a_terminal(command)
    assert returncode == 0, output[-3000:]
    # On a terminal, tqdm draws the bar (redrawn in place, wiped at the end of the epoch).
    assert "mlp/tf_like epoch 1:" in output and "0/2" in output
    assert "test_accuracy=" in output  # Per-epoch absl logging.
    with open(workdir / "results.json") as f:
        result = json.load(f)
    assert set(result) == RESULT_KEYS
    assert (result["model"], result["policy"]) == ("mlp", "tf_like")
    assert os.path.getsize(workdir / "loss.png") > 0


def test_compare_policies_on_the_cnn(tmp_path):
    policy_file = str(tmp_path / "my_policy.json")
    jaxinit.save_policy(jaxinit.preset("torch_like"), policy_file)
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


def test_histogram_legend_sits_between_title_and_panels():
    """out/histograms.png: the legend neither covers the figure title nor any panel."""
    import matplotlib.pyplot as plt

    from jaxinit._src.plot import policy_figure

    model, example = models.cnn()
    policies = [jaxinit.preset(p) for p in ("flax_default", "torch_like", "tf_like")]
    fig = policy_figure(model, (example,), policies)
    try:
        renderer = fig.canvas.get_renderer()
        (legend,) = fig.legends
        box = legend.get_window_extent(renderer)
        title = fig._suptitle.get_window_extent(renderer)
        assert box.y1 <= title.y0, (box, title)  # Below the title ...
        panels = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.axison]
        assert len(panels) == 4 and all(box.y0 >= p.y1 for p in panels), (box, panels)  # ... above
        assert [t.get_text() for t in legend.get_texts()] == [p.name for p in policies]
    finally:
        plt.close(fig)
