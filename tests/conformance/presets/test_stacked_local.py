"""NNX layers stacked by `nnx.vmap` (scan over layers) vs one torch nn.Linear / Keras Dense per
layer, and `nn.ConvLocal` (one filter per output position) vs the formula of one filter."""

import math
import os

os.environ["KERAS_BACKEND"] = "jax"

import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

import jaxinit  # noqa: E402

from ._harness import compare, compare_const, draws_needed, linen_draws, nnx_draws  # noqa: E402
from .test_dense import (  # noqa: E402
    SCAN_D,
    SCAN_LAYERS,
    compare_stack_tf_like,
    compare_stack_torch_like,
    keras_dense,
    torch_linear,
)


def _nnx_stack():
    """flax nnx_toy_examples/06_scan_over_layers: the constructor under nnx.vmap."""

    @nnx.split_rngs(splits=SCAN_LAYERS)
    @nnx.vmap(in_axes=(0,), out_axes=0)
    def create(rngs):
        return nnx.Linear(SCAN_D, SCAN_D, rngs=rngs)

    return create(nnx.Rngs(0))


W = dict(layer="nnx.Linear in nnx.vmap", size=f"{SCAN_LAYERS}x {SCAN_D}->{SCAN_D}", api="nnx")


def test_nnx_vmap_stack_torch_like(table):
    n = draws_needed([SCAN_LAYERS * SCAN_D])
    ours = nnx_draws(_nnx_stack, jaxinit.preset("torch_like"), n, seed=6)
    theirs = torch_linear(SCAN_D, SCAN_D, draws_needed([SCAN_D]))
    compare_stack_torch_like(table, {**W, "preset": "torch_like"}, ours, theirs)


def test_nnx_vmap_stack_tf_like(table):
    n = draws_needed([SCAN_LAYERS * SCAN_D * SCAN_D])
    ours = nnx_draws(_nnx_stack, jaxinit.preset("tf_like"), n, seed=6)
    theirs = keras_dense(SCAN_D, SCAN_D, draws_needed([SCAN_D * SCAN_D]))
    compare_stack_tf_like(table, {**W, "preset": "tf_like"}, ours, theirs)


# nn.ConvLocal over a 6x6x3 input with 3x3 filters: a (4, 4, 27, 5) kernel, a (4, 4, 5) bias.
LOCAL_IN, LOCAL_K, LOCAL_OUT = 3, 3, 5
RF_IN = LOCAL_K * LOCAL_K * LOCAL_IN  # one filter's fan_in


def _local(policy, n):
    model = nn.ConvLocal(LOCAL_OUT, (LOCAL_K, LOCAL_K), padding="VALID")
    return linen_draws(model, (jnp.ones((1, 6, 6, LOCAL_IN)),), policy, n, seed=8)


def _formula_uniform(bound, like, seed):
    """The formula's side: U(-bound, bound), as many values as ours (no installed framework has
    a locally connected layer: Keras 3 dropped LocallyConnected2D, torch never had one)."""
    return np.random.default_rng(seed).uniform(-bound, bound, size=np.shape(like))


def test_conv_local_torch_like(table):
    n = draws_needed([16 * LOCAL_OUT])
    ours = _local(jaxinit.preset("torch_like"), n)
    w = dict(layer="ConvLocal", size="6x6x3 k3 ->5", preset="torch_like", api="linen")
    b = 1 / math.sqrt(RF_IN)  # one torch Conv2d(3, 5, 3) filter per position
    for k, p in enumerate(("kernel", "bias")):
        compare(
            table,
            w,
            p,
            ours["params/" + p],
            _formula_uniform(b, ours["params/" + p], seed=k),
            bound=b,
            bound_ours=ours.bound("params/" + p),
            note="vs formula U(+-1/sqrt(rf*in))",
        )


def test_conv_local_tf_like(table):
    n = draws_needed([16 * RF_IN * LOCAL_OUT])
    ours = _local(jaxinit.preset("tf_like"), n)
    w = dict(layer="ConvLocal", size="6x6x3 k3 ->5", preset="tf_like", api="linen")
    b = math.sqrt(6 / (RF_IN + LOCAL_OUT))  # glorot of one (rf*in, out) filter
    compare(
        table,
        w,
        "kernel",
        ours["params/kernel"],
        _formula_uniform(b, ours["params/kernel"], seed=2),
        bound=b,
        bound_ours=ours.bound("params/kernel"),
        note="vs formula glorot(rf*in, out)",
    )
    bias = ours["params/bias"]
    compare_const(table, w, "bias", bias, np.zeros_like(bias))
