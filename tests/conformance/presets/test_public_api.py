"""The batched draws of this suite are what `jaxinit.init` gives, and all five presets load."""

import os
import pathlib

os.environ["KERAS_BACKEND"] = "jax"

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from flax import nnx  # noqa: E402
from flax.traverse_util import flatten_dict  # noqa: E402

import jaxinit  # noqa: E402
from jaxinit._src import nnx as nnx_lib  # noqa: E402

from ._harness import Row, batched_draw  # noqa: E402

PRESETS = ["torch_like", "tf_like", "tf1_like", "flax_default", "haiku_like"]
ROOT = pathlib.Path(__file__).resolve().parents[3]


class Everything(nn.Module):
    @nn.compact
    def __call__(self, x, tokens, seq):
        y = nn.Dense(6)(x) + nn.DenseGeneral((2, 3))(x).reshape(x.shape[0], 6)
        img = nn.Conv(4, (3, 3))(jnp.ones((1, 5, 5, 3)))
        img = nn.Conv(8, (3, 3), feature_group_count=4)(img)
        img = nn.ConvTranspose(5, (3, 3))(img)
        e = nn.Embed(11, 6)(tokens)
        r = nn.RNN(nn.LSTMCell(6))(seq) + nn.RNN(nn.GRUCell(6))(seq)
        r = r + nn.RNN(nn.SimpleCell(6))(seq) + nn.RNN(nn.OptimizedLSTMCell(6))(seq)
        a = nn.MultiHeadDotProductAttention(num_heads=2)(r)
        z = nn.LayerNorm()(a) + nn.RMSNorm()(a) + nn.GroupNorm(num_groups=3)(a)
        z = nn.BatchNorm(use_running_average=False)(z) + nn.InstanceNorm()(z)
        return nn.PReLU()(z).sum() + y.sum() + img.sum() + e.sum()


INPUTS = (jnp.ones((1, 5)), jnp.zeros((1, 3), jnp.int32), jnp.ones((1, 4, 6)))


def _record_equal(table, preset, api, n_variables, uncovered, ok):
    """One table row for `jaxinit.init == batched draw` over a whole model, then the assert."""
    table.add(
        Row(
            layer="(all layers)",
            size="-",
            preset=preset,
            api=api,
            param=f"{n_variables} variables",
            check="jaxinit.init == batched draw",
            ok=ok,
            note=f"uncovered: {uncovered}" if uncovered else "",
        )
    )
    assert ok, uncovered


@pytest.mark.parametrize("preset", ["torch_like", "tf_like"])
def test_linen_init_equals_batched_draw(table, preset):
    key = jax.random.key(42)
    policy = jaxinit.preset(preset)
    public = flatten_dict(jaxinit.init(Everything(), key, *INPUTS, policy=policy), sep="/")
    res = jaxinit.explain(Everything(), *INPUTS, policy=policy).resolution
    drawn = batched_draw(res.decisions, key[None])
    uncovered = sorted(set(public) - set(drawn))
    ok = not uncovered and all(
        np.allclose(np.asarray(public[p]), drawn[p][0], rtol=0, atol=1e-5) for p in drawn
    )
    _record_equal(table, preset, "linen", len(public), uncovered, ok)


class NNXEverything(nnx.Module):
    def __init__(self, rngs):
        self.lin = nnx.Linear(5, 6, rngs=rngs)
        self.gen = nnx.LinearGeneral(5, (2, 3), rngs=rngs)
        self.conv = nnx.Conv(4, 8, (3, 3), feature_group_count=4, rngs=rngs)
        self.convt = nnx.ConvTranspose(3, 5, (3, 3), rngs=rngs)
        self.emb = nnx.Embed(11, 6, rngs=rngs)
        self.cells = nnx.List(
            [
                nnx.LSTMCell(3, 6, rngs=rngs),
                nnx.OptimizedLSTMCell(3, 6, rngs=rngs),
                nnx.GRUCell(3, 6, rngs=rngs),
                nnx.SimpleCell(3, 6, rngs=rngs),
            ]
        )
        self.mha = nnx.MultiHeadAttention(2, 6, decode=False, keep_rngs=False, rngs=rngs)
        self.norms = nnx.List(
            [
                nnx.LayerNorm(6, rngs=rngs),
                nnx.RMSNorm(6, rngs=rngs),
                nnx.GroupNorm(6, num_groups=3, rngs=rngs),
                nnx.BatchNorm(6, rngs=rngs),
                nnx.InstanceNorm(6, rngs=rngs),
            ]
        )
        self.prelu = nnx.PReLU()


@pytest.mark.parametrize("preset", ["torch_like", "tf_like"])
def test_nnx_init_equals_batched_draw(table, preset):
    key = jax.random.key(43)
    policy = jaxinit.preset(preset)
    module = NNXEverything(nnx.Rngs(0))
    res = jaxinit.explain(module, policy=policy).resolution
    drawn = batched_draw(res.decisions, key[None])
    jaxinit.init(module, key, policy=policy)
    variables, _ = nnx_lib.walk(module)
    params = [p for p in variables if p.split("/", 1)[0] in ("params", "batch_stats")]
    uncovered = sorted(set(params) - set(drawn))
    ok = not uncovered and all(
        np.allclose(np.asarray(variables[p].get_value()), drawn[p][0], rtol=0, atol=1e-5)
        for p in drawn
    )
    _record_equal(table, preset, "nnx", len(params), uncovered, ok)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_and_builds(table, name):
    policy = jaxinit.preset(name)
    assert isinstance(policy, jaxinit.Policy) and policy.name == name and policy.rules
    assert jaxinit.load_policy(name) == policy
    assert jaxinit.Policy.from_config(policy.to_config()) == policy
    values = jaxinit.init(Everything(), jax.random.key(0), *INPUTS, policy=policy)
    finite = all(bool(jnp.all(jnp.isfinite(v))) for v in jax.tree_util.tree_leaves(values))
    cfg = ROOT / "configs" / f"{name}.py"
    if cfg.exists():
        from_file = jaxinit.load_policy(str(cfg))
        cfg_ok = from_file == policy
        note = f"configs/{name}.py loads and equals jaxinit.preset('{name}')"
    else:
        cfg_ok, note = True, f"configs/{name}.py absent: only jaxinit.preset('{name}') tested"
    table.add(
        Row(
            layer="(preset)",
            size="-",
            preset=name,
            api="linen",
            param="-",
            check="loads, round-trips, builds",
            ok=finite and cfg_ok,
            note=note,
        )
    )
    assert finite and cfg_ok
