"""Embed vs torch nn.Embedding (N(0,1), padding row) and Keras Embedding (U(+-0.05))."""

import functools
import os

os.environ["KERAS_BACKEND"] = "jax"

import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from flax import nnx  # noqa: E402

import jaxinit  # noqa: E402

from ._harness import (  # noqa: E402
    check_structure,
    compare,
    draws_needed,
    keras_draws,
    linen_draws,
    nnx_draws,
    torch_draws,
)

SIZES = [(11, 7), (100, 64)]  # (num_embeddings, features)


def _ours(api, num, feat, policy, n):
    if api == "linen":
        return linen_draws(nn.Embed(num, feat), (jnp.zeros((1, 3), jnp.int32),), policy, n, 4)
    return nnx_draws(lambda: nnx.Embed(num, feat, rngs=nnx.Rngs(0)), policy, n, 4)


@functools.lru_cache(maxsize=None)
def torch_embedding(num, feat, n, padding_idx=None):
    import torch

    return torch_draws(torch.nn.Embedding(num, feat, padding_idx=padding_idx), n, seed=num + feat)


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("num,feat", SIZES)
def test_embed_torch_like(table, api, num, feat):
    n = draws_needed([num * feat])
    ours = _ours(api, num, feat, jaxinit.preset("torch_like"), n)
    theirs = torch_embedding(num, feat, n)["weight"]
    w = dict(layer="Embed", size=f"{num}x{feat}", preset="torch_like", api=api)
    compare(
        table,
        w,
        "embedding",
        ours["params/embedding"],
        theirs,
        bound=None,
        note="N(0, 1), untruncated (Flax default: N(0, 1/features))",
    )


@pytest.mark.parametrize("padding_idx", [3, -2])
@pytest.mark.parametrize("num,feat", SIZES)
def test_embed_padding_idx_torch_like(table, num, feat, padding_idx):
    """Flax Embed has no padding_idx: the scheme `torch_embedding(padding_idx=...)`, put in
    front of the preset, against nn.Embedding(padding_idx=...)."""
    n = draws_needed([(num - 1) * feat])
    policy = jaxinit.preset("torch_like").prepend(
        jaxinit.Rule(
            r"(?:.*/)?embedding",
            "torch_embedding",
            {"padding_idx": padding_idx},
            module="Embed",
            name="embedding with padding row",
        )
    )
    ours = _ours("linen", num, feat, policy, n)["params/embedding"]
    theirs = torch_embedding(num, feat, n, padding_idx)["weight"]
    row = padding_idx % num
    w = dict(
        layer="Embed (padding_idx)",
        size=f"{num}x{feat} pad={padding_idx}",
        preset="torch_like",
        api="linen",
    )
    check_structure(
        table,
        w,
        "embedding",
        f"row {row} all zero (both)",
        np.all(ours[:, row] == 0) and np.all(theirs[:, row] == 0),
        note="negative index wrapped to num + idx",
    )
    keep = np.arange(num) != row
    compare(table, w, "embedding (other rows)", ours[:, keep], theirs[:, keep], bound=None)


@functools.lru_cache(maxsize=None)
def keras_embedding(num, feat, n):
    import keras

    def build():
        layer = keras.layers.Embedding(num, feat, name="L")
        layer.build((None, 3))
        return layer

    return keras_draws(build, n, seed=num * feat)


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("num,feat", SIZES)
def test_embed_tf_like(table, api, num, feat):
    n = draws_needed([num * feat])
    ours = _ours(api, num, feat, jaxinit.preset("tf_like"), n)
    theirs = keras_embedding(num, feat, n)["embeddings"]
    w = dict(layer="Embed", size=f"{num}x{feat}", preset="tf_like", api=api)
    compare(
        table,
        w,
        "embedding",
        ours["params/embedding"],
        theirs,
        bound=0.05,
        bound_ours=ours.bound("params/embedding"),
        note="U(-0.05, 0.05)",
    )
