import jax
import jax.numpy as jnp

import jaxinit


def test_get_builds_and_draws():
    init = jaxinit.get("glorot_uniform")
    x = init(jax.random.key(0), (8, 4), jnp.float32)
    assert x.shape == (8, 4) and x.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(x))) <= (6 / 12) ** 0.5
