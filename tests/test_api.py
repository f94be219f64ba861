"""The verbs' argument handling (jaxinit/_src/api.py): what `policy=` and `policies=` take."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

import jaxinit

KEY = jax.random.key(0)
TREE = {"w": jnp.zeros((2, 3))}
X = jnp.ones((1, 4))


def test_policy_takes_a_policy_or_a_preset_name():
    by_name = jaxinit.init(nn.Dense(3), KEY, X, policy="tf_like")
    by_policy = jaxinit.init(nn.Dense(3), KEY, X, policy=jaxinit.preset("tf_like"))
    jax.tree.map(lambda a, b: jnp.array_equal(a, b) or pytest.fail("differ"), by_name, by_policy)
    assert jaxinit.explain(nn.Dense(3), X, policy="tf_like").policy == "tf_like"


def test_unknown_preset_name_has_did_you_mean():
    with pytest.raises(jaxinit.UnknownNameError, match=r"jaxinit\.init\(policy=\.\.\.\): unknown "
                       r"preset 'torch_lik'\. Did you mean 'torch_like'"):  # fmt: skip
        jaxinit.init(TREE, KEY, policy="torch_lik")
    with pytest.raises(jaxinit.UnknownNameError, match=r"jaxinit\.preset: unknown preset 'tf_lik'"):
        jaxinit.preset("tf_lik")


@pytest.mark.parametrize("path", ["configs/torch_like.py", "p.json", "p.yaml", "cfg.py:rank3"])
def test_a_file_path_is_not_a_policy(path):
    with pytest.raises(jaxinit.PolicyError, match=rf"looks like a file.*load_policy\('{path}'\)"):
        jaxinit.explain(TREE, policy=path)


def test_a_mapping_is_not_a_policy():
    with pytest.raises(jaxinit.PolicyError, match=r"policy= takes a Policy or a preset name, got "
                       r"a dict\. .*jaxinit\.load_policy"):  # fmt: skip
        jaxinit.init(TREE, KEY, policy={"rules": []})


def test_missing_policy():
    with pytest.raises(jaxinit.JaxinitError, match=r"jaxinit\.explain: a policy is required"):
        jaxinit.explain(TREE, policy=None)


@pytest.mark.parametrize("policies", ["torch_like", ("torch_like",), ("a", "b", "c")])
def test_diff_takes_a_pair(policies):
    with pytest.raises(jaxinit.JaxinitError, match=r"policies= takes the pair \(a, b\)"):
        jaxinit.diff(nn.Dense(3), X, policies=policies)


def test_explain_keeps_the_resolution():
    ex = jaxinit.explain(nn.Dense(3), X, policy="torch_like")
    assert [d.spec.path for d in ex.resolution.decisions] == [r.path for r in ex.rows]
    assert ex.resolution.by_path()["params/kernel"].scheme == "torch_kernel"
    assert "resolution" not in ex.to_dict()


def test_pytree_init_takes_no_inputs_and_explain_neither():
    p = jaxinit.Policy([jaxinit.Rule("w", "ones")])
    assert jaxinit.init(TREE, KEY, policy=p)["w"].tolist() == [[1.0] * 3] * 2
    with pytest.raises(jaxinit.JaxinitError, match="pytree takes no example inputs"):
        jaxinit.init(TREE, KEY, X, policy=p)
    with pytest.raises(jaxinit.JaxinitError, match="pytree takes no example inputs"):
        jaxinit.explain(TREE, X, policy=p)
