"""Port of Flax's initializer tests onto jaxinit.

Upstream: google/flax `tests/linen/initializers_test.py` at commit
0e5fc04018f1a20bdf32e9868c6a9eda38407424 (`InitializersTest.test_call_builder`,
`test_kernel_builder`). `initializers.zeros_init()` / `ones_init()` are
`jaxinit.get("zeros_init")` / `jaxinit.get("ones_init")` (registered aliases). Added: Flax's
`normal()` and `uniform()` are what the unprefixed names mean (N(0, 0.01^2), U[0, 0.01)).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax.linen import initializers

import jaxinit


@pytest.mark.parametrize(
    "builder,params_shape,expected_params",
    [("zeros_init", (2, 3), jnp.zeros((2, 3))), ("ones_init", (3, 2), jnp.ones((3, 2)))],
)
def test_call_builder(builder, params_shape, expected_params):
    params = jaxinit.get(builder)(jax.random.key(42), params_shape, jnp.float32)
    np.testing.assert_allclose(params, expected_params)


@pytest.mark.parametrize(
    "builder,expected_params",
    [("zeros_init", jnp.zeros((2, 5))), ("ones_init", jnp.ones((2, 5)))],
)
def test_kernel_builder(builder, expected_params):
    layer = nn.Dense(5, kernel_init=jaxinit.get(builder))
    params = layer.init(jax.random.key(42), jnp.empty((3, 2)))["params"]
    np.testing.assert_allclose(params["kernel"], expected_params)


@pytest.mark.parametrize(
    "name,flax_init",
    [
        ("normal", initializers.normal()),
        ("uniform", initializers.uniform()),
        ("lecun_normal", initializers.lecun_normal()),
        ("xavier_uniform", initializers.xavier_uniform()),
        ("kaiming_normal", initializers.kaiming_normal()),
    ],
)
def test_unprefixed_names_are_flax(name, flax_init):
    """`jaxinit.get(name)` is Flax's `initializers.<name>()`: same array for the same key."""
    k = jax.random.key(7)
    np.testing.assert_allclose(
        jaxinit.get(name)(k, (16, 8), jnp.float32), flax_init(k, (16, 8), jnp.float32), rtol=1e-6
    )
