"""Conv 1D/2D/3D (plain, grouped, depthwise) and ConvTranspose vs torch and Keras."""

import functools
import math
import os
import zlib

os.environ["KERAS_BACKEND"] = "jax"

import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import pytest  # noqa: E402
from flax import nnx  # noqa: E402

import jaxinit  # noqa: E402

from ._harness import (  # noqa: E402
    compare_keras_default,
    compare_torch_default,
    draws_needed,
    keras_draws,
    linen_draws,
    nnx_draws,
    t,
    torch_draws,
)

# name: (in, out, kernel, groups). Depthwise: groups == in (torch groups=in; Keras
# DepthwiseConv2D with depth_multiplier out/in).
CONVS = {
    "conv1d 5->7 k3": (5, 7, (3,), 1),
    "conv1d 16->32 k5": (16, 32, (5,), 1),
    "conv2d 3->5 k3x3": (3, 5, (3, 3), 1),
    "conv2d 16->32 k3x3": (16, 32, (3, 3), 1),
    "conv3d 3->5 k3x3x3": (3, 5, (3, 3, 3), 1),
    "conv3d 8->16 k3x3x3": (8, 16, (3, 3, 3), 1),
    "grouped conv2d 6->9 g3 k3x3": (6, 9, (3, 3), 3),
    "grouped conv2d 16->32 g4 k3x3": (16, 32, (3, 3), 4),
    "depthwise conv2d 5->15 k3x3": (5, 15, (3, 3), 5),
    "depthwise conv2d 16->32 k3x3": (16, 32, (3, 3), 16),
}


def _rf(k):
    return math.prod(k)


@functools.lru_cache(maxsize=None)
def torch_conv(name: str, n: int):
    import torch

    cin, cout, k, g = CONVS[name]
    cls = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[len(k)]
    d = torch_draws(cls(cin, cout, k, groups=g), n, seed=zlib.crc32(name.encode()))
    nd = len(k)
    # torch (out, in/g, *k) -> Flax (*k, in/g, out)
    return {"kernel": t(d["weight"], tuple(range(2, 2 + nd)) + (1, 0)), "bias": d["bias"]}


@functools.lru_cache(maxsize=None)
def keras_conv(name: str, n: int):
    import keras

    cin, cout, k, g = CONVS[name]
    nd = len(k)

    def build():
        if g > 1 and g == cin:
            layer = keras.layers.DepthwiseConv2D(k, depth_multiplier=cout // cin, name="L")
        else:
            cls = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D, 3: keras.layers.Conv3D}[nd]
            layer = cls(cout, k, groups=g, name="L")
        layer.build((None,) + (9,) * nd + (cin,))
        return layer

    d = keras_draws(build, n, seed=zlib.crc32(name.encode()))
    if g > 1 and g == cin:
        # Keras depthwise (*k, in, m) -> Flax (*k, 1, in*m): output channel c*m + j.
        d = {"kernel": d["kernel"].reshape(d["kernel"].shape[:-2] + (1, cout)), "bias": d["bias"]}
    return d


def _ours(api, name, policy, n):
    cin, cout, k, g = CONVS[name]
    if api == "linen":
        x = jnp.ones((1,) + (9,) * len(k) + (cin,))
        return linen_draws(nn.Conv(cout, k, feature_group_count=g), (x,), policy, n, 2)
    return nnx_draws(
        lambda: nnx.Conv(cin, cout, k, feature_group_count=g, rngs=nnx.Rngs(0)), policy, n, 2
    )


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("name", list(CONVS))
def test_conv_torch_like(table, api, name):
    cin, cout, k, g = CONVS[name]
    n = draws_needed([cout])
    ours = _ours(api, name, jaxinit.preset("torch_like"), n)
    theirs = torch_conv(name, n)
    assert theirs["kernel"].shape[1:] == ours["params/kernel"].shape[1:]
    fan_in = cin // g * _rf(k)  # torch: size(1) * rf = (in/groups) * rf
    w = dict(layer="Conv", size=name, preset="torch_like", api=api)
    compare_torch_default(table, w, ours, theirs, fan_in, note=f"fan_in (in/g)*rf = {fan_in}")


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("name", list(CONVS))
def test_conv_tf_like(table, api, name):
    cin, cout, k, g = CONVS[name]
    n = draws_needed([cin // g * cout * _rf(k)])
    ours = _ours(api, name, jaxinit.preset("tf_like"), n)
    theirs = keras_conv(name, n)
    assert theirs["kernel"].shape[1:] == ours["params/kernel"].shape[1:]
    if g > 1 and g == cin:  # Keras DepthwiseConv2D: kernel (*k, in, m)
        fi, fo = cin * _rf(k), cout // cin * _rf(k)
        note = f"Keras DepthwiseConv2D fans ({fi}, {fo}); torch/Flax fan_in would be {_rf(k)}"
    else:
        fi, fo = cin // g * _rf(k), cout * _rf(k)
        note = f"fans ({fi}, {fo})"
    w = dict(layer="Conv", size=name, preset="tf_like", api=api)
    compare_keras_default(table, w, ours, theirs, fi, fo, note=note)


# ConvTranspose: (in, out, kernel). torch's fan_in is (out/groups)*rf (output channels).
CONVT = {"convT2d 3->5 k3x3": (3, 5, (3, 3)), "convT2d 8->16 k3x3": (8, 16, (3, 3))}


def _ours_t(api, name, policy, n):
    cin, cout, k = CONVT[name]
    if api == "linen":
        x = jnp.ones((1, 7, 7, cin))
        return linen_draws(nn.ConvTranspose(cout, k), (x,), policy, n, 3)
    return nnx_draws(lambda: nnx.ConvTranspose(cin, cout, k, rngs=nnx.Rngs(0)), policy, n, 3)


@functools.lru_cache(maxsize=None)
def torch_convt(name: str, n: int):
    import torch

    cin, cout, k = CONVT[name]
    d = torch_draws(torch.nn.ConvTranspose2d(cin, cout, k), n, seed=11 + cin)
    # torch (in, out/g, kh, kw) -> Flax (kh, kw, in, out)
    return {"kernel": t(d["weight"], (2, 3, 0, 1)), "bias": d["bias"]}


@functools.lru_cache(maxsize=None)
def keras_convt(name: str, n: int):
    import keras

    cin, cout, k = CONVT[name]

    def build():
        layer = keras.layers.Conv2DTranspose(cout, k, name="L")
        layer.build((None, 7, 7, cin))
        return layer

    d = keras_draws(build, n, seed=13 + cin)
    # Keras (kh, kw, out, in) -> Flax (kh, kw, in, out)
    return {"kernel": t(d["kernel"], (0, 1, 3, 2)), "bias": d["bias"]}


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("name", list(CONVT))
def test_conv_transpose_torch_like(table, api, name):
    cin, cout, k = CONVT[name]
    n = draws_needed([cout])
    ours = _ours_t(api, name, jaxinit.preset("torch_like"), n)
    theirs = torch_convt(name, n)
    fan_in = cout * _rf(k)
    w = dict(layer="ConvTranspose", size=name, preset="torch_like", api=api)
    note = f"fan_in from OUTPUT channels: {fan_in} (Flax default: {cin * _rf(k)})"
    compare_torch_default(table, w, ours, theirs, fan_in, note=note)


@pytest.mark.parametrize("api", ["linen", "nnx"])
def test_conv_transpose_transpose_kernel_torch_like(table, api):
    """`transpose_kernel=True` stores (kh, kw, out, in): torch's fan_in is still out * rf."""
    name = "convT2d 8->16 k3x3"
    cin, cout, k = CONVT[name]
    n = draws_needed([cout])
    policy = jaxinit.preset("torch_like")
    if api == "linen":
        m = nn.ConvTranspose(cout, k, transpose_kernel=True)
        ours = linen_draws(m, (jnp.ones((1, 7, 7, cin)),), policy, n, 4)
    else:
        ours = nnx_draws(
            lambda: nnx.ConvTranspose(cin, cout, k, transpose_kernel=True, rngs=nnx.Rngs(0)),
            policy,
            n,
            4,
        )
    assert ours["params/kernel"].shape[1:] == (*k, cout, cin)
    theirs = torch_convt(name, draws_needed([cout]))
    fan_in = cout * _rf(k)
    w = dict(layer="ConvTranspose(transpose_kernel)", size=name, preset="torch_like", api=api)
    note = f"kernel stored (kh, kw, out, in); fan_in {fan_in}"
    compare_torch_default(table, w, ours, theirs, fan_in, note=note)


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("name", list(CONVT))
def test_conv_transpose_tf_like(table, api, name):
    cin, cout, k = CONVT[name]
    n = draws_needed([cin * cout * _rf(k)])
    ours = _ours_t(api, name, jaxinit.preset("tf_like"), n)
    theirs = keras_convt(name, n)
    w = dict(layer="ConvTranspose", size=name, preset="tf_like", api=api)
    compare_keras_default(table, w, ours, theirs, cin * _rf(k), cout * _rf(k))
