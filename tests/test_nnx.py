"""The policy engine on Flax NNX modules: in place, abstract (nnx.eval_shape), all or nothing."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxinit
from jaxinit import Policy, Rule

KEY = jax.random.key(3)


class Block(nnx.Module):  # a user class: rules can match it by type
    def __init__(self, rngs):
        self.proj = nnx.Linear(64, 256, rngs=rngs)
        self.bn = nnx.BatchNorm(256, rngs=rngs)


class Model(nnx.Module):
    def __init__(self, rngs):
        self.block = Block(rngs)
        self.head = nnx.Linear(256, 4, rngs=rngs)


def state(m):
    return {
        "/".join(map(str, p)): np.asarray(v.get_value())
        for p, v in nnx.iter_graph(m)
        if isinstance(v, nnx.Variable)
    }


TORCH = jaxinit.preset("torch_like")


def test_constructed_module_reinitialized_in_place():
    m = Model(nnx.Rngs(0))
    before = state(m)
    kernel_var = m.block.proj.kernel
    out = jaxinit.init(m, KEY, policy=TORCH)
    assert out is m and m.block.proj.kernel is kernel_var  # same objects, new values
    after = state(m)
    assert set(after) == set(before)
    for p, v in after.items():
        assert v.shape == before[p].shape and v.dtype == before[p].dtype
    b = after["block/proj/bias"]  # torch bias: U(+-1/sqrt(64)), from the kernel's fan_in
    assert np.abs(b).max() <= 1 / 8 and np.abs(b).max() > 0.98 / 8
    assert np.abs(after["block/proj/kernel"]).max() <= 1 / 8
    assert not np.array_equal(after["block/proj/kernel"], before["block/proj/kernel"])
    assert np.abs(after["head/kernel"]).max() <= 1 / 16
    np.testing.assert_array_equal(after["block/bn/mean"], 0.0)


def test_module_type_matching_and_keep():
    m = Model(nnx.Rngs(0))
    before = state(m)
    p = Policy(
        [
            Rule(r"params/.*kernel", "zeros", module="Block"),
            Rule(r"params/.*bias", "ones", module="Linear"),
        ]
    )
    d = jaxinit.explain(m, policy=p).resolution.by_path()
    assert d["params/block/proj/kernel"].scheme == "zeros"
    assert d["params/head/kernel"].covered is False
    assert d["params/block/bn/bias"].covered is False  # BatchNorm is not a Linear
    jaxinit.init(m, KEY, policy=p)
    after = state(m)
    assert np.all(after["block/proj/kernel"] == 0) and np.all(after["head/bias"] == 1)
    np.testing.assert_array_equal(after["head/kernel"], before["head/kernel"])  # kept


def test_abstract_module_fully_covered_becomes_concrete():
    a = nnx.eval_shape(lambda: Model(nnx.Rngs(0)))
    assert isinstance(a.head.kernel.get_value(), jax.ShapeDtypeStruct)
    jaxinit.init(a, KEY, policy=TORCH)
    vals = state(a)
    assert all(isinstance(v, np.ndarray) for v in vals.values())
    assert all(
        not isinstance(v.get_value(), jax.ShapeDtypeStruct)
        for _, v in nnx.iter_graph(a)
        if isinstance(v, nnx.Variable)
    )
    assert np.abs(vals["head/kernel"]).max() <= 1 / 16
    np.testing.assert_array_equal(vals["block/bn/var"], 1.0)
    # The concrete module runs.
    assert a.head(a.block.proj(jnp.ones((2, 64)))).shape == (2, 4)


def test_abstract_module_with_uncovered_variables_raises_and_is_unchanged():
    a = nnx.eval_shape(lambda: Model(nnx.Rngs(0)))
    p = Policy([Rule(r"params/.*", "zeros")])  # batch_stats are not covered
    with pytest.raises(
        jaxinit.PolicyError,
        match=r"batch_stats/block/bn/mean.*"
        r"batch_stats/block/bn/var",
    ):
        jaxinit.init(a, KEY, policy=p)
    assert all(
        isinstance(v.get_value(), jax.ShapeDtypeStruct)
        for _, v in nnx.iter_graph(a)
        if isinstance(v, nnx.Variable)
    )


@pytest.mark.parametrize("case", ["bad shape", "strict", "unused error", "bad context"])
def test_module_unchanged_after_any_failure(case):
    m = Model(nnx.Rngs(0))
    before = state(m)
    # The first rule would re-draw every kernel; the failure comes from another rule.
    kernels = Rule(r".*kernel", "glorot_uniform")
    policy = {
        "bad shape": Policy([kernels, Rule(r".*bias", "orthogonal", name="bad")]),
        "strict": Policy([kernels], fallback="strict"),
        "unused error": Policy([kernels, Rule(r"nope", "zeros")], unused="error"),
        "bad context": Policy(
            [kernels, Rule(r".*mean", "torch_bias", {"fan_in": "ctx:kernel_fan_in"})]
        ),
    }[case]
    with pytest.raises(jaxinit.JaxinitError) as e:
        jaxinit.init(m, KEY, policy=policy)
    if case == "bad shape":
        assert "'params/block/bn/bias' shape (256,), rule 'bad'" in str(e.value)
    after = state(m)
    for p, v in before.items():
        np.testing.assert_array_equal(after[p], v, err_msg=p)


def test_explain_on_nnx():
    rows = {r.path: r for r in jaxinit.explain(Model(nnx.Rngs(0)), policy=TORCH).rows}
    r = rows["params/block/proj/bias"]
    assert (r.module, r.scheme, r.fan_in) == ("Linear", "torch_bias", 64)
    assert math.isclose(r.bound, 1 / 8)
    assert rows["batch_stats/block/bn/mean"].scheme == "zeros"


class WithDropout(nnx.Module):
    def __init__(self, rngs):
        self.lin = nnx.Linear(3, 4, rngs=rngs)
        self.drop = nnx.Dropout(0.5, rngs=rngs)

    def __call__(self, x):
        return self.drop(self.lin(x))


def _key_data(var):
    return np.asarray(jax.random.key_data(var.get_value()))


def test_rng_state_is_not_a_parameter_and_is_kept():
    """nnx.RngKey/RngCount (a Dropout's streams) are seen by no rule, even `.*`, and are kept."""
    m = WithDropout(nnx.Rngs(0, dropout=1))
    key_before, count_before = _key_data(m.drop.rngs.key), int(m.drop.rngs.count.get_value())
    paths = [r.path for r in jaxinit.explain(m, policy="torch_like").rows]
    assert paths == ["params/lin/bias", "params/lin/kernel"]
    jaxinit.init(m, KEY, policy=Policy([Rule(".*", "normal_")], fallback="strict"))
    np.testing.assert_array_equal(_key_data(m.drop.rngs.key), key_before)
    assert int(m.drop.rngs.count.get_value()) == count_before


def test_abstract_module_rng_state_comes_out_concrete_and_keyed():
    policy = Policy([Rule(".*kernel", "normal_"), Rule(".*bias", "zeros")])
    made = []
    for key in (KEY, jax.random.key(4), KEY):
        a = nnx.eval_shape(lambda: WithDropout(nnx.Rngs(0, dropout=1)))
        jaxinit.init(a, key, policy=policy)
        assert not any(
            isinstance(v.get_value(), jax.ShapeDtypeStruct)
            for _, v in nnx.iter_graph(a)
            if isinstance(v, nnx.Variable)
        )
        assert int(a.drop.rngs.count.get_value()) == 0
        made.append(_key_data(a.drop.rngs.key))
        out = a(jnp.ones((2, 3)))  # the dropout stream works
        assert out.shape == (2, 4)
    np.testing.assert_array_equal(made[0], made[2])
    assert not np.array_equal(made[0], made[1])
