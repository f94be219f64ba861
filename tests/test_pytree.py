"""Plain pytrees (dicts, lists, dataclasses): paths only; `jaxinit.init` changes only matched
leaves."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit
from jaxinit import Policy, Rule

KEY = jax.random.key(7)


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class Linear:  # an Equinox-style module: a dataclass pytree
    weight: jax.Array
    bias: jax.Array


def make():
    return {
        "enc": {"w": jnp.full((32, 16), 7.0), "b": jnp.full((16,), 7.0)},
        "layers": [Linear(jnp.full((16, 16), 7.0), jnp.full((16,), 7.0)) for _ in range(2)],
        "scale": jnp.full((), 7.0, jnp.bfloat16),
    }


def test_paths_of_dicts_lists_and_dataclasses():
    res = jaxinit.explain(make(), policy=Policy([Rule(r".*", "zeros")])).resolution
    assert sorted(d.spec.path for d in res.decisions) == [
        "enc/b",
        "enc/w",
        "layers/0/bias",
        "layers/0/weight",
        "layers/1/bias",
        "layers/1/weight",
        "scale",
    ]
    assert all(d.spec.module_type == "" for d in res.decisions)  # paths only, no types


def test_apply_changes_only_matched_leaves():
    tree = make()
    p = Policy([Rule(r"layers/\d+/weight", "glorot_uniform"), Rule(r"enc/b", "zeros")])
    out = jaxinit.init(tree, KEY, policy=p)
    assert jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(tree)
    assert isinstance(out["layers"][0], Linear)
    for i in range(2):
        w = np.asarray(out["layers"][i].weight)
        assert w.shape == (16, 16) and np.abs(w).max() <= np.sqrt(6 / 32)
        np.testing.assert_array_equal(out["layers"][i].bias, tree["layers"][i].bias)
    assert not np.array_equal(out["layers"][0].weight, out["layers"][1].weight)
    np.testing.assert_array_equal(out["enc"]["b"], 0.0)
    assert out["enc"]["w"] is tree["enc"]["w"]  # unmatched leaves are returned as they are
    assert out["scale"] is tree["scale"]
    np.testing.assert_array_equal(tree["enc"]["b"], 7.0)  # the input is not modified


def test_init_on_a_pytree_is_deterministic_and_keeps_dtype():
    p = Policy([Rule(r".*", "normal_", {"std": 0.5})])
    a = jaxinit.init(make(), KEY, policy=p)
    b = jaxinit.init(make(), KEY, policy=p)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)
    assert a["scale"].dtype == jnp.bfloat16 and a["enc"]["w"].dtype == jnp.float32
    with pytest.raises(jaxinit.JaxinitError, match=r"pytree takes no example inputs"):
        jaxinit.init(make(), KEY, jnp.ones(3), policy=p)


def test_strict_on_a_pytree_lists_every_unmatched_leaf():
    p = Policy([Rule(r".*weight", "glorot_uniform")], fallback="strict")
    with pytest.raises(jaxinit.PolicyError) as e:
        jaxinit.init(make(), KEY, policy=p)
    for path in ("enc/w", "enc/b", "layers/0/bias", "layers/1/bias", "scale"):
        assert path in str(e.value)
    assert "layers/0/weight" not in str(e.value)
