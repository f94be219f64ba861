"""Registry initializers used as plain Flax `kernel_init=` / `bias_init=` / `embedding_init=`.

Flax calls `init(key, shape, param_dtype)` with the Flax layout, so the torch-named schemes must
produce torch's bounds from Flax's shapes (fan_in = in * rf from axis -2).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax import nnx

import jaxinit

KEY = jax.random.key(0)


def _bound_respected_and_attained(w, bound, rel=0.05):
    w = np.abs(np.asarray(w, np.float64))
    assert w.max() <= bound * (1 + 1e-6)
    assert w.max() >= bound * (1 - rel)  # nearly attained: it is a uniform on +-bound


def test_linen_dense_torch_defaults():
    fan_in, out = 256, 128
    dense = nn.Dense(
        out,
        kernel_init=jaxinit.get("torch_kernel"),
        bias_init=jaxinit.get("torch_bias", fan_in=fan_in),
    )
    params = dense.init(KEY, jnp.ones((1, fan_in)))["params"]
    k, b = params["kernel"], params["bias"]
    assert k.shape == (fan_in, out) and k.dtype == jnp.float32
    assert b.shape == (out,) and b.dtype == jnp.float32
    _bound_respected_and_attained(k, 1 / math.sqrt(fan_in), rel=1e-3)
    _bound_respected_and_attained(b, 1 / math.sqrt(fan_in), rel=0.1)
    # a uniform on +-1/sqrt(fan_in) has std 1/sqrt(3 fan_in)
    # (relative standard error of a uniform's sample std: sqrt((kurtosis - 1) / 4n), kurt 1.8)
    assert abs(float(jnp.std(k)) * math.sqrt(3 * fan_in) - 1) < 6 * math.sqrt(0.2 / k.size)


def test_linen_dense_bfloat16_params():
    dense = nn.Dense(64, kernel_init=jaxinit.get("glorot_normal"), param_dtype=jnp.bfloat16)
    k = dense.init(KEY, jnp.ones((1, 32)))["params"]["kernel"]
    assert k.dtype == jnp.bfloat16 and k.shape == (32, 64)
    limit = 2 * math.sqrt(2 / 96) / jaxinit.TRUNCATED_STD_FACTOR  # +-2 sigma truncation
    assert float(jnp.max(jnp.abs(k.astype(jnp.float32)))) <= limit * (1 + 2**-7)


def test_linen_conv_torch_kernel_uses_in_times_rf():
    # Flax Conv kernel (kh, kw, in/g, out); torch's fan_in is (in/g) * kh * kw
    conv = nn.Conv(
        32,
        (3, 5),
        feature_group_count=2,
        kernel_init=jaxinit.get("torch_kernel"),
        bias_init=jaxinit.get("torch_bias", fan_in=8 * 15),
    )
    params = conv.init(KEY, jnp.ones((1, 10, 10, 16)))["params"]
    k, b = params["kernel"], params["bias"]
    assert k.shape == (3, 5, 8, 32) and b.shape == (32,)
    _bound_respected_and_attained(k, 1 / math.sqrt(8 * 15), rel=0.01)
    _bound_respected_and_attained(b, 1 / math.sqrt(8 * 15), rel=0.5)


def test_linen_conv_orthogonal_and_dirac():
    conv = nn.Conv(8, (3, 3), kernel_init=jaxinit.get("orthogonal", gain=2.0), use_bias=False)
    k = conv.init(KEY, jnp.ones((1, 5, 5, 4)))["params"]["kernel"]
    flat = np.asarray(k, np.float64).reshape(-1, 8)  # (9 * 4, 8): orthogonal columns
    np.testing.assert_allclose(flat.T @ flat, 4.0 * np.eye(8), atol=1e-4)
    # dirac: the conv is the identity on the channels (SAME padding)
    conv = nn.Conv(4, (3, 3), kernel_init=jaxinit.get("dirac"), use_bias=False)
    x = jax.random.normal(KEY, (1, 6, 6, 4))
    params = conv.init(KEY, x)
    np.testing.assert_allclose(conv.apply(params, x), x, atol=1e-6)


def test_linen_embed_torch_and_keras():
    embed = nn.Embed(1000, 32, embedding_init=jaxinit.get("torch_embedding", padding_idx=0))
    e = embed.init(KEY, jnp.zeros((1,), jnp.int32))["params"]["embedding"]
    assert e.shape == (1000, 32) and e.dtype == jnp.float32
    np.testing.assert_array_equal(e[0], 0.0)
    assert abs(float(jnp.std(e[1:])) - 1.0) < 6 * math.sqrt(0.5 / e[1:].size)  # N(0, 1)
    embed = nn.Embed(1000, 32, embedding_init=jaxinit.get("keras_embedding"))
    e = embed.init(KEY, jnp.zeros((1,), jnp.int32))["params"]["embedding"]
    _bound_respected_and_attained(e, 0.05, rel=1e-3)


def test_nnx_linear_conv_embed():
    rngs = nnx.Rngs(0)
    lin = nnx.Linear(
        64,
        48,
        kernel_init=jaxinit.get("torch_kernel"),
        bias_init=jaxinit.get("torch_bias", fan_in=64),
        rngs=rngs,
    )
    assert lin.kernel[...].shape == (64, 48) and lin.bias[...].shape == (48,)
    _bound_respected_and_attained(lin.kernel[...], 1 / 8, rel=0.01)
    _bound_respected_and_attained(lin.bias[...], 1 / 8, rel=0.5)

    conv = nnx.Conv(
        6,
        12,
        (3, 3),
        kernel_init=jaxinit.get("kaiming_uniform_", nonlinearity="relu"),
        bias_init=jaxinit.get("zeros"),
        param_dtype=jnp.bfloat16,
        rngs=rngs,
    )
    k = conv.kernel[...]
    assert k.shape == (3, 3, 6, 12) and k.dtype == jnp.bfloat16
    bound = math.sqrt(2) * math.sqrt(3 / (6 * 9))  # torch: gain * sqrt(3 / fan_in)
    _bound_respected_and_attained(k.astype(jnp.float32), bound * (1 + 2**-8), rel=0.05)
    np.testing.assert_array_equal(conv.bias[...], 0)
    assert conv.bias[...].dtype == jnp.bfloat16

    emb = nnx.Embed(
        500, 16, embedding_init=jaxinit.get("torch_embedding", padding_idx=-1), rngs=rngs
    )
    e = emb.embedding[...]
    assert e.shape == (500, 16)
    np.testing.assert_array_equal(e[499], 0.0)
    assert float(jnp.min(jnp.abs(e[:499]))) > 0


def test_nnx_linear_rnn_bias_sum():
    # torch LSTM b_ih + b_hh as one Flax bias: triangular on +-2/sqrt(H)
    h = 64
    lin = nnx.Linear(
        h,
        4 * h,
        bias_init=jaxinit.get("torch_rnn", hidden_size=h, terms=2),
        kernel_init=jaxinit.get("torch_rnn", hidden_size=h),
        rngs=nnx.Rngs(1),
    )
    _bound_respected_and_attained(lin.kernel[...], 1 / math.sqrt(h), rel=0.01)
    b = np.asarray(lin.bias[...])
    assert np.abs(b).max() <= 2 / math.sqrt(h) and np.abs(b).max() > 1 / math.sqrt(h)


def test_initializers_compose_with_jit_init():
    model = nn.Sequential(
        [
            nn.Dense(16, kernel_init=jaxinit.get("he_uniform")),
            nn.relu,
            nn.Dense(4, kernel_init=jaxinit.get("lecun_normal")),
        ]
    )
    eager = model.init(KEY, jnp.ones((1, 8)))
    jitted = jax.jit(model.init)(KEY, jnp.ones((1, 8)))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), eager, jitted)
