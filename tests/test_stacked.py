"""Layers stacked by Flax's lifted transforms (`nn.scan`/`nn.vmap` over layers, NNX's
`nnx.vmap` constructor): each slice is the layer its module created, so fans, rank/shape rules
and the draw are per slice, exactly as Flax's own init (which calls the initializer inside the
transform) and as PyTorch's separate layers would have them."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from flax.traverse_util import flatten_dict

import jaxinit
from jaxinit import Policy, Rule

KEY = jax.random.key(7)
L, D, H = 6, 64, 16


class Layer(nn.Module):
    features: int = D

    @nn.compact
    def __call__(self, x, _):
        return nn.Dense(self.features)(x), None


class Scanned(nn.Module):
    @nn.compact
    def __call__(self, x):
        stack = nn.scan(Layer, variable_axes={"params": 0}, split_rngs={"params": True}, length=L)
        x, _ = stack(name="layers")(x, None)
        return x


class VmappedOnAxis1(nn.Module):
    """nn.vmap storing the stacked axis in the middle: kernels (D, L, 32)."""

    @nn.compact
    def __call__(self, x):
        dense = nn.vmap(
            nn.Dense,
            variable_axes={"params": 1},
            split_rngs={"params": True},
            in_axes=0,
            out_axes=0,
        )
        return dense(32, name="heads")(x)


class LstmLayer(nn.Module):
    @nn.compact
    def __call__(self, carry, x):
        return nn.OptimizedLSTMCell(H, name="cell")(carry, x)


class ScannedLstm(nn.Module):
    """Layers of LSTM cells stacked by nn.scan (one time step per layer, enough for shapes)."""

    @nn.compact
    def __call__(self, x):
        carry = (jnp.zeros((x.shape[0], H)), jnp.zeros((x.shape[0], H)))
        xs = jnp.broadcast_to(x, (L, *x.shape))
        stack = nn.scan(
            LstmLayer, variable_axes={"params": 0}, split_rngs={"params": True}, in_axes=0
        )
        return stack(name="layers")(carry, xs)


def flat(variables):
    return {k: np.asarray(v) for k, v in flatten_dict(variables, sep="/").items()}


def test_scan_fans_are_those_of_one_layer_as_flax_and_torch_have_them():
    x = jnp.ones((2, D))
    ex = jaxinit.explain(Scanned(), x, policy="torch_like")
    rows = {r.path: r for r in ex.rows}
    kernel = rows["params/layers/Dense_0/kernel"]
    assert kernel.shape == (L, D, D) and kernel.stack_axes == (0,)
    assert kernel.fan_in == D and kernel.fan_out == D  # not L*D, as a rank-3 kernel would give
    assert rows["params/layers/Dense_0/bias"].hyperparameters == {"fan_in": D}
    assert "[6]x64x64" in str(ex)

    v = flat(jaxinit.init(Scanned(), KEY, x, policy="torch_like"))
    bound = 1 / math.sqrt(D)  # torch nn.Linear(64, 64): kernel and bias U(+-1/sqrt(64))
    for name in ("kernel", "bias"):
        w = v[f"params/layers/Dense_0/{name}"]
        assert np.abs(w).max() <= bound
        # n draws of U(-b, b) all stay under 0.95 b with probability 0.95**n (< 1e-16 here).
        assert np.abs(w).max() > 0.95 * bound
    # Each layer is its own draw.
    k = v["params/layers/Dense_0/kernel"]
    assert not any(np.array_equal(k[i], k[j]) for i in range(L) for j in range(i))


def test_scan_flax_default_matches_flax_own_init_in_distribution():
    x = jnp.ones((2, D))
    ours = flat(jaxinit.init(Scanned(), KEY, x, policy="flax_default"))
    flax = flat(Scanned().init(KEY, x))
    w, ref = ours["params/layers/Dense_0/kernel"], flax["params/layers/Dense_0/kernel"]
    assert w.shape == ref.shape == (L, D, D)
    # Flax's lecun_normal per layer: truncated normal with std 1/sqrt(64). With n samples the
    # sample std has standard error ~ std/sqrt(2n); allow 6 of them.
    std, n = 1 / math.sqrt(D), w.size
    tol = 6 * std / math.sqrt(2 * n)
    assert abs(w.std() - std) < tol and abs(ref.std() - std) < tol
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-6  # truncated at 2 (raw) std
    np.testing.assert_array_equal(ours["params/layers/Dense_0/bias"], 0)


def test_scan_orthogonal_is_per_layer():
    x = jnp.ones((2, D))
    policy = Policy([Rule(r".*/kernel", "orthogonal"), Rule(r".*/bias", "zeros")])
    k = flat(jaxinit.init(Scanned(), KEY, x, policy=policy))["params/layers/Dense_0/kernel"]
    for i in range(L):
        q = k[i].astype(np.float64)
        np.testing.assert_allclose(q.T @ q, np.eye(D), atol=2e-5)


def test_rank_rules_see_the_layer_not_the_stack():
    x = jnp.ones((2, D))
    policy = Policy([Rule(r".*", "ones", rank=2), Rule(r".*", "zeros", rank=1)], unused="error")
    v = flat(jaxinit.init(Scanned(), KEY, x, policy=policy))
    np.testing.assert_array_equal(v["params/layers/Dense_0/kernel"], 1)
    np.testing.assert_array_equal(v["params/layers/Dense_0/bias"], 0)


def test_vmap_with_the_stack_axis_in_the_middle():
    x = jnp.ones((L, 2, D))
    ex = jaxinit.explain(VmappedOnAxis1(), x, policy="torch_like")
    kernel = {r.path: r for r in ex.rows}["params/heads/kernel"]
    assert kernel.shape == (D, L, 32) and kernel.stack_axes == (1,)
    assert kernel.fan_in == D and kernel.fan_out == 32
    policy = Policy([Rule(r".*/kernel", "orthogonal"), Rule(r".*/bias", "zeros")])
    k = flat(jaxinit.init(VmappedOnAxis1(), KEY, x, policy=policy))["params/heads/kernel"]
    for i in range(L):
        q = k[:, i, :].astype(np.float64)  # (64, 32): orthonormal columns
        np.testing.assert_allclose(q.T @ q, np.eye(32), atol=2e-5)


def test_fused_lstm_groups_inside_scan_are_fused_per_layer():
    x = jnp.ones((2, 8))
    v = flat(jaxinit.init(ScannedLstm(), KEY, x, policy="tf_like"))
    pieces = [v[f"params/layers/cell/h{g}/kernel"] for g in "ifgo"]
    assert pieces[0].shape == (L, H, H)
    for i in range(L):
        whole = np.concatenate([p[i] for p in pieces], axis=1).astype(np.float64)  # (H, 4H)
        np.testing.assert_allclose(whole @ whole.T, np.eye(H), atol=2e-5)
    # Keras's unit forget bias, per layer.
    np.testing.assert_array_equal(v["params/layers/cell/hf/bias"], 1)


def test_uncovered_stacked_parameters_equal_model_init_bit_for_bit():
    x = jnp.ones((2, D))
    policy = Policy([Rule(r".*/kernel", "zeros")])  # biases are kept (fallback keep)
    ours = flat(jaxinit.init(Scanned(), KEY, x, policy=policy))
    ref = flat(Scanned().init(KEY, x))
    np.testing.assert_array_equal(ours["params/layers/Dense_0/kernel"], 0)
    np.testing.assert_array_equal(
        ours["params/layers/Dense_0/bias"], ref["params/layers/Dense_0/bias"]
    )


@pytest.mark.parametrize("key", [jax.random.key(0), jax.random.PRNGKey(0)])
def test_nnx_stacked_layers_initialized_inside_the_vmapped_constructor(key):
    """NNX keeps no record of a stacking transform, so the NNX recipe applies the policy in the
    constructor, where each layer is a plain nnx.Linear (documented in the README)."""

    @nnx.split_rngs(splits=L)
    @nnx.vmap(in_axes=(0,), out_axes=0)
    def create(rngs):
        layer = nnx.Linear(D, 32, rngs=rngs)
        jaxinit.init(layer, rngs.params(), policy="torch_like")
        return layer

    layers = create(nnx.Rngs(params=key))
    k, b = np.asarray(layers.kernel.get_value()), np.asarray(layers.bias.get_value())
    assert k.shape == (L, D, 32) and b.shape == (L, 32)
    bound = 1 / math.sqrt(D)
    assert np.abs(k).max() <= bound and np.abs(k).max() > 0.95 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.5 * bound  # 192 draws: > 0.5b
    assert not np.array_equal(k[0], k[1])
