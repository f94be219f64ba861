"""LayerNorm, RMSNorm, GroupNorm, BatchNorm (with running statistics), InstanceNorm, PReLU."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from flax import nnx  # noqa: E402

import jaxinit  # noqa: E402

from ._harness import compare_const, keras_draws, linen_draws, nnx_draws, torch_draws  # noqa: E402

N = 3  # constants: a few draws show they do not vary
SIZES = [5, 64]


def _torch(kind, c):
    import torch

    m = {
        "LayerNorm": lambda: torch.nn.LayerNorm(c),
        "RMSNorm": lambda: torch.nn.RMSNorm(c),
        "GroupNorm": lambda: torch.nn.GroupNorm(_groups(c), c),
        "BatchNorm": lambda: torch.nn.BatchNorm1d(c),
        # torch's default InstanceNorm has NO parameters (affine=False); Flax's is affine.
        "InstanceNorm": lambda: torch.nn.InstanceNorm1d(c, affine=True),
        "PReLU": lambda: torch.nn.PReLU(),
    }[kind]()
    d = torch_draws(m, N, seed=c)
    out = {
        "scale": d.get("weight"),
        "bias": d.get("bias"),
        "mean": d.get("running_mean"),
        "var": d.get("running_var"),
    }
    if kind == "PReLU":
        out = {"negative_slope": d["weight"]}
    return {k: v for k, v in out.items() if v is not None}


def _keras(kind, c):
    import keras

    def build():
        layer = {
            "LayerNorm": lambda: keras.layers.LayerNormalization(name="L"),
            "RMSNorm": lambda: keras.layers.RMSNormalization(name="L"),
            "GroupNorm": lambda: keras.layers.GroupNormalization(_groups(c), name="L"),
            "BatchNorm": lambda: keras.layers.BatchNormalization(name="L"),
            # Keras 3 has no InstanceNormalization; GroupNormalization(groups=-1) is it.
            "InstanceNorm": lambda: keras.layers.GroupNormalization(-1, name="L"),
            "PReLU": lambda: keras.layers.PReLU(name="L"),
        }[kind]()
        layer.build((None, c))
        return layer

    d = keras_draws(build, N, seed=c)
    names = {
        "gamma": "scale",
        "beta": "bias",
        "scale": "scale",
        "moving_mean": "mean",
        "moving_variance": "var",
        "alpha": "negative_slope",
    }
    return {names[k]: v for k, v in d.items()}


def _groups(c):
    return 5 if c == 5 else 8


def _linen(kind, c):
    return {
        "LayerNorm": nn.LayerNorm(),
        "RMSNorm": nn.RMSNorm(),
        "GroupNorm": nn.GroupNorm(num_groups=_groups(c)),
        "BatchNorm": nn.BatchNorm(use_running_average=False),
        "InstanceNorm": nn.InstanceNorm(),
        "PReLU": nn.PReLU(),
    }[kind]


def _nnx(kind, c):
    return {
        "LayerNorm": lambda: nnx.LayerNorm(c, rngs=nnx.Rngs(0)),
        "RMSNorm": lambda: nnx.RMSNorm(c, rngs=nnx.Rngs(0)),
        "GroupNorm": lambda: nnx.GroupNorm(c, num_groups=_groups(c), rngs=nnx.Rngs(0)),
        "BatchNorm": lambda: nnx.BatchNorm(c, rngs=nnx.Rngs(0)),
        "InstanceNorm": lambda: nnx.InstanceNorm(c, rngs=nnx.Rngs(0)),
        "PReLU": lambda: nnx.PReLU(),
    }[kind]


KINDS = ["LayerNorm", "RMSNorm", "GroupNorm", "BatchNorm", "InstanceNorm", "PReLU"]


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("preset", ["torch_like", "tf_like"])
@pytest.mark.parametrize("c", SIZES)
@pytest.mark.parametrize("kind", KINDS)
def test_norms(table, kind, c, preset, api):
    policy = jaxinit.preset(preset)
    if api == "linen":
        ours = linen_draws(_linen(kind, c), (jnp.ones((2, 3, c)),), policy, N, 5)
    else:
        ours = nnx_draws(_nnx(kind, c), policy, N, 5)
    theirs = _torch(kind, c) if preset == "torch_like" else _keras(kind, c)
    paths = {p.rsplit("/", 1)[1]: p for p in ours.values}
    assert set(paths) == set(theirs), (sorted(paths), sorted(theirs))
    w = dict(layer=kind, size=f"C={c}", preset=preset, api=api)
    for name, path in sorted(paths.items()):
        a, b = ours[path], theirs[name]
        note = ""
        if kind == "PReLU":
            # One shared slope in Flax (and torch's default); Keras has one per input unit.
            note = f"Flax scalar vs {'torch (1,)' if preset == 'torch_like' else 'Keras (C,)'}"
            a = np.broadcast_to(a.reshape(N, 1), b.shape)
        if kind == "BatchNorm" and name in ("mean", "var"):
            note = "running statistics (batch_stats)"
        compare_const(table, w, name, a, b, note=note)
