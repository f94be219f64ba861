"""The parity example (examples/parity): the torch and Flax twins are the same model, the two
Adams are the same optimizer, and the whole pipeline, shrunken, gives a well-formed report.

The full run (10 seeds, 5 epochs) is `make demo`'s second half; here it runs on 2 seeds, one
epoch of 4 batches.
"""

import json
import math
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # `pytest tests/...` puts tests/, not the repository root, on the path.
    sys.path.insert(0, ROOT)

import jax  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402

import jaxinit  # noqa: E402
from examples.parity import models, train  # noqa: E402
from examples.parity.configs import default as default_config  # noqa: E402


@pytest.mark.parametrize("name", models.MODELS)
def test_twins_compute_the_same_function(name):
    """torch's weights copied into the Flax layout give the Flax twin torch's logits."""
    torch.manual_seed(0)
    net = models.torch_model(name)
    flax_model, example = models.flax_model(name)
    params = models.torch_to_flax(name, net)
    own = jaxinit.init(flax_model, jax.random.key(0), example, policy="torch_like")["params"]
    shapes = jax.tree_util.tree_map(np.shape, params)
    assert shapes == jax.tree_util.tree_map(np.shape, own)  # Same parameters, same shapes.

    x = np.random.default_rng(0).uniform(size=(16, 8, 8, 1)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = np.asarray(flax_model.apply({"params": params}, x))
    # float32 sums of <= 128 terms of size ~1: a few ulps of the logits (~0.1).
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6)
    assert np.std(expected) > 1e-3  # Not trivially equal (e.g. all zeros).


def test_torch_and_optax_adam_take_the_same_steps():
    """torch.optim.Adam and optax.adam with the same lr, betas and eps: both add eps to
    sqrt(v_hat) (optax's eps_root=0). Gradients ~1e-8 make the placement of eps matter."""
    config = default_config.get_config()
    rng = np.random.default_rng(0)
    start = rng.normal(size=(64,)).astype(np.float32)
    scales = np.logspace(-9, 0, 64).astype(np.float32)  # Where eps ~ sqrt(v) and where not.
    grads = [(rng.normal(size=64) * scales).astype(np.float32) for _ in range(30)]

    p = torch.nn.Parameter(torch.from_numpy(start.copy()))
    opt = torch.optim.Adam(
        [p], lr=config.learning_rate, betas=(config.b1, config.b2), eps=config.eps
    )
    for g in grads:
        p.grad = torch.from_numpy(g)
        opt.step()

    def run_optax(tx):
        params, state = jax.numpy.asarray(start), tx.init(jax.numpy.asarray(start))
        for g in grads:
            updates, state = tx.update(jax.numpy.asarray(g), state, params)
            params = optax.apply_updates(params, updates)
        return np.asarray(params)

    lr, b1, b2, eps = config.learning_rate, config.b1, config.b2, config.eps
    same = run_optax(optax.adam(lr, b1=b1, b2=b2, eps=eps))
    moved = np.abs(p.detach().numpy() - start)
    assert moved.min() > 0  # Every coordinate moved: the comparison below is not vacuous.
    # float32 round-off of 30 updates of <= lr each.
    np.testing.assert_allclose(same, p.detach().numpy(), rtol=0, atol=1e-6)
    # eps inside the square root instead is another optimizer on small gradients.
    other = run_optax(optax.adam(lr, b1=b1, b2=b2, eps=0.0, eps_root=eps))
    assert np.max(np.abs(other - p.detach().numpy())) > 1e-3


def shrunken_config(num_seeds: int = 2):
    config = default_config.get_config()
    config.num_seeds = num_seeds
    config.num_epochs = 1
    config.max_train_examples = 128  # 4 batches of 32.
    return config


def test_batch_orders_depend_on_the_seed_only():
    config = shrunken_config()
    config.num_epochs = 3
    a, b = train.batch_orders(0, 100, config), train.batch_orders(0, 100, config)
    assert a.shape == (3, 3, 32) and np.array_equal(a, b)
    assert not np.array_equal(a[0], a[1])  # A new permutation per epoch.
    assert not np.array_equal(a, train.batch_orders(1, 100, config))
    assert all(len(set(epoch.ravel())) == 96 for epoch in a)  # No image twice in one epoch.


def test_shrunken_pipeline_writes_a_well_formed_report(tmp_path):
    config = shrunken_config()
    summary = train.train_and_evaluate(config, str(tmp_path))

    inits = list(config.inits)
    policies = inits[1:]
    # One row per layer of every model, and the test loss after the (only) epoch.
    expected_rows = [
        (name, q)
        for name in config.models
        for q in [*(f"act std {layer}" for layer in models.LAYERS[name]), "test loss ep 1"]
    ]
    assert [(r["model"], r["quantity"]) for r in summary["table"]] == expected_rows
    for row in summary["table"]:
        assert all(math.isfinite(v) for v in row["torch"])
        for init in policies:
            r = row[init]
            assert math.isfinite(r["ratio"]) and r["ratio"] > 0
            assert 0.0 <= r["welch_p"] <= 1.0 and 0.0 <= r["ks_p"] <= 1.0
            assert r["differs"] == (r["welch_p"] < summary["threshold"])
    assert summary["threshold"] == pytest.approx(config.alpha / len(expected_rows))
    assert summary["differs"] == {
        init: sum(r[init]["differs"] for r in summary["table"]) for init in policies
    }
    for name in config.models:
        assert list(summary["curves"][name]) == inits
        for c in summary["curves"][name].values():
            assert len(c["test_loss"]["mean"]) == 2 and len(c["train_loss"]["mean"]) == 1
            values = [v for split in c.values() for k in ("mean", "sd") for v in split[k]]
            assert all(math.isfinite(v) for v in values), values
            # Ten balanced classes: a fresh classifier scores near log(10) = 2.30.
            assert 1.5 < c["test_loss"]["mean"][0] < 3.5

    text = summary["text"]
    assert text.count("torch vs Flax + ") == len(policies)
    for word in [*config.models, *inits, "Welch p", "KS p", "verdict", "epoch 1"]:
        assert word in text
    with open(tmp_path / "parity.txt") as f:
        assert f.read() == text
    with open(tmp_path / "parity.json") as f:
        written = json.load(f)
    assert written["config"]["num_seeds"] == 2
    runs = written["runs"]
    assert list(runs) == list(config.models)
    assert all(len(runs[n][i]) == 2 for n in runs for i in inits)
    assert set(runs["cnn"]["torch"][0]["act_std"]) == set(models.LAYERS["cnn"])
    assert os.path.getsize(tmp_path / "parity.png") > 10_000

    # Seed s is the same run on a re-run: torch's and the Flax side's numbers repeat exactly.
    data = train.load_data(config)
    order = train.batch_orders(0, len(data["train_labels"]), config)
    assert train.run_torch("mlp", 0, data, order, config) == runs["mlp"]["torch"][0]
    again = train.run_flax("mlp", "torch_like", 0, data, order, config)
    assert json.loads(json.dumps(again)) == runs["mlp"]["torch_like"][0]


def test_bad_configs_fail_clearly():
    config = shrunken_config()
    config.inits = ("torch_like", "torch")
    with pytest.raises(ValueError, match="must start with 'torch'"):
        train.run(config)
    config = shrunken_config()
    config.inits = ("torch", "torch_lik")
    with pytest.raises(jaxinit.JaxinitError, match="torch_lik"):
        train.run(config)
    config = shrunken_config()
    config.max_train_examples = 10
    with pytest.raises(ValueError, match="make no batch of 32"):
        train.run(config)
    with pytest.raises(ValueError, match="choose one of"):
        models.torch_model("gru")
