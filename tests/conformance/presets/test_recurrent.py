"""LSTMCell / OptimizedLSTMCell / GRUCell / SimpleCell (also inside nn.RNN) vs torch nn.LSTM /
nn.GRU / nn.RNN and Keras LSTM / GRU / SimpleRNN; ConvLSTMCell vs Keras ConvLSTM2D."""

import functools
import math
import os

os.environ["KERAS_BACKEND"] = "jax"

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from flax import nnx  # noqa: E402

import jaxinit  # noqa: E402

from ._harness import (  # noqa: E402
    check_structure,
    compare,
    compare_const,
    draws_needed,
    keras_draws,
    linen_draws,
    nnx_draws,
    orthonormal_cols,
    orthonormal_rows,
    torch_draws,
)

SIZES = [(9, 11), (16, 32)]  # (input features, hidden size)
GATES = {"lstm": "ifgo", "gru": "rzn", "simple": ""}


def _linen_cell(cell, h):
    return {
        "lstm": nn.LSTMCell(h),
        "optlstm": nn.OptimizedLSTMCell(h),
        "gru": nn.GRUCell(h),
        "simple": nn.SimpleCell(h),
    }[cell]


def _ours(api, cell, fin, h, policy, n, in_rnn=False):
    if api == "nnx":
        cls = {
            "lstm": nnx.LSTMCell,
            "optlstm": nnx.OptimizedLSTMCell,
            "gru": nnx.GRUCell,
            "simple": nnx.SimpleCell,
        }[cell]
        return nnx_draws(lambda: cls(fin, h, rngs=nnx.Rngs(0)), policy, n, 6)
    c = _linen_cell(cell, h)
    if in_rnn:
        return linen_draws(nn.RNN(c), (jnp.ones((1, 4, fin)),), policy, n, 6)
    carry = c.initialize_carry(jax.random.key(0), (1, fin))
    return linen_draws(c, (carry, jnp.ones((1, fin))), policy, n, 6)


def _family(cell):
    return "lstm" if cell in ("lstm", "optlstm") else cell


# ----------------------------------------------------------------------------------------------
# torch_like


@functools.lru_cache(maxsize=None)
def torch_rnn(family, fin, h, n):
    import torch

    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple": torch.nn.RNN}[family]
    return torch_draws(cls(fin, h), n, seed=fin * 100 + h)


def _torch_in_flax_layout(api, cell, fin, h, n):
    """torch's parameters as the Flax cell's parameters: {flax name: (n, *shape)}."""
    fam = _family(cell)
    d = torch_rnn(fam, fin, h, n)
    wi, wh = d["weight_ih_l0"], d["weight_hh_l0"]  # (n, G*H, in), (n, G*H, H)
    bi, bh = d["bias_ih_l0"], d["bias_hh_l0"]
    gates = GATES[fam]

    def blk(x, g):  # rows of gate g
        return x[:, g * h : (g + 1) * h]

    out = {}
    if api == "nnx" and cell in ("optlstm", "gru", "simple"):
        out["dense_i/kernel"] = np.swapaxes(wi, 1, 2)
        out["dense_h/kernel"] = np.swapaxes(wh, 1, 2)
        if fam == "lstm":
            out["dense_h/bias"] = bi + bh
        elif fam == "gru":  # NNX GRUCell has no b_hn: its n-bias is torch's b_in alone
            out["dense_i/bias"] = np.concatenate(
                [blk(bi, 0) + blk(bh, 0), blk(bi, 1) + blk(bh, 1), blk(bi, 2)], 1
            )
        else:
            out["dense_i/bias"] = bi + bh
        return out
    if fam == "simple":
        return {
            "i/kernel": np.swapaxes(wi, 1, 2),
            "h/kernel": np.swapaxes(wh, 1, 2),
            "i/bias": bi + bh,
        }
    for k, g in enumerate(gates):
        iname = "if_" if (api == "nnx" and g == "f") else "i" + g
        out[f"{iname}/kernel"] = np.swapaxes(blk(wi, k), 1, 2)
        out[f"h{g}/kernel"] = np.swapaxes(blk(wh, k), 1, 2)
        if fam == "lstm":
            out[f"h{g}/bias"] = blk(bi, k) + blk(bh, k)
    if fam == "gru":
        out["ir/bias"] = blk(bi, 0) + blk(bh, 0)
        out["iz/bias"] = blk(bi, 1) + blk(bh, 1)
        out["in/bias"] = blk(bi, 2)
        out["hn/bias"] = blk(bh, 2)  # b_hn stays separate (inside r * (W_hn h + b_hn))
    return out


CASES = [(api, cell) for api in ("linen", "nnx") for cell in ("lstm", "optlstm", "gru", "simple")]


def _cases_with_rnn():
    out = []
    for fin, h in SIZES:
        for api, cell in CASES:
            out.append((api, cell, fin, h, False))
    for cell in ("lstm", "optlstm", "gru", "simple"):
        out.append(("linen", cell, *SIZES[0], True))
    return out


def _ids(c):
    api, cell, fin, h, in_rnn = c
    return f"{api}-{cell}{'-in-RNN' if in_rnn else ''}-{fin}-{h}"


ALL = _cases_with_rnn()


def _prefix(in_rnn):
    return "params/cell/" if in_rnn else "params/"


CELL_NAMES = {
    "lstm": "LSTMCell",
    "optlstm": "OptimizedLSTMCell",
    "gru": "GRUCell",
    "simple": "SimpleCell",
}


def _where(case, preset):
    """The table's layer/size/preset/api of one case."""
    api, cell, fin, h, in_rnn = case
    layer = CELL_NAMES[cell] + (" in nn.RNN" if in_rnn else "")
    return dict(layer=layer, size=f"{fin}->{h}", preset=preset, api=api)


@pytest.mark.parametrize("case", ALL, ids=[_ids(c) for c in ALL])
def test_rnn_torch_like(table, case):
    api, cell, fin, h, in_rnn = case
    n = draws_needed([h])
    ours = _ours(api, cell, fin, h, jaxinit.preset("torch_like"), n, in_rnn)
    theirs = _torch_in_flax_layout(api, cell, fin, h, n)
    pre = _prefix(in_rnn)
    assert {p[len(pre) :] for p in ours.values} == set(theirs), (sorted(ours.values), theirs)
    w = _where(case, "torch_like")
    b = 1 / math.sqrt(h)
    for name, ref in sorted(theirs.items()):
        path = pre + name
        summed = name.endswith("bias") and name not in ("in/bias", "hn/bias")
        if api == "nnx" and cell == "gru" and name == "dense_i/bias":
            # r, z: b_i + b_h (triangular, bound 2/sqrt(H)); n: b_in only (bound 1/sqrt(H)).
            o = ours[path]
            compare(
                table,
                w,
                name + " [r,z]",
                o[:, : 2 * h],
                ref[:, : 2 * h],
                bound=2 * b,
                near=0.1,
                note="b_ih + b_hh",
            )
            compare(
                table,
                w,
                name + " [n]",
                o[:, 2 * h :],
                ref[:, 2 * h :],
                bound=b,
                note="b_in only: torch's b_hn has no NNX counterpart",
            )
            continue
        compare(
            table,
            w,
            name,
            ours[path],
            ref,
            bound=2 * b if summed else b,
            bound_ours=ours.bound(path),
            near=0.1 if summed else 1e-3,
            note="sum b_ih + b_hh (triangular)" if summed else "",
        )


# ----------------------------------------------------------------------------------------------
# tf_like


@functools.lru_cache(maxsize=None)
def keras_rnn(family, fin, h, n):
    import keras

    cls = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple": keras.layers.SimpleRNN}[
        family
    ]

    def build():
        layer = cls(h, name="L")
        layer.build((None, 4, fin))
        return layer

    d = keras_draws(build, n, seed=fin * 100 + h + 1)
    return {k.rsplit("/", 1)[1]: v for k, v in d.items()}


KERAS_ORDER = {"lstm": "ifgo", "gru": "zrn", "simple": ""}  # Keras LSTM [i,f,c,o]; GRU [z,r,h]


def _keras_in_flax_layout(api, cell, fin, h, n):
    fam = _family(cell)
    d = keras_rnn(fam, fin, h, n)
    k, r, bias = d["kernel"], d["recurrent_kernel"], d["bias"]

    def col(x, g):  # columns of gate g (Flax name) in Keras order
        j = KERAS_ORDER[fam].index(g)
        return x[..., j * h : (j + 1) * h]

    out = {}
    if fam == "simple":
        if api == "nnx":
            return {"dense_i/kernel": k, "dense_h/kernel": r, "dense_i/bias": bias}
        return {"i/kernel": k, "h/kernel": r, "i/bias": bias}
    gates = GATES[fam]
    if api == "nnx" and cell in ("optlstm", "gru"):
        out["dense_i/kernel"] = np.concatenate([col(k, g) for g in gates], -1)
        out["dense_h/kernel"] = np.concatenate([col(r, g) for g in gates], -1)
        if fam == "lstm":
            out["dense_h/bias"] = np.concatenate([col(bias, g) for g in gates], -1)
        else:  # Keras reset_after bias (2, 3H): input row; NNX has only the input bias
            out["dense_i/bias"] = np.concatenate([col(bias[:, 0], g) for g in gates], -1)
        return out
    for g in gates:
        iname = "if_" if (api == "nnx" and g == "f") else "i" + g
        out[f"{iname}/kernel"] = col(k, g)
        out[f"h{g}/kernel"] = col(r, g)
        if fam == "lstm":
            out[f"h{g}/bias"] = col(bias, g)
    if fam == "gru":  # reset_after=True: bias (2, 3H) = [input, recurrent]
        out["ir/bias"] = col(bias[:, 0], "r") + col(bias[:, 1], "r")
        out["iz/bias"] = col(bias[:, 0], "z") + col(bias[:, 1], "z")
        out["in/bias"] = col(bias[:, 0], "n")
        out["hn/bias"] = col(bias[:, 1], "n")
    return out


def _recurrent_matrix(vals: dict, pre: str, api: str, cell: str):
    """The fused (H, G*H) recurrent matrix in Flax gate order."""
    fam = _family(cell)
    if fam == "simple":
        return vals[pre + ("dense_h/kernel" if api == "nnx" else "h/kernel")]
    if api == "nnx" and cell in ("optlstm", "gru"):
        return vals[pre + "dense_h/kernel"]
    return np.concatenate([vals[f"{pre}h{g}/kernel"] for g in GATES[fam]], -1)


@pytest.mark.parametrize("case", ALL, ids=[_ids(c) for c in ALL])
def test_rnn_tf_like(table, case):
    api, cell, fin, h, in_rnn = case
    fam = _family(cell)
    g = max(len(GATES[fam]), 1)
    n = draws_needed([fin * h, h * h])  # per-gate pieces (Linen)
    ours = _ours(api, cell, fin, h, jaxinit.preset("tf_like"), n, in_rnn)
    theirs = _keras_in_flax_layout(api, cell, fin, h, n)
    pre = _prefix(in_rnn)
    assert {p[len(pre) :] for p in ours.values} == set(theirs), (sorted(ours.values), theirs)
    w = _where(case, "tf_like")
    limit = math.sqrt(6 / (fin + g * h))  # glorot over the WHOLE fused (in, G*H) kernel
    for name, ref in sorted(theirs.items()):
        path = pre + name
        if name.endswith("bias"):
            compare_const(
                table,
                w,
                name,
                ours[path],
                ref,
                note="forget gate 1 (unit_forget_bias)"
                if "f" in name[1:3] or (fam == "lstm" and name.startswith("dense_h"))
                else "",
            )
        elif name.startswith("i") or name.startswith("dense_i"):
            compare(
                table,
                w,
                name,
                ours[path],
                ref,
                bound=limit,
                bound_ours=ours.bound(path),
                note=f"glorot over ({fin}, {g * h})",
            )
        else:
            compare(
                table, w, name, ours[path], ref, bound=None, note=f"orthogonal over ({h}, {g * h})"
            )
    # Structure of the fused recurrent matrix: rows orthonormal; per-gate blocks not.
    mo = _recurrent_matrix(ours.values, pre, api, cell)
    mt = (
        np.concatenate(
            [
                theirs[k]
                for k in sorted(theirs)
                if k.startswith(("h", "dense_h")) and k.endswith("kernel")
            ],
            -1,
        )
        if g > 1
        else theirs["dense_h/kernel" if api == "nnx" else "h/kernel"]
    )
    check_structure(
        table,
        w,
        "recurrent (fused)",
        f"rows of ({h},{g * h}) orthonormal",
        orthonormal_rows(mo) and orthonormal_rows(mt),
    )
    if g > 1:
        blocks_o = [mo[:, :, j * h : (j + 1) * h] for j in range(g)]
        blocks_t = [mt[:, :, j * h : (j + 1) * h] for j in range(g)]
        check_structure(
            table,
            w,
            "recurrent (per gate)",
            "gate blocks NOT orthogonal",
            not any(orthonormal_cols(b, atol=0.05) for b in blocks_o + blocks_t),
            note="Keras: orthogonal over the whole matrix, not per gate",
        )
    else:
        check_structure(
            table,
            w,
            "recurrent",
            f"({h},{h}) orthogonal",
            orthonormal_cols(mo) and orthonormal_cols(mt),
        )
    if fam == "lstm":
        bo = (
            np.concatenate([ours[pre + f"h{x}/bias"] for x in GATES[fam]], -1)
            if not (api == "nnx" and cell == "optlstm")
            else ours[pre + "dense_h/bias"]
        )
        expect = np.repeat(np.array([0.0, 1.0, 0.0, 0.0]), h)
        kb = keras_rnn(fam, fin, h, n)["bias"]
        check_structure(
            table,
            w,
            "bias (fused)",
            "forget block == 1, others 0 (both)",
            np.all(bo == expect) and np.all(kb == expect),
        )


def test_conv_lstm_tf_like_recurrent_kernel_is_orthogonal_as_keras_conv_lstm():
    import keras

    layer = keras.layers.ConvLSTM2D(6, 3, padding="same")
    layer.build((None, 4, 8, 8, 3))
    theirs = np.asarray(layer.weights[1]).reshape(-1, 24)  # recurrent_kernel (3, 3, 6, 24)
    np.testing.assert_allclose(theirs.T @ theirs, np.eye(24), atol=1e-4)

    cell = nn.ConvLSTMCell(features=6, kernel_size=(3, 3))
    x = jnp.ones((1, 8, 8, 3))
    carry = cell.initialize_carry(jax.random.key(0), x.shape)
    v = jaxinit.init(cell, jax.random.key(11), carry, x, policy="tf_like")["params"]
    ours = np.asarray(v["hh"]["kernel"], np.float64).reshape(-1, 24)
    np.testing.assert_allclose(ours.T @ ours, np.eye(24), atol=2e-5)
    # The input kernel is glorot with Keras's conv fans (in 3*3*3, out 3*3*24).
    bound = math.sqrt(6 / (27 + 216))
    k = np.abs(np.asarray(v["ih"]["kernel"]))
    assert k.max() <= bound and k.max() > 0.9 * bound  # 648 draws: P(max < 0.9b) = 0.9**648
    np.testing.assert_array_equal(v["hh"]["bias"], 0)
