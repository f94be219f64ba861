"""haiku_like vs real dm-haiku 0.0.17 (built with the project's jax): Linear, Conv2D,
DepthwiseConv2D, Embed, LSTM, GRU and VanillaRNN, each initialized many times
(`hk.transform(f).init` under `vmap` over keys) and compared with the statistical machinery
of the other preset suites."""

import os

os.environ["KERAS_BACKEND"] = "jax"

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jaxinit  # noqa: E402

from ._harness import check_structure, compare, draws_needed, linen_draws  # noqa: E402

hk = pytest.importorskip("haiku")  # in the `test` extra: always installed by `make test`

SIZES = [(9, 11), (16, 32)]  # (input features, hidden size)


def haiku_draws(fn, inputs: tuple, n, seed):
    """{module/param: (n, *shape)} of n Haiku inits of `fn(*inputs)` from one seed."""
    f = hk.transform(fn)
    keys = jax.random.split(jax.random.key(seed), n)
    params = jax.jit(jax.vmap(lambda k: f.init(k, *inputs)))(keys)
    return {f"{m}/{p}": np.asarray(v) for m, d in params.items() for p, v in d.items()}


def _cell(cell, fin, n):
    carry = cell.initialize_carry(jax.random.key(0), (1, fin))
    return linen_draws(cell, (carry, jnp.ones((1, fin))), jaxinit.preset("haiku_like"), n, 21)


def _pool(ours, names):
    return np.concatenate([ours[f"params/{k}/kernel"].reshape(-1) for k in names])


@pytest.mark.parametrize("fin,h", SIZES)
def test_haiku_lstm(table, fin, h):
    """hk.LSTM: ONE Linear over [x, h] (fan_in = in + H) for both of Flax's kernel sides;
    Haiku's stored bias is 0 and it adds +1 to the forget gate at run time."""
    n = draws_needed([fin * h])
    theirs = haiku_draws(
        lambda x: hk.LSTM(h)(x, hk.LSTM(h).initial_state(1)), (jnp.ones((1, fin)),), n, 1
    )
    ours = _cell(nn.LSTMCell(h), fin, n)
    w = dict(layer="LSTMCell / hk.LSTM", size=f"{fin}->{h}", preset="haiku_like", api="linen")
    bound = 2.0 / np.sqrt(fin + h)  # TruncatedNormal(1/sqrt(in + H)), uncorrected, at +-2 std
    tw = theirs["lstm/linear/w"]
    assert tw.shape[1:] == (fin + h, 4 * h)
    compare(
        table,
        w,
        "input kernels",
        _pool(ours, ["ii", "if", "ig", "io"]),
        tw[:, :fin],
        bound=bound,
        bound_ours=ours.bound("params/ii/kernel"),
    )
    compare(
        table,
        w,
        "recurrent kernels",
        _pool(ours, ["hi", "hf", "hg", "ho"]),
        tw[:, fin:],
        bound=bound,
        bound_ours=ours.bound("params/hi/kernel"),
    )
    check_structure(
        table,
        w,
        "bias",
        "Haiku b = 0 (+1 forget at run time); ours hf = 1",
        bool(np.all(theirs["lstm/linear/b"] == 0))
        and bool(np.all(ours["params/hf/bias"] == 1))
        and bool(np.all(ours["params/hi/bias"] == 0)),
    )


@pytest.mark.parametrize("fin,h", SIZES)
def test_haiku_gru_vanilla(table, fin, h):
    n = draws_needed([fin * h])
    x = jnp.ones((1, fin))
    gru = haiku_draws(lambda x: hk.GRU(h)(x, jnp.zeros((1, h))), (x,), n, 2)
    ours = _cell(nn.GRUCell(h), fin, n)
    w = dict(layer="GRUCell / hk.GRU", size=f"{fin}->{h}", preset="haiku_like", api="linen")
    compare(
        table,
        w,
        "w_i",
        _pool(ours, ["ir", "iz", "in"]),
        gru["gru/w_i"],
        bound=ours.bound("params/ir/kernel"),
        near=None,
    )
    compare(
        table,
        w,
        "w_h",
        _pool(ours, ["hr", "hz", "hn"]),
        gru["gru/w_h"],
        bound=ours.bound("params/hr/kernel"),
        near=None,
    )
    rnn = haiku_draws(lambda x: hk.VanillaRNN(h)(x, jnp.zeros((1, h))), (x,), n, 3)
    ours = _cell(nn.SimpleCell(h), fin, n)
    w = dict(layer="SimpleCell / hk.VanillaRNN", size=f"{fin}->{h}", preset="haiku_like")
    w["api"] = "linen"
    compare(
        table,
        w,
        "input",
        ours["params/i/kernel"],
        rnn["vanilla_rnn/linear/w"],
        bound=2.0 / np.sqrt(fin),
    )
    compare(
        table,
        w,
        "recurrent",
        ours["params/h/kernel"],
        rnn["vanilla_rnn/linear_1/w"],
        bound=2.0 / np.sqrt(h),
    )


def test_haiku_linear_conv_embed(table):
    x = jnp.ones((1, 6, 6, 5))

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x, ids):
            a = nn.Dense(7, name="dense")(x.reshape(1, -1)[:, :30])
            b = nn.Conv(8, (3, 3), name="conv")(x)
            c = nn.Conv(10, (3, 3), feature_group_count=5, name="dw")(x)
            return a, b, c, nn.Embed(50, 12, name="embed")(ids)

    ids = jnp.zeros((1,), jnp.int32)
    n = draws_needed([3 * 3 * 10])  # the depthwise kernel is the smallest
    ours = linen_draws(Net(), (x, ids), jaxinit.preset("haiku_like"), n, 22)

    def fn(x, ids):
        return (
            hk.Linear(7, name="dense")(x.reshape(1, -1)[:, :30]),
            hk.Conv2D(8, 3, name="conv")(x),
            hk.DepthwiseConv2D(2, 3, name="dw")(x),
            hk.Embed(50, 12, name="embed")(ids),
        )

    theirs = haiku_draws(fn, (x, ids), n, 4)
    w = dict(layer="Linear/Conv/Embed / hk", size="mixed", preset="haiku_like", api="linen")
    for ours_name, theirs_arr, fan_in in (
        ("dense/kernel", theirs["dense/w"], 30),
        ("conv/kernel", theirs["conv/w"], 45),
        ("dw/kernel", theirs["dw/w"], 9),
    ):
        compare(
            table,
            w,
            ours_name,
            ours[f"params/{ours_name}"],
            theirs_arr,
            bound=2.0 / np.sqrt(fan_in),
        )
        assert ours[f"params/{ours_name}"].shape[1:] == theirs_arr.shape[1:]
    compare(
        table,
        w,
        "embedding",
        ours["params/embed/embedding"],
        theirs["embed/embeddings"],
        bound=2.0,
    )
    check_structure(
        table,
        w,
        "biases",
        "zeros",
        bool(np.all(theirs["conv/b"] == 0)) and bool(np.all(ours["params/conv/bias"] == 0)),
    )
