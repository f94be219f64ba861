"""Train a digits model from the init policy its config names; the logic behind `main.py`.

The initialization is chosen by `config.init_policy` alone, a jaxinit preset name (`torch_like`,
`tf_like`, ...) or the path of a policy config file:

    policy = jaxinit.load_policy(config.init_policy)
    variables = jaxinit.init(model, key, example_input, policy=policy)

Everything else (data, optimizer, seed, number of steps) is identical between policies, so two
runs that differ only in `init_policy` differ only in where the parameters started.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging
from flax import traverse_util
from tqdm import tqdm

import jaxinit
from examples.digits import models
from examples.digits.configs import default as default_config
from examples.digits.configs import gru as gru_config
from examples.digits.configs import lstm as lstm_config
from examples.digits.configs import mlp as mlp_config

# The train/test split does not move with `config.seed`: every run is scored on the same images.
DATA_SPLIT_SEED = 0
TEST_FRACTION = 0.25
PIXEL_MAX = 16.0  # load_digits() pixels are integers in [0, 16].

CONFIGS = {
    "cnn": default_config.get_config,
    "mlp": mlp_config.get_config,
    "lstm": lstm_config.get_config,
    "gru": gru_config.get_config,
}


@functools.lru_cache(maxsize=1)
def load_datasets() -> dict[str, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (no download), split 75/25, pixels scaled to [0, 1].

    Returns `train_images` `(1347, 8, 8, 1)` float32, `train_labels` `(1347,)` int32 and the
    same for `test_` (450 images). The split is stratified and fixed by `DATA_SPLIT_SEED`.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / PIXEL_MAX).astype(np.float32)[..., None]
    labels = digits.target.astype(np.int32)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=TEST_FRACTION, random_state=DATA_SPLIT_SEED, stratify=labels
    )
    data = {
        "train_images": train_x,
        "train_labels": train_y,
        "test_images": test_x,
        "test_labels": test_y,
    }
    for array in data.values():
        array.setflags(write=False)  # Cached and shared between runs: nobody may change it.
    return data


def get_config(model_name: str = "cnn") -> ml_collections.ConfigDict:
    """The config file's `get_config()` for a model name; references start from the default."""
    if model_name in CONFIGS:
        return CONFIGS[model_name]()
    config = default_config.get_config()
    config.model = model_name
    return config


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def make_optimizer(
    optimizer: str, learning_rate: float, momentum: float
) -> optax.GradientTransformation:
    """`optax.adam(learning_rate)` or `optax.sgd(learning_rate, momentum)`."""
    if optimizer == "adam":
        return optax.adam(learning_rate)
    if optimizer == "sgd":
        return optax.sgd(learning_rate, momentum=momentum)
    raise ValueError(f"Unknown optimizer {optimizer!r}; choose 'adam' or 'sgd'.")


class Steps(NamedTuple):
    """The optimizer and the jit-compiled steps for one model and optimizer setting."""

    tx: optax.GradientTransformation
    train_step: Callable[..., tuple[Any, Any, jax.Array]]
    eval_step: Callable[..., tuple[jax.Array, jax.Array]]


@functools.lru_cache(maxsize=16)
def make_steps(model: nn.Module, optimizer: str, learning_rate: float, momentum: float) -> Steps:
    """Build (once per model and optimizer setting) the jit-compiled train and eval steps.

    Linen modules are hashable dataclasses, so runs of the same architecture (every policy of a
    comparison, a determinism re-run) reuse one compilation: the policy only changes the values
    of the parameters, never the program.
    """
    tx = make_optimizer(optimizer, learning_rate, momentum)

    @jax.jit
    def train_step(params, opt_state, images, labels):
        """One optimizer step on a batch; returns new params and state, and the loss before."""

        def loss_fn(params):
            return cross_entropy(model.apply({"params": params}, images), labels)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    @jax.jit
    def eval_step(params, images, labels):
        """Mean loss and accuracy on a batch (the whole test set fits in one)."""
        logits = model.apply({"params": params}, images)
        accuracy = jnp.mean(jnp.argmax(logits, -1) == labels)
        return cross_entropy(logits, labels), accuracy

    return Steps(tx, train_step, eval_step)


def progress_disabled() -> bool:
    """Progress bars are drawn on an interactive terminal only: when stdout or stderr (where
    tqdm draws) is redirected to a file or a pipe, nothing is drawn, so logs hold no bar."""
    return not (sys.stdout.isatty() and sys.stderr.isatty())


def log_parameters(params: Mapping[str, Any]) -> int:
    """Log path, shape, mean and std of every initial parameter; return the parameter count."""
    flat = traverse_util.flatten_dict(params, sep="/")
    logging.info("%-36s %-14s %10s %10s", "parameter", "shape", "mean", "std")
    for path, value in flat.items():
        value = np.asarray(value, np.float64)
        logging.info("%-36s %-14s %10.5f %10.5f", path, value.shape, value.mean(), value.std())
    return int(sum(np.size(v) for v in flat.values()))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    """Train `config.model` from `config.init_policy`; write results.json and loss.png.

    Returns the results dict that is written to `<workdir>/results.json`: the policy, the model,
    the config, the parameter count, `initial` test metrics (before any step), one entry of
    `epochs` per epoch (train loss, test loss, test accuracy), the final test accuracy and loss,
    and the wall time in seconds (initialization and compilation included).
    """
    start = time.perf_counter()
    os.makedirs(workdir, exist_ok=True)
    data = load_datasets()

    # The one place the initialization is chosen: a preset name or a policy config file path.
    policy = jaxinit.load_policy(config.init_policy)
    model, example_input = models.get_factory(config.model)()
    init_rng, shuffle_rng = jax.random.split(jax.random.key(config.seed))
    variables = jaxinit.init(model, init_rng, example_input, policy=policy)
    logging.info("model=%s init_policy=%s", config.model, config.init_policy)
    num_params = log_parameters(variables["params"])

    params = variables["params"]
    steps = make_steps(model, config.optimizer, config.learning_rate, config.momentum)
    opt_state = steps.tx.init(params)
    test_images = jnp.asarray(data["test_images"])
    test_labels = jnp.asarray(data["test_labels"])

    def evaluate(params):
        loss, accuracy = steps.eval_step(params, test_images, test_labels)
        return float(loss), float(accuracy)

    initial_loss, initial_accuracy = evaluate(params)
    logging.info("epoch 0: test_loss=%.4f test_accuracy=%.4f", initial_loss, initial_accuracy)

    num_train = len(data["train_labels"])
    steps_per_epoch = num_train // config.batch_size  # The last partial batch is dropped.
    if config.max_steps_per_epoch > 0:
        steps_per_epoch = min(steps_per_epoch, config.max_steps_per_epoch)

    epochs = []
    for epoch in range(1, config.num_epochs + 1):
        shuffle_rng, epoch_rng = jax.random.split(shuffle_rng)
        order = np.asarray(jax.random.permutation(epoch_rng, num_train))
        bar = tqdm(
            range(steps_per_epoch),
            desc=f"{config.model}/{config.init_policy} epoch {epoch}",
            disable=not config.progress_bar or progress_disabled(),
            leave=False,
        )
        losses = []
        for step in bar:
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            params, opt_state, loss = steps.train_step(
                params, opt_state, data["train_images"][idx], data["train_labels"][idx]
            )
            losses.append(loss)
            if not bar.disable and step % 8 == 0:  # Reading the loss waits for the device.
                bar.set_postfix(loss=f"{float(loss):.4f}", refresh=False)
        train_loss = float(np.mean(jax.device_get(losses)))
        test_loss, test_accuracy = evaluate(params)
        epochs.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "test_loss": test_loss,
                "test_accuracy": test_accuracy,
            }
        )
        logging.info(
            "epoch %d: train_loss=%.4f test_loss=%.4f test_accuracy=%.4f",
            epoch,
            train_loss,
            test_loss,
            test_accuracy,
        )

    final_loss, final_accuracy = (
        (epochs[-1]["test_loss"], epochs[-1]["test_accuracy"])
        if epochs
        else (initial_loss, initial_accuracy)
    )
    results = {
        "policy": config.init_policy,
        "model": config.model,
        "config": config.to_dict(),
        "num_params": num_params,
        "steps_per_epoch": steps_per_epoch,
        "initial": {"test_loss": initial_loss, "test_accuracy": initial_accuracy},
        "epochs": epochs,
        "final_test_accuracy": final_accuracy,
        "final_test_loss": final_loss,
        "wall_time_s": time.perf_counter() - start,
    }
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    plot_losses([results], os.path.join(workdir, "loss.png"), labels=[config.init_policy])
    logging.info(
        "final test_accuracy=%.4f in %.1f s; wrote %s",
        final_accuracy,
        results["wall_time_s"],
        workdir,
    )
    return results


def plot_losses(results: list[dict[str, Any]], path: str, *, labels: list[str]) -> None:
    """Train loss (left) and test loss (right) per epoch, one line per result; saved as PNG.

    Test loss starts at epoch 0, before the first step, where the initialization alone shows.
    """
    # The object-oriented Agg API: no pyplot, so no global backend switch and no GUI.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    # Fixed margins rather than a layout engine: tight_layout doubles the cost of a plot.
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.13, top=0.91, wspace=0.06)
    ax_train, ax_test = fig.subplots(1, 2, sharey=True)
    for result, label in zip(results, labels, strict=True):
        epochs = [e["epoch"] for e in result["epochs"]]
        ax_train.plot(epochs, [e["train_loss"] for e in result["epochs"]], "o-", label=label)
        ax_test.plot(
            [0, *epochs],
            [result["initial"]["test_loss"], *(e["test_loss"] for e in result["epochs"])],
            "o-",
            label=label,
        )
    model = results[0]["model"] if results else ""
    for ax, name in ((ax_train, "train loss"), (ax_test, "test loss")):
        ax.set(title=f"{model}: {name}", xlabel="epoch", yscale="log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()
    ax_train.set_ylabel("cross-entropy (log scale)")
    fig.savefig(path, dpi=100)


def _label(item: str | ml_collections.ConfigDict) -> str:
    policy = item if isinstance(item, str) else item.init_policy
    if os.sep in policy or policy.endswith((".py", ".json")):
        return os.path.splitext(os.path.basename(policy))[0]  # A policy file: its stem.
    return policy


def compare(
    configs_or_policies: Iterable[str | ml_collections.ConfigDict],
    model_name: str | None = "cnn",
    workdir: str = "out/digits/compare",
    num_epochs: int | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Train one model under several init policies; everything else stays the same.

    Args:
      configs_or_policies: policy names or policy file paths (each put into the model's config
        file), or whole configs.
      model_name: `"cnn"`, `"mlp"`, `"lstm"`, `"gru"` or a `"module:function"` reference; `None`
        keeps each config's own model.
      workdir: each run writes into `<workdir>/<policy>/`; the comparison writes
        `<workdir>/compare.png` (one line per policy) and `<workdir>/compare.json`.
      num_epochs: overrides every config's `num_epochs` when given.
      overrides: other config fields to set on every run (tests shrink runs with it).

    Returns:
      The results dicts of `train_and_evaluate`, in order.

    Example (what `make demo` runs):
      >>> compare(["flax_default", "torch_like", "tf_like"], "cnn", "out/demo", 5)  # doctest: +SKIP
    """
    results, labels = [], []
    for item in configs_or_policies:
        if isinstance(item, str):
            config = get_config(model_name or "cnn")
            config.init_policy = item
        else:
            config = item.copy_and_resolve_references()
        if model_name is not None:
            config.model = model_name
        if num_epochs is not None:
            config.num_epochs = num_epochs
        for key, value in (overrides or {}).items():
            config[key] = value
        label = _label(config.init_policy)
        if label in labels:
            label = f"{label}_{len(labels)}"
        labels.append(label)
        results.append(train_and_evaluate(config, os.path.join(workdir, label)))
    os.makedirs(workdir, exist_ok=True)
    plot_losses(results, os.path.join(workdir, "compare.png"), labels=labels)
    with open(os.path.join(workdir, "compare.json"), "w") as f:
        json.dump(dict(zip(labels, results)), f, indent=2)
    for label, result in zip(labels, results):
        logging.info(
            "%-14s initial test_loss=%.4f final test_accuracy=%.4f (%.1f s)",
            label,
            result["initial"]["test_loss"],
            result["final_test_accuracy"],
            result["wall_time_s"],
        )
    return results
