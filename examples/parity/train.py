"""Train each torch model and its Flax port under every init; compare them over seeds.

For every model (`config.models`), every init (`config.inits`: `"torch"` is the torch twin with
torch's own defaults, the others jaxinit presets on the Flax twin) and every seed
`s < config.num_seeds`, one run:

* starts from `torch.manual_seed(s)` then the torch constructor, or from
  `jaxinit.init(model, jax.random.key(s), x, policy=...)`;
* records the std of every layer's output (`models.LAYERS`) on the test images at init;
* trains with Adam (`torch.optim.Adam` / `optax.adam`, same lr, betas and eps) on the same
  batches in the same order (seed `s` fixes one permutation per epoch, shared by all inits);
* records the test loss before training and, per epoch, the mean train loss over its batches and
  the test loss and accuracy after it.

Only the initialization differs between the runs of one seed. `summarize` reduces the runs to
mean and spread over seeds per epoch and to the verdict table: each quantity (activation std at
init, test loss after the first and the last epoch), torch's seeds vs each Flax policy's, with a
Welch t-test (`scipy.stats.ttest_ind(equal_var=False)`) and a two-sample KS test.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import torch
from absl import logging
from scipy import stats
from tqdm import tqdm

import jaxinit
from examples.digits.train import load_datasets, progress_disabled
from examples.parity import models

TORCH = "torch"  # The init name of the torch twin with torch's own defaults.


def load_data(config: ml_collections.ConfigDict) -> dict[str, np.ndarray]:
    """The digits split of `examples/digits` (fixed), the train part cut to `max_train_examples`."""
    data = dict(load_datasets())
    if config.max_train_examples > 0:
        for k in ("train_images", "train_labels"):
            data[k] = data[k][: config.max_train_examples]
    return data


def batch_orders(seed: int, num_train: int, config: ml_collections.ConfigDict) -> np.ndarray:
    """`(num_epochs, steps, batch_size)` indices: seed `seed`'s batches, the same for every init.

    One permutation per epoch from `numpy.random.default_rng(seed)`; the last partial batch is
    dropped.
    """
    rng = np.random.default_rng(seed)
    steps = num_train // config.batch_size
    if steps == 0:
        raise ValueError(
            f"parity: {num_train} training images make no batch of {config.batch_size}; "
            "raise config.max_train_examples or lower config.batch_size."
        )
    used = steps * config.batch_size
    return np.stack(
        [rng.permutation(num_train)[:used].reshape(steps, -1) for _ in range(config.num_epochs)]
    )


# ---------------------------------------------------------------------------------------------
# Flax side


class FlaxSteps:
    """The jit-compiled epoch (a `lax.scan` over its batches) and evaluation of one Flax model."""

    def __init__(self, name: str, learning_rate: float, b1: float, b2: float, eps: float):
        model, _ = models.flax_model(name)
        self.tx = optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)
        tx = self.tx

        def loss_fn(params, images, labels):
            logits = model.apply({"params": params}, images)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

        @jax.jit
        def train_epoch(params, opt_state, images, labels):
            def step(carry, batch):
                params, opt_state = carry
                loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
                updates, opt_state = tx.update(grads, opt_state, params)
                return (optax.apply_updates(params, updates), opt_state), loss

            (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), (images, labels))
            return params, opt_state, losses.mean()

        @jax.jit
        def evaluate(params, images, labels):
            logits = model.apply({"params": params}, images)
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
            return loss, jnp.mean(jnp.argmax(logits, -1) == labels)

        names = set(models.LAYERS[name])

        @jax.jit
        def activations(params, images):
            _, state = model.apply(
                {"params": params},
                images,
                capture_intermediates=lambda mdl, method: (
                    method == "__call__" and mdl.name in names
                ),
                mutable=["intermediates"],
            )
            found = state["intermediates"]
            return {name: jnp.std(found[name]["__call__"][0]) for name in names}

        self.train_epoch, self.evaluate, self.activations = train_epoch, evaluate, activations


@functools.lru_cache(maxsize=8)
def flax_steps(name: str, learning_rate: float, b1: float, b2: float, eps: float) -> FlaxSteps:
    """One compilation per model: the policy changes parameter values, never the program."""
    return FlaxSteps(name, learning_rate, b1, b2, eps)


def run_flax(
    name: str, policy: str, seed: int, data: Mapping[str, np.ndarray], orders: np.ndarray, config
) -> dict[str, Any]:
    """One Flax run from `jaxinit.init(..., policy=policy)`; see the module docstring."""
    model, example = models.flax_model(name)
    params = jaxinit.init(model, jax.random.key(seed), example, policy=policy)["params"]
    steps = flax_steps(name, config.learning_rate, config.b1, config.b2, config.eps)
    test_x, test_y = jnp.asarray(data["test_images"]), jnp.asarray(data["test_labels"])
    act = {k: float(v) for k, v in steps.activations(params, test_x).items()}
    opt_state = steps.tx.init(params)
    initial_loss, _ = steps.evaluate(params, test_x, test_y)
    epochs = []
    for order in orders:
        params, opt_state, train_loss = steps.train_epoch(
            params, opt_state, data["train_images"][order], data["train_labels"][order]
        )
        test_loss, accuracy = steps.evaluate(params, test_x, test_y)
        epochs.append(_epoch(train_loss, test_loss, accuracy))
    return {"act_std": act, "initial_test_loss": float(initial_loss), "epochs": epochs}


# ---------------------------------------------------------------------------------------------
# torch side


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to `n` for a while (it changes float sums' order)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_torch(
    name: str, seed: int, data: Mapping[str, np.ndarray], orders: np.ndarray, config
) -> dict[str, Any]:
    """One torch run from torch's own default init under `torch.manual_seed(seed)`."""
    with torch_threads(config.torch_threads):
        return _run_torch(name, seed, data, orders, config)


def _run_torch(name, seed, data, orders, config) -> dict[str, Any]:
    torch.manual_seed(seed)
    net = models.torch_model(name)
    # Copies: the cached digits arrays are read-only, which torch tensors cannot be.
    train_x, test_x = (torch.tensor(data[k]) for k in ("train_images", "test_images"))
    train_y, test_y = (torch.tensor(data[k]).long() for k in ("train_labels", "test_labels"))

    captured: dict[str, torch.Tensor] = {}
    hooks = [
        getattr(net, layer).register_forward_hook(
            lambda _m, _i, out, layer=layer: captured.__setitem__(layer, out)
        )
        for layer in models.LAYERS[name]
    ]
    with torch.no_grad():
        initial_loss = torch.nn.functional.cross_entropy(net(test_x), test_y).item()
    for h in hooks:
        h.remove()
    # The population std over all elements, as jnp.std.
    act = {k: v.double().std(unbiased=False).item() for k, v in captured.items()}

    opt = torch.optim.Adam(
        net.parameters(), lr=config.learning_rate, betas=(config.b1, config.b2), eps=config.eps
    )
    epochs = []
    for order in orders:
        losses = []
        for idx in torch.from_numpy(order):
            loss = torch.nn.functional.cross_entropy(net(train_x[idx]), train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            logits = net(test_x)
            test_loss = torch.nn.functional.cross_entropy(logits, test_y).item()
            accuracy = (logits.argmax(-1) == test_y).double().mean().item()
        epochs.append(_epoch(np.mean(losses), test_loss, accuracy))
    return {"act_std": act, "initial_test_loss": initial_loss, "epochs": epochs}


def _epoch(train_loss, test_loss, accuracy) -> dict[str, float]:
    return {
        "train_loss": float(train_loss),
        "test_loss": float(test_loss),
        "test_accuracy": float(accuracy),
    }


# ---------------------------------------------------------------------------------------------
# The whole comparison


def run(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """Every (model, init, seed) run. Returns `{"config", "runs": {model: {init: [per seed]}}}`."""
    if config.inits[0] != TORCH:
        raise ValueError(f"parity: config.inits must start with {TORCH!r}, got {config.inits}.")
    for init in config.inits[1:]:
        jaxinit.load_policy(init)  # A bad preset name fails now, with jaxinit's message.
    data = load_data(config)
    num_train = len(data["train_labels"])
    orders = [batch_orders(s, num_train, config) for s in range(config.num_seeds)]
    runs: dict[str, dict[str, list]] = {}
    for name in config.models:
        runs[name] = {}
        for init in config.inits:
            start = time.perf_counter()
            seeds = tqdm(
                range(config.num_seeds), desc=f"{name}/{init}", disable=progress_disabled()
            )
            runs[name][init] = [
                run_torch(name, s, data, orders[s], config)
                if init == TORCH
                else run_flax(name, init, s, data, orders[s], config)
                for s in seeds
            ]
            elapsed = time.perf_counter() - start
            logging.info("%s/%s: %d seeds in %.1f s", name, init, config.num_seeds, elapsed)
    return {"config": config.to_dict(), "runs": runs}


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    a = np.asarray(values, np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def curves(seed_runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Mean and sd over seeds per epoch: test loss from epoch 0 (init), train loss from epoch 1."""
    test = [[r["initial_test_loss"], *(e["test_loss"] for e in r["epochs"])] for r in seed_runs]
    train = [[e["train_loss"] for e in r["epochs"]] for r in seed_runs]
    out = {}
    for split, values in (("test_loss", test), ("train_loss", train)):
        per_epoch = [_mean_sd(column) for column in zip(*values)]
        out[split] = {"mean": [m for m, _ in per_epoch], "sd": [s for _, s in per_epoch]}
    return out


def quantities(name: str, seed_runs: Sequence[Mapping[str, Any]], num_epochs: int):
    """`{quantity: [value per seed]}`: each layer's activation std at init, epoch-1/last losses."""
    out = {
        f"act std {layer}": [r["act_std"][layer] for r in seed_runs]
        for layer in models.LAYERS[name]
    }
    for epoch in sorted({1, num_epochs}):
        out[f"test loss ep {epoch}"] = [r["epochs"][epoch - 1]["test_loss"] for r in seed_runs]
    return out


def compare(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Welch's t-test and the two-sample KS test of two samples (seeds), and the mean ratio."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return {
        "ratio": float(b.mean() / a.mean()),
        "welch_p": float(stats.ttest_ind(a, b, equal_var=False).pvalue),
        "ks_p": float(stats.ks_2samp(a, b).pvalue),
    }


def summarize(results: Mapping[str, Any]) -> dict[str, Any]:
    """Curves per (model, init), and every quantity of every model, torch vs each Flax policy.

    The verdict of a row is `differs` when Welch's p is below `alpha / m`, `m` the number of
    rows a policy is tested on (Bonferroni: the chance that any row of a policy that starts like
    torch reads `differs` is at most `alpha`), `indistinguishable` otherwise. The KS p-value is
    reported beside it; with n seeds per side it cannot go below its exact minimum
    (2 / C(2n, n): 0.0079 for n = 5), so it corroborates rather than decides.
    """
    config = results["config"]
    runs = results["runs"]
    inits = list(config["inits"])
    table: list[dict[str, Any]] = []
    for name, by_init in runs.items():
        ref = quantities(name, by_init[TORCH], config["num_epochs"])
        for quantity, torch_values in ref.items():
            row: dict[str, Any] = {
                "model": name,
                "quantity": quantity,
                TORCH: _mean_sd(torch_values),
            }
            for init in inits[1:]:
                values = quantities(name, by_init[init], config["num_epochs"])[quantity]
                row[init] = {"mean_sd": _mean_sd(values), **compare(torch_values, values)}
            table.append(row)
    threshold = config["alpha"] / max(len(table), 1)
    verdicts = {}
    for init in inits[1:]:
        for row in table:
            row[init]["differs"] = bool(row[init]["welch_p"] < threshold)
        verdicts[init] = sum(row[init]["differs"] for row in table)
    return {
        "curves": {n: {i: curves(r) for i, r in by.items()} for n, by in runs.items()},
        "table": table,
        "alpha": config["alpha"],
        "threshold": threshold,
        "differs": verdicts,
    }


# ---------------------------------------------------------------------------------------------
# Reporting


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in lines)


def _ms(mean_sd: Sequence[float]) -> str:
    return f"{mean_sd[0]:.3f}±{mean_sd[1]:.3f}"


def _p(p: float) -> str:
    return "nan" if math.isnan(p) else (f"{p:.0e}" if p < 1e-3 else f"{p:.3f}")


def loss_table(summary: Mapping[str, Any]) -> str:
    """Per (model, init, split): mean±sd over seeds at each epoch (test epoch 0 = at init)."""
    rows = []
    num_epochs = 0
    for name, by_init in summary["curves"].items():
        for init, c in by_init.items():
            num_epochs = len(c["train_loss"]["mean"])
            for split in ("train_loss", "test_loss"):
                cells = [_ms(ms) for ms in zip(c[split]["mean"], c[split]["sd"])]
                if split == "train_loss":
                    cells = ["", *cells]
                rows.append([name, init, split.replace("_", " "), *cells])
    headers = ["model", "init", "loss", *(f"epoch {e}" for e in range(num_epochs + 1))]
    return _text_table(headers, rows)


def verdict_table(summary: Mapping[str, Any]) -> str:
    """One block per Flax policy, one row per (model, quantity): torch's and the policy's
    mean±sd over seeds, their ratio, Welch's and KS's p-values and the verdict."""
    table = summary["table"]
    inits = [k for k in table[0] if k not in ("model", "quantity", TORCH)]
    n = len(table)
    lines = [
        f"verdict: 'differs' where Welch p < {summary['threshold']:.1e} "
        f"(alpha {summary['alpha']} / {n} rows, Bonferroni), else 'n.s.' (not significant)"
    ]
    for init in inits:
        headers = ["model", "quantity", f"{TORCH} mean±sd", f"{init} mean±sd"]
        headers += ["ratio", "Welch p", "KS p", "verdict"]
        rows = []
        for row in table:
            r = row[init]
            rows.append(
                [row["model"], row["quantity"], _ms(row[TORCH]), _ms(r["mean_sd"])]
                + [f"{r['ratio']:.3f}", _p(r["welch_p"]), _p(r["ks_p"])]
                + ["differs" if r["differs"] else "n.s."]
            )
        k = summary["differs"][init]
        word = f"DIFFERS from torch on {k} of {n}" if k else f"indistinguishable on all {n}"
        lines += ["", f"torch vs Flax + {init}: {word} quantities", _text_table(headers, rows)]
    return "\n".join(lines)


def plot(summary: Mapping[str, Any], path: str, *, num_seeds: int) -> str:
    """Test loss per epoch (0 = at init), mean and a ± sd band over seeds, one panel per model.

    The train loss is in the table; drawing it too would hide the bands.
    """
    # The object-oriented Agg API: no pyplot, so no global backend switch and no GUI.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    colors = {TORCH: "black", "torch_like": "tab:orange", "flax_default": "tab:blue"}
    palette = iter(["tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink"])
    names = list(summary["curves"])
    fig = Figure(figsize=(4.2 * len(names), 4.0))
    FigureCanvasAgg(fig)
    # Fixed margins rather than a layout engine; the legend sits between title and panels.
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.12, top=0.80, wspace=0.22)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        for init, c in summary["curves"][name].items():
            color = colors.get(init) or colors.setdefault(init, next(palette))
            mean, sd = np.asarray(c["test_loss"]["mean"]), np.asarray(c["test_loss"]["sd"])
            x = np.arange(len(mean))
            label = "torch (its own init)" if init == TORCH else f"Flax + {init}"
            width, style = (
                (3.0, "-") if init == TORCH else (1.5, "--" if init == "torch_like" else "-")
            )
            ax.plot(
                x,
                mean,
                style,
                color=color,
                lw=width,
                label=label,
                zorder=3 if init == "torch_like" else 2,
            )
            ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.15, lw=0)
        ax.set(title=name, xlabel="epoch", yscale="log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("test cross-entropy (log scale)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.935),
        ncol=len(labels),
        frameon=False,
    )
    fig.suptitle(
        f"digits: the same model in torch and in Flax, same data, batches and Adam "
        f"(mean ± sd over {num_seeds} seeds)",
        y=0.985,
    )
    fig.savefig(path, dpi=100)
    return path


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    """Run everything; write `parity.json`, `parity.txt` (the tables) and `parity.png`.

    Returns the summary, with the printed tables under `"text"` and the wall time.
    """
    start = time.perf_counter()
    os.makedirs(workdir, exist_ok=True)
    results = run(config)
    summary = summarize(results)
    summary["text"] = (
        f"Loss per epoch, mean±sd over {config.num_seeds} seeds (train: mean over the epoch's "
        "batches; test: after the epoch, epoch 0 = at init)\n\n"
        f"{loss_table(summary)}\n\n"
        f"torch vs each Flax policy over {config.num_seeds} seeds (ratio = policy mean / "
        f"torch mean)\n{verdict_table(summary)}\n"
    )
    summary["wall_time_s"] = time.perf_counter() - start
    with open(os.path.join(workdir, "parity.json"), "w") as f:
        json.dump({**results, "summary": summary}, f, indent=1)
    with open(os.path.join(workdir, "parity.txt"), "w") as f:
        f.write(summary["text"])
    summary["png"] = plot(summary, os.path.join(workdir, "parity.png"), num_seeds=config.num_seeds)
    return summary
