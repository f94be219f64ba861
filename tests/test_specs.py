"""The model description (ModuleInfo, ParamSpec and the kernel views: jaxinit/_src/specs.py) as
explain shows it: the fans of LinearGeneral (batch axes, subclasses), Einsum per preset and
depthwise convolutions, and cross- versus self-attention."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest
from flax import nnx

import jaxinit

KEY = jax.random.key(11)


@pytest.mark.parametrize("subclass", [False, True])
def test_nnx_linear_general_batch_axis_and_subclasses_use_flax_view(subclass):
    class MyLG(nnx.LinearGeneral):
        pass

    cls = MyLG if subclass else nnx.LinearGeneral
    m = cls((2, 8), (5,), axis=(1, 2), batch_axis={0: 6}, rngs=nnx.Rngs(0))
    row = {r.path: r for r in jaxinit.explain(m, policy="flax_default").rows}["params/kernel"]
    # Flax's own LinearGeneral draws on the (batch * in, out) = (96, 5) view.
    assert (row.fan_in, row.fan_out) == (96, 5)
    m2 = cls((4, 8), (3, 5), axis=(-2, -1), rngs=nnx.Rngs(0))
    row = {r.path: r for r in jaxinit.explain(m2, policy="torch_like").rows}["params/kernel"]
    assert (row.fan_in, row.fan_out) == (32, 15)


def test_einsum_fans_per_preset():
    """tf_like/torch_like read the equation as Keras's EinsumDense does; flax_default keeps
    Flax's own raw-shape fans (conformance: tests/conformance/presets/test_dense.py)."""
    m = nn.Einsum(shape=(16, 4, 8), einsum_str="bd,dhk->bhk", use_bias=False)
    x = jnp.ones((1, 16))
    fans = {}
    for p in ("tf_like", "torch_like", "flax_default"):
        row = jaxinit.explain(m, x, policy=p).rows[0]
        fans[p] = (row.fan_in, row.fan_out)
    assert fans["tf_like"] == fans["torch_like"] == (16, 32)
    assert fans["flax_default"] == (64, 128)  # lecun_normal on (16, 4, 8): in_axis -2, rf 16
    v = jaxinit.init(m, KEY, x, policy="torch_like")["params"]["kernel"]
    assert float(jnp.abs(v).max()) <= 1 / math.sqrt(16)


def test_cross_attention_draws_separate_xaviers_and_self_attention_stays_packed():
    cross = nn.MultiHeadDotProductAttention(num_heads=4, qkv_features=16)
    q, kv = jnp.ones((1, 3, 16)), jnp.ones((1, 5, 24))
    rows = {r.path: r for r in jaxinit.explain(cross, q, kv, policy="torch_like").rows}
    assert rows["params/query/kernel"].group is None
    assert rows["params/key/kernel"].bound == pytest.approx(math.sqrt(6 / (24 + 16)))
    assert rows["params/query/kernel"].bound == pytest.approx(math.sqrt(6 / 32))
    rows = {r.path: r for r in jaxinit.explain(cross, q, policy="torch_like").rows}
    assert rows["params/query/kernel"].group is not None
    assert rows["params/key/kernel"].bound == pytest.approx(math.sqrt(6 / (4 * 16)))


def test_explain_shows_the_fans_a_scheme_really_uses_for_depthwise_convs():
    m = nn.Conv(48, (3, 3), feature_group_count=16)  # depthwise, multiplier 3
    row = {r.path: r for r in jaxinit.explain(m, jnp.ones((1, 8, 8, 16)), policy="tf_like").rows}
    kernel = row["params/kernel"]
    # Keras DepthwiseConv2D kernel (3, 3, 16, 3): fans (16 * 9, 3 * 9).
    assert (kernel.fan_in, kernel.fan_out) == (144, 27)
    assert kernel.bound == pytest.approx(math.sqrt(6 / (144 + 27)))
