"""Dense/Linear and DenseGeneral/LinearGeneral vs torch nn.Linear and Keras Dense/EinsumDense."""

import functools
import math
import os

os.environ["KERAS_BACKEND"] = "jax"

import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.stats  # noqa: E402
from flax import nnx  # noqa: E402

import jaxinit  # noqa: E402

from ._harness import (  # noqa: E402
    P_MIN,
    Row,
    compare,
    compare_const,
    compare_keras_default,
    compare_torch_default,
    draws_needed,
    keras_draws,
    linen_draws,
    nnx_draws,
    torch_draws,
)

DENSE_SIZES = [(13, 7), (64, 48)]  # (in, out): small and odd, larger


@functools.lru_cache(maxsize=None)
def torch_linear(fin: int, fout: int, n: int):
    import torch

    d = torch_draws(torch.nn.Linear(fin, fout), n, seed=fin * 1000 + fout)
    return {"kernel": np.swapaxes(d["weight"], 1, 2), "bias": d["bias"]}


@functools.lru_cache(maxsize=None)
def keras_dense(fin: int, fout: int, n: int):
    import keras

    def build():
        layer = keras.layers.Dense(fout, name="L")
        layer.build((None, fin))
        return layer

    return keras_draws(build, n, seed=fin * 1000 + fout)


def _ours(api, fin, fout, policy, n, seed=0):
    if api == "linen":
        return linen_draws(nn.Dense(fout), (jnp.ones((1, fin)),), policy, n, seed)
    return nnx_draws(lambda: nnx.Linear(fin, fout, rngs=nnx.Rngs(0)), policy, n, seed)


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("fin,fout", DENSE_SIZES)
def test_dense_torch_like(table, api, fin, fout):
    n = draws_needed([fout])
    ours = _ours(api, fin, fout, jaxinit.preset("torch_like"), n)
    theirs = torch_linear(fin, fout, n)
    w = dict(layer="Dense/Linear", size=f"{fin}->{fout}", preset="torch_like", api=api)
    compare_torch_default(table, w, ours, theirs, fin)


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("fin,fout", DENSE_SIZES)
def test_dense_tf_like(table, api, fin, fout):
    n = draws_needed([fin * fout])
    ours = _ours(api, fin, fout, jaxinit.preset("tf_like"), n)
    theirs = keras_dense(fin, fout, n)
    w = dict(layer="Dense/Linear", size=f"{fin}->{fout}", preset="tf_like", api=api)
    compare_keras_default(table, w, ours, theirs, fin, fout)


def test_negative_control_flax_default_is_not_torch(table):
    """The comparison is decisive: Flax's own lecun_normal Dense is rejected against torch."""
    fin, fout = DENSE_SIZES[1]
    n = draws_needed([fout])
    ours = _ours("linen", fin, fout, jaxinit.preset("flax_default"), n)
    theirs = torch_linear(fin, fout, n)
    a, b = ours["params/kernel"].ravel(), theirs["kernel"].ravel()
    p = float(scipy.stats.ks_2samp(a, b).pvalue)
    ok = p < P_MIN and np.abs(a).max() > 1.5 / math.sqrt(fin)
    table.add(
        Row(
            layer="Dense/Linear",
            size=f"{fin}->{fout}",
            preset="flax_default",
            api="linen",
            param="kernel",
            check="negative control (must differ)",
            ok=ok,
            bound_ours=float(np.abs(a).max()),
            bound_theirs=1 / math.sqrt(fin),
            std_ours=float(a.std()),
            std_theirs=float(b.std()),
            p=p,
            n_ours=a.size,
            n_theirs=b.size,
            note="flax_default vs torch Linear: KS must reject",
        )
    )
    assert ok, p


# A stack of layers made by nn.scan (scan over layers) stores (L, in, out) kernels; each slice
# must be what one torch nn.Linear / Keras Dense gives, not a rank-3 array's fans.
SCAN_LAYERS, SCAN_D = 4, 64


class _ScanLayer(nn.Module):
    @nn.compact
    def __call__(self, x, _):
        return nn.Dense(SCAN_D)(x), None


SCANNED = dict(layer="Dense in nn.scan", size=f"{SCAN_LAYERS}x {SCAN_D}->{SCAN_D}", api="linen")


def compare_stack_torch_like(table, where, ours, theirs, prefix=""):
    """Every layer of a stack (axis 1 of our (n, L, ...) draws; nn.scan here, nnx.vmap in
    test_stacked_local.py) against one torch nn.Linear(SCAN_D, SCAN_D)."""
    for p in ("kernel", "bias"):
        assert ours[f"params/{prefix}{p}"].shape[1] == SCAN_LAYERS
    compare_torch_default(table, where, ours, theirs, SCAN_D, prefix=prefix, note="per-layer fans")


def compare_stack_tf_like(table, where, ours, theirs, prefix=""):
    """Every layer of a stack against one Keras Dense(SCAN_D): glorot kernel with one layer's
    fans, and one row per layer of the stack against one Keras layer's bias."""
    kernel = f"params/{prefix}kernel"
    compare(
        table,
        where,
        "kernel",
        ours[kernel],
        theirs["kernel"],
        bound=math.sqrt(6 / (2 * SCAN_D)),
        bound_ours=ours.bound(kernel),
        note="per-layer fans",
    )
    per_layer = ours[f"params/{prefix}bias"].reshape(-1, SCAN_D)
    compare_const(table, where, "bias", per_layer, theirs["bias"])


def _scanned(policy, n):
    stack = nn.scan(
        _ScanLayer, variable_axes={"params": 0}, split_rngs={"params": True}, length=SCAN_LAYERS
    )
    return linen_draws(stack(), (jnp.ones((1, SCAN_D)), None), policy, n, seed=5)


def test_scanned_dense_stack_torch_like(table):
    n = draws_needed([SCAN_LAYERS * SCAN_D])
    ours = _scanned(jaxinit.preset("torch_like"), n)
    theirs = torch_linear(SCAN_D, SCAN_D, draws_needed([SCAN_D]))
    compare_stack_torch_like(table, {**SCANNED, "preset": "torch_like"}, ours, theirs, "Dense_0/")


def test_scanned_dense_stack_tf_like(table):
    n = draws_needed([SCAN_LAYERS * SCAN_D * SCAN_D])
    ours = _scanned(jaxinit.preset("tf_like"), n)
    theirs = keras_dense(SCAN_D, SCAN_D, draws_needed([SCAN_D * SCAN_D]))
    compare_stack_tf_like(table, {**SCANNED, "preset": "tf_like"}, ours, theirs, "Dense_0/")


# DenseGeneral / LinearGeneral: the kernel init sees the flattened 2-D shape, so torch's
# Linear(prod(in), prod(out)) and Keras EinsumDense (2-D fans) are the references.
GENERAL = {
    # name: (input shape (no batch), flax kwargs, in_features, out_features, einsum, bias_axes)
    "11->(3,5)": ((11,), dict(features=(3, 5)), 11, (3, 5), "ab,bcd->acd", "cd"),
    "(8,6)->40": ((8, 6), dict(features=40, axis=(-2, -1)), (8, 6), 40, "abc,bcd->ad", "d"),
}


def _general_ours(api, name, policy, n):
    shape, kw, fin, fout, _, _ = GENERAL[name]
    if api == "linen":
        return linen_draws(nn.DenseGeneral(**kw), (jnp.ones((1,) + shape),), policy, n, 1)
    axis = kw.get("axis", -1)
    return nnx_draws(
        lambda: nnx.LinearGeneral(fin, fout, axis=axis, rngs=nnx.Rngs(0)), policy, n, 1
    )


def _prod(x):
    return math.prod(x) if isinstance(x, tuple) else x


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("name", list(GENERAL))
def test_dense_general_torch_like(table, api, name):
    shape, _, fin, fout, _, _ = GENERAL[name]
    ni, no = _prod(fin), _prod(fout)
    n = draws_needed([no])
    ours = _general_ours(api, name, jaxinit.preset("torch_like"), n)
    ref = torch_linear(ni, no, n)
    kshape = ours["params/kernel"].shape[1:]
    theirs = {
        "kernel": ref["kernel"].reshape((n,) + kshape),
        "bias": ref["bias"].reshape((n,) + ours["params/bias"].shape[1:]),
    }
    w = dict(layer="DenseGeneral/LinearGeneral", size=name, preset="torch_like", api=api)
    compare_torch_default(table, w, ours, theirs, ni, note=f"vs torch Linear({ni}, {no})")


@functools.lru_cache(maxsize=None)
def keras_einsum(name: str, n: int):
    import keras

    shape, _, fin, fout, eq, bias_axes = GENERAL[name]

    def build():
        layer = keras.layers.EinsumDense(eq, output_shape=fout, bias_axes=bias_axes, name="L")
        layer.build((None,) + shape)
        return layer

    return keras_draws(build, n, seed=7)


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("name", list(GENERAL))
def test_dense_general_tf_like(table, api, name):
    shape, _, fin, fout, eq, _ = GENERAL[name]
    ni, no = _prod(fin), _prod(fout)
    n = draws_needed([ni * no])
    ours = _general_ours(api, name, jaxinit.preset("tf_like"), n)
    theirs = keras_einsum(name, n)
    assert theirs["kernel"].shape[1:] == ours["params/kernel"].shape[1:]
    w = dict(layer="DenseGeneral/LinearGeneral", size=name, preset="tf_like", api=api)
    compare(
        table,
        w,
        "kernel",
        ours["params/kernel"],
        theirs["kernel"],
        bound=math.sqrt(6 / (ni + no)),
        bound_ours=ours.bound("params/kernel"),
        note=f"vs Keras EinsumDense('{eq}'), 2-D fans ({ni}, {no})",
    )
    compare_const(table, w, "bias", ours["params/bias"], theirs["bias"])


# Einsum kernels are read as Keras's EinsumDense reads them: kernel axes that appear in the
# output are output units, the others input units; torch's reference is Linear(fan_in, fan_out).
EINSUM = {
    # equation: (input shape (no batch), kernel shape, Keras output_shape, fan_in, fan_out)
    "bd,dhk->bhk": ((16,), (16, 4, 8), (4, 8), 16, 32),
    "bc,hcd->bhd": ((10,), (3, 10, 5), (3, 5), 10, 15),  # contracted axis in the middle
}


def _einsum_ours(api, eq, policy, n):
    shape, kshape, _, _, _ = EINSUM[eq]
    if api == "linen":
        m = nn.Einsum(shape=kshape, einsum_str=eq, use_bias=False)
        return linen_draws(m, (jnp.ones((1,) + shape),), policy, n, 3)
    return nnx_draws(lambda: nnx.Einsum(eq, kshape, rngs=nnx.Rngs(0)), policy, n, 3)


@functools.lru_cache(maxsize=None)
def keras_einsum_dense(eq: str, n: int):
    import keras

    shape, _, out_shape, _, _ = EINSUM[eq]

    def build():
        layer = keras.layers.EinsumDense(eq, output_shape=out_shape, name="L")
        layer.build((None,) + shape)
        return layer

    return keras_draws(build, n, seed=11)


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("eq", list(EINSUM))
def test_einsum_tf_like_and_torch_like(table, api, eq):
    _, kshape, _, fi, fo = EINSUM[eq]
    n = draws_needed([fi * fo])
    ours = _einsum_ours(api, eq, jaxinit.preset("tf_like"), n)
    theirs = keras_einsum_dense(eq, n)
    assert theirs["kernel"].shape[1:] == ours["params/kernel"].shape[1:] == kshape
    w = dict(layer="Einsum", size=eq, preset="tf_like", api=api)
    compare(
        table,
        w,
        "kernel",
        ours["params/kernel"],
        theirs["kernel"],
        bound=math.sqrt(6 / (fi + fo)),
        bound_ours=ours.bound("params/kernel"),
        note=f"vs Keras EinsumDense, fans ({fi}, {fo})",
    )
    ours = _einsum_ours(api, eq, jaxinit.preset("torch_like"), n)
    theirs = torch_linear(fi, fo, draws_needed([fo]))
    w = dict(layer="Einsum", size=eq, preset="torch_like", api=api)
    compare(
        table,
        w,
        "kernel",
        ours["params/kernel"],
        theirs["kernel"],
        bound=1 / math.sqrt(fi),
        bound_ours=ours.bound("params/kernel"),
        note=f"vs torch Linear({fi}, {fo})",
    )
