"""MultiHeadDotProductAttention / nnx.MultiHeadAttention vs torch nn.MultiheadAttention and
Keras MultiHeadAttention (2-D fans in Keras 3.15.1; the rank-3 option against its formula)."""

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
    draws_needed,
    keras_draws,
    linen_draws,
    nnx_draws,
    t,
    torch_draws,
)

PROJ = ("query", "key", "value")


def _ours(api, e, heads, qkv, policy, n):
    if api == "linen":
        m = nn.MultiHeadDotProductAttention(num_heads=heads, qkv_features=qkv)
        return linen_draws(m, (jnp.ones((1, 3, e)),), policy, n, 8)
    return nnx_draws(
        lambda: nnx.MultiHeadAttention(
            heads, e, qkv, decode=False, keep_rngs=False, rngs=nnx.Rngs(0)
        ),
        policy,
        n,
        8,
    )


TORCH_SIZES = [(9, 3), (64, 8)]  # (embed_dim, heads); torch has head_dim = E / heads


@functools.lru_cache(maxsize=None)
def torch_mha(e, heads, n):
    import torch

    m = torch.nn.MultiheadAttention(e, heads)

    def reset():  # as the constructor: out_proj (a Linear) first, then _reset_parameters,
        m.out_proj.reset_parameters()  # which re-draws in_proj only
        m._reset_parameters()

    d = torch_draws(m, n, seed=e + heads, reset=reset)
    hd = e // heads
    w, b = d["in_proj_weight"], d["in_proj_bias"]  # (n, 3E, E), (n, 3E)
    out = {}
    for j, p in enumerate(PROJ):
        # torch rows h*D:(h+1)*D are head h: Flax kernel (E, H, D) = W_p^T reshaped.
        out[f"{p}/kernel"] = np.swapaxes(w[:, j * e : (j + 1) * e], 1, 2).reshape(n, e, heads, hd)
        out[f"{p}/bias"] = b[:, j * e : (j + 1) * e].reshape(n, heads, hd)
    out["out/kernel"] = np.swapaxes(d["out_proj.weight"], 1, 2).reshape(n, heads, hd, e)
    out["out/bias"] = d["out_proj.bias"]
    return out


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("e,heads", TORCH_SIZES)
def test_mha_torch_like(table, api, e, heads):
    n = draws_needed([e * e])
    ours = _ours(api, e, heads, e, jaxinit.preset("torch_like"), n)
    theirs = torch_mha(e, heads, n)
    w = dict(layer="MultiHeadAttention", size=f"E={e} H={heads}", preset="torch_like", api=api)
    for p in PROJ:
        compare(
            table,
            w,
            f"{p}/kernel",
            ours[f"params/{p}/kernel"],
            theirs[f"{p}/kernel"],
            bound=math.sqrt(6 / (4 * e)),
            bound_ours=ours.bound(f"params/{p}/kernel"),
            note="xavier over packed (3E, E)",
        )
        compare_const(table, w, f"{p}/bias", ours[f"params/{p}/bias"], theirs[f"{p}/bias"])
    compare(
        table,
        w,
        "out/kernel",
        ours["params/out/kernel"],
        theirs["out/kernel"],
        bound=1 / math.sqrt(e),
        bound_ours=ours.bound("params/out/kernel"),
        note="out_proj: Linear default",
    )
    compare_const(table, w, "out/bias", ours["params/out/bias"], theirs["out/bias"])


# Cross-attention with key/value inputs of another width: torch keeps q/k/v_proj_weight as
# three matrices (kdim != E), each with its own xavier_uniform_, instead of one packed in_proj.
CROSS = (16, 4, 24)  # (E, heads, kdim = vdim)


@functools.lru_cache(maxsize=None)
def torch_cross_mha(e, heads, kdim, n):
    import torch

    m = torch.nn.MultiheadAttention(e, heads, kdim=kdim, vdim=kdim)

    def reset():
        m.out_proj.reset_parameters()
        m._reset_parameters()

    d = torch_draws(m, n, seed=e + kdim, reset=reset)
    assert "in_proj_weight" not in d  # torch really uses three matrices here
    return {p: np.swapaxes(d[f"{p[0]}_proj_weight"], 1, 2) for p in PROJ}


@pytest.mark.parametrize("api", ["linen", "nnx"])
def test_cross_attention_torch_like(table, api):
    e, heads, kdim = CROSS
    n = draws_needed([e * e])
    if api == "linen":
        m = nn.MultiHeadDotProductAttention(num_heads=heads, qkv_features=e)
        ours = linen_draws(
            m, (jnp.ones((1, 3, e)), jnp.ones((1, 5, kdim))), jaxinit.preset("torch_like"), n, 9
        )
    else:
        ours = nnx_draws(
            lambda: nnx.MultiHeadAttention(
                heads, e, e, in_kv_features=kdim, decode=False, rngs=nnx.Rngs(0)
            ),
            jaxinit.preset("torch_like"),
            n,
            9,
        )
    theirs = torch_cross_mha(e, heads, kdim, n)
    w = dict(layer="MultiHeadAttention", size=f"E={e} H={heads} kdim={kdim}", api=api)
    w["preset"] = "torch_like"
    for p in PROJ:
        fin = e if p == "query" else kdim
        compare(
            table,
            w,
            f"{p}/kernel",
            ours[f"params/{p}/kernel"],
            theirs[p],
            bound=math.sqrt(6 / (fin + e)),
            bound_ours=ours.bound(f"params/{p}/kernel"),
            note="kdim != E: separate xaviers",
        )


KERAS_SIZES = [(9, 3, 5), (64, 8, 8)]  # (embed, heads, key_dim)


@functools.lru_cache(maxsize=None)
def keras_mha(e, heads, hd, n):
    import keras

    def build():
        layer = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=hd, name="L")
        layer.build((None, 3, e), (None, 3, e))
        return layer

    d = keras_draws(build, n, seed=e * heads + hd)
    return {k.replace("attention_output", "out"): v for k, v in d.items()}


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("e,heads,hd", KERAS_SIZES)
def test_mha_tf_like(table, api, e, heads, hd):
    n = draws_needed([e * heads * hd])
    ours = _ours(api, e, heads, heads * hd, jaxinit.preset("tf_like"), n)
    theirs = keras_mha(e, heads, hd, n)
    w = dict(layer="MultiHeadAttention", size=f"E={e} H={heads} D={hd}", preset="tf_like", api=api)
    for p in PROJ + ("out",):
        path = f"params/{p}/kernel"
        assert theirs[f"{p}/kernel"].shape == ours[path].shape
        compare(
            table,
            w,
            f"{p}/kernel",
            ours[path],
            theirs[f"{p}/kernel"],
            bound=math.sqrt(6 / (e + heads * hd)),
            bound_ours=ours.bound(path),
            note="Keras 3.15.1 EinsumDense: 2-D fans (E, H*D)",
        )
        compare_const(table, w, f"{p}/bias", ours[f"params/{p}/bias"], theirs[f"{p}/bias"])


@pytest.mark.parametrize("api", ["linen", "nnx"])
@pytest.mark.parametrize("e,heads,hd", KERAS_SIZES)
def test_mha_tf_like_rank3_formula(table, api, e, heads, hd):
    """tf.keras / Keras < 3.15 saw the rank-3 kernels: glorot with fans from (E, H, D).
    No old Keras is installed, so this compares with the formula (one-sample KS against
    the exact uniform) rather than with the library."""
    n = draws_needed([e * heads * hd])
    ours = _ours(api, e, heads, heads * hd, jaxinit.preset("tf_like", attention_fans="rank3"), n)
    limits = {p: math.sqrt(6 / (e * (heads + hd))) for p in PROJ}
    limits["out"] = math.sqrt(6 / (heads * (hd + e)))
    for p, lim in limits.items():
        a = ours[f"params/{p}/kernel"].ravel()
        p_ks = float(scipy.stats.kstest(a, scipy.stats.uniform(-lim, 2 * lim).cdf).pvalue)
        declared = ours.bound(f"params/{p}/kernel")
        m = float(np.abs(a).max())
        ok = (
            p_ks >= P_MIN
            and m <= lim * (1 + 1e-6)
            and m >= lim * (1 - 1e-3)
            and abs(declared - lim) <= 1e-6 * lim
            and a.size >= 20_000
        )
        table.add(
            Row(
                layer="MultiHeadAttention",
                size=f"E={e} H={heads} D={hd}",
                preset="tf_like(rank3)",
                api=api,
                param=f"{p}/kernel",
                check="formula U(+-limit) (no old Keras installed)",
                ok=ok,
                bound_ours=declared,
                bound_theirs=lim,
                std_ours=float(a.std()),
                std_theirs=lim / math.sqrt(3),
                p=p_ks,
                n_ours=a.size,
                note="limit sqrt(6/(E(H+D)))" if p != "out" else "limit sqrt(6/(H(D+E)))",
            )
        )
        assert ok, (p, p_ks, m, lim, declared)


def test_mha_layout_check():
    """The torch -> Flax mapping above: torch's head h is rows h*D:(h+1)*D."""
    x = np.arange(6 * 4).reshape(1, 6, 4)  # (n, E_out=6, E_in=4), 2 heads of 3
    k = t(x, (1, 0)).reshape(1, 4, 2, 3)
    assert k[0, 1, 1, 2] == x[0, 1 * 3 + 2, 1]
