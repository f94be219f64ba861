"""The framework adapters (jaxinit/_src/linen.py, nnx.py, pytree.py) on model shapes beyond plain
parameters: variables that are not parameters (sown tuples, None, Python scalars, PRNG keys,
integer counters in an abstract NNX module) stay the module's, `method=` as a name or a
function, init-only keywords refused, a shared scope's owner, a preset on a plain pytree."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from flax.traverse_util import flatten_dict

import jaxinit
from jaxinit import Policy, Rule

KEY = jax.random.key(11)


def shapes(tree):
    return jax.tree_util.tree_map(lambda a: (a.shape, str(a.dtype)), tree)


class Sowing(nn.Module):
    @nn.compact
    def __call__(self, x):
        y = nn.Dense(4)(x)
        self.sow("losses", "aux", jnp.sum(y))  # a tuple in model.init's output
        self.variable("state", "pair", lambda: (jnp.zeros(2), jnp.ones(3)))
        self.variable("rng", "stream", lambda: jax.random.key(3))
        return y


def test_linen_non_parameter_variables_come_from_the_module():
    x = jnp.ones((1, 3))
    ref = Sowing().init(KEY, x)
    for policy in ("torch_like", Policy([Rule(r".*", "normal_")], fallback="strict")):
        got = jaxinit.init(Sowing(), KEY, x, policy=policy)
        assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(ref)
        assert shapes(got["state"]) == shapes(ref["state"])
        np.testing.assert_array_equal(got["state"]["pair"][1], 1)
        np.testing.assert_array_equal(
            jax.random.key_data(got["rng"]["stream"]), jax.random.key_data(ref["rng"]["stream"])
        )
    paths = [r.path for r in jaxinit.explain(Sowing(), x, policy="torch_like").rows]
    assert paths == ["params/Dense_0/bias", "params/Dense_0/kernel"]


class TwoMethods(nn.Module):
    @nn.compact
    def encode(self, x):
        return nn.BatchNorm(use_running_average=False)(nn.Dense(4)(x))


@pytest.mark.parametrize("method", ["encode", TwoMethods.encode, lambda m, x: m.encode(x)])
def test_method_as_name_or_function_with_variables_left_to_the_module(method):
    x = jnp.ones((2, 3))
    policy = Policy([Rule(r".*kernel", "zeros")])  # the rest is left to the module
    got = flatten_dict(jaxinit.init(TwoMethods(), KEY, x, policy=policy, method=method), sep="/")
    ref = flatten_dict(TwoMethods().init(KEY, x, method="encode"), sep="/")
    assert got.keys() == ref.keys()
    np.testing.assert_array_equal(got["params/Dense_0/kernel"], 0)
    np.testing.assert_array_equal(got["batch_stats/BatchNorm_0/var"], 1)


@pytest.mark.parametrize("kw", [{"mutable": True}, {"capture_intermediates": True}])
def test_init_only_keywords_are_refused_clearly(kw):
    with pytest.raises(jaxinit.JaxinitError, match=f"takes no {next(iter(kw))}="):
        jaxinit.init(Sowing(), KEY, jnp.ones((1, 3)), policy="torch_like", **kw)


class NnxOdd(nnx.Module):
    def __init__(self):
        self.lin = nnx.Linear(3, 4, rngs=nnx.Rngs(0))
        self.scalar = nnx.Param(1.0)
        self.empty = nnx.Variable(None)
        self.stream = nnx.Variable(jax.random.key(2))

    def __call__(self, x):
        y = self.lin(x)
        self.sow(nnx.Intermediate, "feat", y)
        return y


# Flax 0.12 deprecates `sow` outside `nnx.capture()`; modules written that way still exist.
@pytest.mark.filterwarnings("ignore:Using 'Module.sow\\(\\)' outside:DeprecationWarning")
def test_nnx_non_parameter_variables_are_kept():
    m = NnxOdd()
    m(jnp.ones((1, 3)))
    key_before = np.asarray(jax.random.key_data(m.stream.get_value()))
    feat_before = np.asarray(m.feat.get_value()[0])
    rows = jaxinit.explain(m, policy="torch_like").rows
    assert [r.path for r in rows] == ["params/lin/bias", "params/lin/kernel"]
    jaxinit.init(m, KEY, policy=Policy([Rule(r".*", "normal_")], fallback="strict"))
    assert m.scalar.get_value() == 1.0 and m.empty.get_value() is None
    np.testing.assert_array_equal(jax.random.key_data(m.stream.get_value()), key_before)
    np.testing.assert_array_equal(m.feat.get_value()[0], feat_before)


def test_pytree_key_leaves_are_kept_and_seen_by_no_rule():
    tree = {"w": jnp.zeros((3, 4)), "key": jax.random.key(1)}
    policy = Policy([Rule(r".*", "normal_")], fallback="strict")
    assert [r.path for r in jaxinit.explain(tree, policy=policy).rows] == ["w"]
    out = jaxinit.init(tree, KEY, policy=policy)
    assert out["key"] is tree["key"] and float(jnp.abs(out["w"]).max()) > 0


def test_abstract_nnx_module_with_an_integer_counter():
    class Count(nnx.Variable):
        pass

    class M(nnx.Module):
        def __init__(self, rngs):
            self.lin = nnx.Linear(3, 3, rngs=rngs)
            self.steps = Count(jnp.zeros((), jnp.int32))

    a = nnx.eval_shape(lambda: M(nnx.Rngs(0)))
    with pytest.raises(jaxinit.PolicyError, match=r"count/steps.*Rule\(r'cache/\.\*', 'zeros'\)"):
        jaxinit.init(a, KEY, policy="torch_like")
    a = nnx.eval_shape(lambda: M(nnx.Rngs(0)))
    jaxinit.init(a, KEY, policy=jaxinit.preset("torch_like").prepend(Rule("count/steps", "zeros")))
    assert a.steps.get_value().dtype == jnp.int32 and int(a.steps.get_value()) == 0


class SharedScopeProj(nn.Module):
    """A thin wrapper that keeps its Dense's parameters at its own level."""

    def setup(self):
        self.dense = nn.Dense(4)
        nn.share_scope(self, self.dense)

    def __call__(self, x):
        return self.dense(x)


def test_share_scope_owner_is_the_inner_module():
    rows = {
        r.path: r
        for r in jaxinit.explain(SharedScopeProj(), jnp.ones((2, 32)), policy="torch_like").rows
    }
    assert (
        rows["params/kernel"].module == "Dense" and rows["params/kernel"].scheme == "torch_kernel"
    )
    assert rows["params/bias"].hyperparameters == {"fan_in": 32}
    # The wrapper's own type still matches a rule.
    policy = Policy([Rule(r".*", "zeros", module="SharedScopeProj")], unused="error")
    v = jaxinit.init(SharedScopeProj(), KEY, jnp.ones((2, 32)), policy=policy)
    np.testing.assert_array_equal(v["params"]["kernel"], 0)


def test_a_preset_applied_to_a_plain_pytree_warns_that_it_changed_nothing():
    params = nn.Dense(4).init(KEY, jnp.ones((1, 3)))  # a plain dict: no module types
    with pytest.warns(jaxinit.UnusedRuleWarning, match="covered none of the 2 leaves"):
        out = jaxinit.init(params, KEY, policy="torch_like")
    np.testing.assert_array_equal(out["params"]["kernel"], params["params"]["kernel"])
