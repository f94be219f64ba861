"""tf1_like vs TF 2.21 `tf.compat.v1` (graph mode), from recorded initial values.

TF and jaxinit's jax do not share one environment, so TF1's values were recorded by
tests/reference/tf/record_tf1.py (`make refs-tf`): 20k values per variable, pooled over fresh
`global_variables_initializer()` runs. TF1's cells hold ONE kernel over [x, h] whose values are
i.i.d., so it is compared with all of the Flax cell's input and recurrent kernel values pooled.
"""

import json
import os

os.environ["KERAS_BACKEND"] = "jax"

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jaxinit  # noqa: E402

from ._harness import check_structure, compare, linen_draws  # noqa: E402

REF = os.path.join(os.path.dirname(__file__), "..", "..", "reference", "tf")
with open(os.path.join(REF, "tf1_layers.json")) as _f:
    META = json.load(_f)
VALUES = np.load(os.path.join(REF, "tf1_layers.npz"))
CASE = {(c["layer"], c["variable"]): c for c in META["cases"]}
FIN, H = 9, 11


def _pool(ours, names):
    return np.concatenate([ours[f"params/{n}/kernel"].reshape(-1) for n in names])


def _cell_draws(cell, n=100):  # >= 20k values for the smallest pooled group (20 x 11)
    carry = cell.initialize_carry(jax.random.key(0), (1, FIN))
    return linen_draws(cell, (carry, jnp.ones((1, FIN))), jaxinit.preset("tf1_like"), n, 14)


@pytest.mark.parametrize(
    "cell,layer,groups",
    [
        (nn.LSTMCell, "lstm", {"kernel": [f"{s}{g}" for s in "ih" for g in "ifgo"]}),
        (nn.OptimizedLSTMCell, "lstm", {"kernel": [f"{s}{g}" for s in "ih" for g in "ifgo"]}),
        (
            nn.GRUCell,
            "gru",
            {"gates/kernel": ["ir", "iz", "hr", "hz"], "candidate/kernel": ["in", "hn"]},
        ),
        (nn.SimpleCell, "rnn", {"kernel": ["i", "h"]}),
    ],
    ids=["LSTMCell", "OptimizedLSTMCell", "GRUCell", "SimpleCell"],
)
def test_tf1_cells(table, cell, layer, groups):
    assert META["tensorflow"].startswith("2.21")
    ours = _cell_draws(cell(H))
    tf1 = {"lstm": "LSTMCell", "gru": "GRUCell", "rnn": "BasicRNNCell"}[layer]
    w = dict(layer=f"{cell.__name__} / TF1 {tf1}", size=f"{FIN}->{H}", preset="tf1_like")
    w["api"] = "linen"
    for var, names in groups.items():
        c = CASE[(layer, var)]
        theirs = VALUES[f"{layer}/{var}"]
        decision = ours.decisions[f"params/{names[0]}/kernel"]
        st = decision.initializer().stats(decision.sample_shape)
        compare(
            table, w, var, _pool(ours, names), theirs, bound=c["glorot_bound"], bound_ours=st.high
        )
    if layer == "lstm":
        # TF1 adds forget_bias=1 at run time to a zero bias; tf1_like stores 1 (same function).
        tb = VALUES["lstm/bias"]
        check_structure(
            table, w, "bias", "TF1 bias 0 (+1 forget at run time)", bool(np.all(tb == 0))
        )
        check_structure(
            table,
            w,
            "hf/bias",
            "forget bias 1, others 0",
            bool(np.all(ours["params/hf/bias"] == 1)) and bool(np.all(ours["params/hi/bias"] == 0)),
        )


def test_tf1_separable_depthwise(table):
    """separable_conv2d(filters=4, kernel 3, depth_multiplier=2) on 5 channels: TF1's depthwise
    kernel (3, 3, 5, 2) has fans (45, 18); Flax's depthwise Conv stores (3, 3, 1, 10)."""

    class Sep(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Conv(10, (3, 3), feature_group_count=5, use_bias=False, name="dw")(x)
            return nn.Conv(4, (1, 1), name="pw")(x)

    n = 20_000 // 40 + 1  # the pointwise kernel (1, 1, 10, 4) is the smallest
    ours = linen_draws(Sep(), (jnp.ones((1, 8, 8, 5)),), jaxinit.preset("tf1_like"), n, 15)
    w = dict(layer="depthwise Conv / TF1 separable_conv2d", size="5x2, 3x3", preset="tf1_like")
    w["api"] = "linen"
    c = CASE[("separable_conv2d", "depthwise_kernel")]
    st = ours.decisions["params/dw/kernel"].initializer().stats((3, 3, 1, 10))
    compare(
        table,
        w,
        "depthwise",
        ours["params/dw/kernel"],
        VALUES[f"separable_conv2d/{c['variable']}"],
        bound=c["glorot_bound"],
        bound_ours=st.high,
    )
    c = CASE[("separable_conv2d", "pointwise_kernel")]
    theirs = VALUES["separable_conv2d/pointwise_kernel"]
    compare(table, w, "pointwise", ours["params/pw/kernel"], theirs, bound=c["glorot_bound"])


@pytest.mark.parametrize("cls,layer", [("OptimizedLSTMCell", "lstm"), ("SimpleCell", "rnn")])
def test_tf1_nnx_cells(table, cls, layer):
    """NNX's fused cells: dense_i (in, G*H) and dense_h (H, G*H) get TF1's fans too."""
    from flax import nnx

    from ._harness import nnx_draws

    factory = lambda: getattr(nnx, cls)(FIN, H, rngs=nnx.Rngs(0))  # noqa: E731
    ours = nnx_draws(factory, jaxinit.preset("tf1_like"), 100, 16)
    w = dict(layer=f"nnx.{cls} / TF1", size=f"{FIN}->{H}", preset="tf1_like", api="nnx")
    c = CASE[(layer, "kernel")]
    d = ours.decisions["params/dense_i/kernel"]
    compare(
        table,
        w,
        "kernel",
        _pool(ours, ["dense_i", "dense_h"]),
        VALUES[f"{layer}/kernel"],
        bound=c["glorot_bound"],
        bound_ours=d.initializer().stats(d.sample_shape).high,
    )


def test_cell_fan_in_outside_a_cell_is_a_clear_error():
    class M(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(3, name="d")(x)

    rule = jaxinit.Rule(r".*kernel", "variance_scaling", {"fan_in": "ctx:cell_fan_in"})
    with pytest.raises(jaxinit.JaxinitError, match="ctx:cell_fan_in.*cannot be resolved"):
        jaxinit.explain(M(), jnp.ones((1, 2)), policy=jaxinit.Policy([rule]))
