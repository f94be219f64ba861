"""The policy engine on real Flax Linen models.

One network holds every module kind the issue names (a CNN with user-named Conv, BatchNorm,
ConvTranspose and Dense layers, LSTM and GRU cells inside `nn.RNN`, multi-head attention), so
each policy is compiled once per module (the CPU test machines are slow to compile); the
fixtures below are shared by the tests.
"""

import json
import math

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax.linen import module as linen_module
from flax.traverse_util import flatten_dict

import jaxinit
from jaxinit import Policy, Rule

H = 16  # LSTM hidden size
G = 8  # GRU hidden size
IN = 4  # sequence features
KEY = jax.random.key(42)
NORMAL = nn.initializers.normal(1.0)  # random defaults, so "kept" values are not trivial


class CNN(nn.Module):
    """User-named Conv, BatchNorm, ConvTranspose and Dense layers."""

    @nn.compact
    def __call__(self, img):
        x = nn.Conv(16, (3, 3), name="stem")(img)
        x = nn.BatchNorm(use_running_average=False, name="bn")(x)
        x = nn.ConvTranspose(4, (2, 2), name="up")(x)
        x = x.reshape(x.shape[0], -1)  # 6 * 6 * 4 = 144 features
        return nn.Dense(512, name="hidden")(x)


class Seq(nn.Module):
    """LSTM and GRU cells inside nn.RNN, and multi-head attention."""

    @nn.compact
    def __call__(self, seq):
        y = nn.RNN(nn.LSTMCell(H, name="lstm_cell"), name="lstm")(seq)
        y = nn.RNN(nn.GRUCell(G, name="gru_cell"), name="gru")(y)
        return nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=8, name="attn")(y)


class Kept(nn.Module):
    """Random module defaults (so kept values are not trivially equal), boxed metadata,
    BatchNorm statistics, and an LSTM cell under nn.RNN's lifted scan."""

    @nn.compact
    def __call__(self, seq):
        part = nn.with_partitioning(nn.initializers.lecun_normal(), (None, "model"))
        bias = nn.with_logical_partitioning(NORMAL, ("mlp",))
        y = nn.Dense(6, kernel_init=part, bias_init=bias, name="proj")(seq)
        y = nn.BatchNorm(use_running_average=False, scale_init=NORMAL, name="bn")(y)
        return nn.RNN(nn.LSTMCell(3, bias_init=NORMAL, name="cell"), name="rnn")(y)


class Net(nn.Module):
    """Everything at once, for explain and diff (which sample nothing)."""

    @nn.compact
    def __call__(self, img, seq):
        x = CNN(name="cnn")(img)
        y = Seq(name="seq")(seq)
        return nn.Dense(10, name="head")(jnp.concatenate([x, y.mean(1)], -1))


NET = Net()
IMG = jnp.ones((1, 6, 6, 3))
SEQ = jnp.ones((1, 5, IN))
BN_MEAN = Rule(r"batch_stats/.*/mean", "constant", {"value": 0.5}, name="bn mean")


def flat(tree):
    return flatten_dict(tree, sep="/")


def values(tree):
    return flat(nn.unbox(tree))


@pytest.fixture(scope="module")
def torch_vars():
    """CNN under torch_like (plus a rule for BatchNorm means): every variable covered."""
    policy = jaxinit.preset("torch_like").prepend(BN_MEAN)
    return values(jaxinit.init(CNN(), KEY, IMG, policy=policy))


@pytest.fixture(scope="module")
def tf_vars():
    """Seq under tf_like: every variable covered."""
    return values(jaxinit.init(Seq(), KEY, SEQ, policy="tf_like"))


@pytest.fixture(scope="module")
def kept():
    """Kept under a policy that covers only kernels, and the model's own init."""
    m = Kept()
    policy = Policy([Rule(r".*kernel", "glorot_uniform")])
    return jaxinit.init(m, KEY, SEQ, policy=policy), m.init(KEY, SEQ)


@pytest.fixture(scope="module")
def explained():
    return {r.path: r for r in jaxinit.explain(NET, IMG, SEQ, policy="torch_like").rows}


def test_same_tree_shapes_and_dtypes_as_model_init(torch_vars, tf_vars, kept):
    for model, x, got in ((CNN(), IMG, torch_vars), (Seq(), SEQ, tf_vars)):
        ref = values(jax.eval_shape(model.init, KEY, x))
        assert set(got) == set(ref)
        for p, r in ref.items():
            assert got[p].shape == r.shape and got[p].dtype == r.dtype, p
    # The nested structure too, boxes included (collections, then modules).
    out, ref = kept
    assert jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(ref)
    assert jax.tree_util.tree_map(lambda a: (a.shape, a.dtype), out) == jax.tree_util.tree_map(
        lambda a: (a.shape, a.dtype), ref
    )


def test_bias_drawn_with_its_kernels_fan_in(torch_vars):
    b = np.asarray(torch_vars["params/hidden/bias"])  # 512 entries, kernel fan_in 144
    bound = 1 / math.sqrt(144)
    # max |b| of 512 uniforms is below 0.99 * bound with probability 0.99**512 < 0.006.
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.99 * bound
    # A bias cannot know 144 from its own shape (512,): the bound is not 1/sqrt(512).
    assert np.abs(b).max() > 1.5 / math.sqrt(512)
    k = np.asarray(torch_vars["params/hidden/kernel"])
    assert np.abs(k).max() <= bound and np.abs(k).max() > 0.999 * bound
    # ConvTranspose: torch's fan_in is the output channels times the window, 4 * 2 * 2.
    for p in ("params/up/kernel", "params/up/bias"):
        assert np.abs(np.asarray(torch_vars[p])).max() <= 1 / math.sqrt(16)
    assert np.abs(np.asarray(torch_vars["params/stem/bias"])).max() <= 1 / math.sqrt(27)


def test_fused_orthogonal_is_orthogonal_as_a_whole_not_per_piece(tf_vars):
    pieces = [np.asarray(tf_vars[f"params/lstm_cell/h{g}/kernel"], np.float64) for g in "ifgo"]
    whole = np.concatenate(pieces, axis=1)  # (H, 4H), Keras's recurrent_kernel
    assert whole.shape == (H, 4 * H)
    np.testing.assert_allclose(whole @ whole.T, np.eye(H), atol=2e-5)
    for p in pieces:
        # Each (H, H) piece is far from orthogonal (its Gram matrix is about I/4).
        assert np.abs(p @ p.T - np.eye(H)).max() > 0.3
        assert np.abs(p.T @ p - np.eye(H)).max() > 0.3
    # GRU recurrent kernels: (G, 3G) with orthonormal rows.
    gru = np.concatenate(
        [np.asarray(tf_vars[f"params/gru_cell/h{g}/kernel"], np.float64) for g in "rzn"], axis=1
    )
    np.testing.assert_allclose(gru @ gru.T, np.eye(G), atol=2e-5)


def test_fused_glorot_bound_over_the_lstm_input_kernels(tf_vars):
    pieces = [np.asarray(tf_vars[f"params/lstm_cell/i{g}/kernel"]) for g in "ifgo"]
    whole = np.concatenate(pieces, axis=1)  # (IN, 4H)
    fused = math.sqrt(6 / (IN + 4 * H))
    # 256 uniforms: max below 0.97 * bound with probability 0.97**256 < 1e-3.
    assert np.abs(whole).max() <= fused and np.abs(whole).max() > 0.97 * fused
    assert fused < 0.6 * math.sqrt(6 / (IN + H))  # a per-piece glorot would go well beyond
    assert np.asarray(tf_vars["params/lstm_cell/hf/bias"]).tolist() == [1.0] * H  # forget bias
    assert np.asarray(tf_vars["params/lstm_cell/hi/bias"]).tolist() == [0.0] * H


def test_attention_kernels_drawn_in_their_2d_view(tf_vars):
    k = np.asarray(tf_vars["params/attn/query/kernel"])
    assert k.shape == (G, 2, 4)
    bound = math.sqrt(6 / (8 + 8))  # glorot over (E, heads * head_dim) = (8, 8)
    assert np.abs(k).max() <= bound
    assert np.abs(np.asarray(tf_vars["params/attn/out/kernel"])).max() <= bound


def test_batch_stats_from_the_rule_when_covered_from_the_module_when_not(torch_vars, kept):
    assert np.all(np.asarray(torch_vars["batch_stats/bn/mean"]) == 0.5)  # BN_MEAN
    assert np.all(np.asarray(torch_vars["batch_stats/bn/var"]) == 1.0)  # torch_like's rule
    out = values(kept[0])
    assert np.all(np.asarray(out["batch_stats/bn/mean"]) == 0.0)  # as BatchNorm creates them
    assert np.all(np.asarray(out["batch_stats/bn/var"]) == 1.0)


def test_uncovered_variables_equal_model_init_bit_for_bit(kept):
    got, ref = (values(t) for t in kept)
    kept_paths = [p for p in ref if not p.endswith("kernel")]
    assert {
        "batch_stats/bn/mean",
        "params/bn/scale",
        "params/proj/bias",
        "params/cell/hi/bias",
    } <= set(kept_paths)
    for p in kept_paths:
        np.testing.assert_array_equal(got[p], ref[p], err_msg=p)
    # Random defaults: the kept values are not constants, so equality is not trivial.
    for p in ("params/proj/bias", "params/bn/scale", "params/cell/hf/bias"):
        assert np.abs(np.asarray(got[p])).max() > 0.1, p
    # The covered kernels are drawn by the rule, not by the module.
    for p in ref:
        if p.endswith("kernel"):
            assert not np.array_equal(got[p], ref[p]), p
    assert np.abs(np.asarray(got["params/proj/kernel"])).max() <= math.sqrt(6 / (IN + 6))


def test_boxed_partitioning_metadata_is_preserved(kept):
    out, ref = kept
    k = out["params"]["proj"]["kernel"]  # covered: drawn by the rule, re-boxed
    assert type(k) is nn.Partitioned and k.names == (None, "model")
    assert k.value.shape == (IN, 6)
    b = out["params"]["proj"]["bias"]  # uncovered: boxed as the module made it
    assert type(b) is nn.LogicallyPartitioned and b.names == ("mlp",)
    assert b.mesh is None and b.rules is None
    np.testing.assert_array_equal(b.value, ref["params"]["proj"]["bias"].value)


def test_module_type_matching_with_user_named_modules():
    p = Policy(
        [
            Rule(r".*kernel", "zeros", module="Conv"),
            Rule(r".*", "ones", module="GRUCell"),
            Rule(r".*kernel", "glorot_uniform", module="Dense"),
        ]
    )
    d = jaxinit.explain(NET, IMG, SEQ, policy=p).resolution.by_path()
    assert d["params/cnn/stem/kernel"].scheme == "zeros"  # named "stem", matched as a Conv
    assert d["params/cnn/up/kernel"].covered is False  # ConvTranspose is not Conv
    assert d["params/seq/gru_cell/hn/bias"].scheme == "ones"  # enclosing cell type
    assert d["params/seq/gru_cell/ir/kernel"].scheme == "ones"  # first match beats "Dense"
    assert d["params/cnn/hidden/kernel"].scheme == "glorot_uniform"
    assert d["params/seq/lstm_cell/ii/kernel"].scheme == "glorot_uniform"  # owner is a Dense
    assert d["params/seq/attn/query/kernel"].covered is False  # DenseGeneral is not Dense


def test_strict_lists_every_unmatched_path_of_a_real_model():
    p = Policy([Rule(r".*kernel", "zeros")], fallback="strict")
    with pytest.raises(jaxinit.PolicyError) as e:
        jaxinit.explain(NET, IMG, SEQ, policy=p)
    ref = values(jax.eval_shape(NET.init, KEY, IMG, SEQ))
    missing = [k for k in ref if not k.endswith("kernel")]
    assert f"{len(missing)} parameter(s)" in str(e.value)
    for k in missing:
        assert k in str(e.value)


def test_unused_rule_reported_on_a_real_model():
    p = Policy([Rule(r".*kernel", "zeros"), Rule(r"params/cnn/hiden/bias", "zeros", name="typo")])
    with pytest.warns(jaxinit.UnusedRuleWarning, match="typo"):
        ex = jaxinit.explain(NET, IMG, SEQ, policy=p)
    assert ex.unused_rules == ["rule 'typo'"] and "typo" in str(ex)


def test_explain_rows_dense_conv_conv_transpose(explained):
    def check(path, module, shape, fan_in, fan_out, bound, std=None):
        r = explained[path]
        assert (r.module, r.shape, r.dtype) == (module, shape, "float32"), path
        assert (r.fan_in, r.fan_out) == (fan_in, fan_out), path
        assert math.isclose(r.bound, bound, rel_tol=1e-12), path
        std = bound / math.sqrt(3) if std is None else std  # uniform
        assert math.isclose(r.std, std, rel_tol=1e-12), path

    check("params/cnn/hidden/kernel", "Dense", (144, 512), 144, 512, 1 / 12)
    assert explained["params/cnn/hidden/kernel"].scheme == "torch_kernel"
    idx = [r.name for r in jaxinit.preset("torch_like").rules].index("kernel")
    assert explained["params/cnn/hidden/kernel"].rule == f"#{idx} kernel"
    check("params/cnn/hidden/bias", "Dense", (512,), 144, None, 1 / 12)
    assert explained["params/cnn/hidden/bias"].hyperparameters == {"fan_in": 144.0}
    check("params/cnn/stem/kernel", "Conv", (3, 3, 3, 16), 27, 144, 1 / math.sqrt(27))
    check("params/cnn/up/kernel", "ConvTranspose", (2, 2, 16, 4), 16, 64, 1 / 4)
    check("params/cnn/up/bias", "ConvTranspose", (4,), 16, None, 1 / 4)
    check(
        "params/seq/lstm_cell/hi/bias",
        "Dense",
        (H,),
        None,
        None,
        2 / math.sqrt(H),
        std=math.sqrt(2 / 3 / H),
    )
    r = explained["batch_stats/cnn/bn/var"]
    assert (r.scheme, r.std, r.bound) == ("ones", 0.0, 1.0)


def test_explain_rows_attention(explained):
    # torch packs q/k/v into one (3E, E) in_proj: xavier over the fused (8, 24) view.
    for n in ("query", "key", "value"):
        r = explained[f"params/seq/attn/{n}/kernel"]
        assert (r.module, r.shape, r.group) == (
            "DenseGeneral",
            (8, 2, 4),
            "params/seq/attn/in_proj",
        )
        assert (r.fan_in, r.fan_out) == (8, 24)
        assert math.isclose(r.bound, math.sqrt(6 / 32), rel_tol=1e-12)
    r = explained["params/seq/attn/out/kernel"]  # (heads, head_dim, E) seen as (8, 8)
    assert (r.scheme, r.fan_in, r.fan_out) == ("torch_kernel", 8, 8)
    assert math.isclose(r.bound, 1 / math.sqrt(8), rel_tol=1e-12)
    tf = {r.path: r for r in jaxinit.explain(NET, IMG, SEQ, policy="tf_like").rows}
    r = tf["params/seq/attn/query/kernel"]
    assert (r.scheme, r.fan_in, r.fan_out) == ("glorot_uniform", 8, 8)
    assert math.isclose(r.bound, math.sqrt(6 / 16), rel_tol=1e-12)
    r = tf["params/seq/lstm_cell/hf/kernel"]
    assert (r.scheme, r.fan_in, r.fan_out, r.group) == (
        "orthogonal",
        H,
        4 * H,
        "params/seq/lstm_cell/recurrent_kernel",
    )


def test_explain_prints_and_exports_json(explained, capsys):
    ex = jaxinit.explain(NET, IMG, SEQ, policy="torch_like", print_table=True)
    printed = capsys.readouterr().out
    assert printed.strip() == str(ex).strip()
    for path in explained:
        assert path in printed
    doc = json.loads(ex.to_json())
    assert doc["policy"] == "torch_like" and len(doc["rows"]) == len(explained)
    row = next(r for r in doc["rows"] if r["path"] == "params/cnn/hidden/kernel")
    assert row["shape"] == [144, 512] and row["fan_in"] == 144
    assert math.isclose(row["bound"], 1 / 12)


def test_diff_torch_like_vs_tf_like():
    d = jaxinit.diff(NET, IMG, SEQ, policies=("torch_like", "tf_like"))
    paths = {r.path for r in d.rows}
    ref = values(jax.eval_shape(NET.init, KEY, IMG, SEQ))
    assert {p for p in ref if p.endswith("kernel")} <= paths  # every kernel differs
    assert {
        "params/cnn/hidden/bias",
        "params/cnn/stem/bias",
        "params/seq/lstm_cell/hf/bias",
    } <= paths
    # Where both presets agree (norms, attention biases), nothing is listed.
    for same in (
        "params/cnn/bn/scale",
        "params/cnn/bn/bias",
        "batch_stats/cnn/bn/mean",
        "params/seq/attn/query/bias",
        "params/seq/attn/out/bias",
    ):
        assert same not in paths
    for r in d.rows:
        assert (r.a.scheme, r.a.hyperparameters, r.a.std, r.a.bound) != (
            r.b.scheme,
            r.b.hyperparameters,
            r.b.std,
            r.b.bound,
        )
    text = str(d)
    assert f"{len(d.rows)} parameter(s) differ between torch_like and tf_like" in text
    doc = json.loads(d.to_json())
    assert {r["path"] for r in doc["rows"]} == paths
    row = next(r for r in doc["rows"] if r["path"] == "params/cnn/hidden/bias")
    assert (row["a"]["scheme"], row["b"]["scheme"]) == ("torch_bias", "zeros")
    assert "agree on every parameter" in str(
        jaxinit.diff(NET, IMG, SEQ, policies=("tf_like", "tf_like"))
    )


def test_scheme_that_cannot_take_a_shape_fails_naming_path_shape_and_rule():
    p = Policy([Rule(r".*bias", "orthogonal", name="bad")])
    with pytest.raises(jaxinit.ShapeError, match=r"'params/bias' shape \(3,\), rule 'bad'"):
        jaxinit.init(nn.Dense(3), KEY, jnp.ones((1, 2)), policy=p)


# ------------------------------------------------------------------------------------------
# Flax is left exactly as it was found.


def _scope_attrs():
    return {n: id(v) for n, v in vars(flax.core.scope.Scope).items()}


def _flax_state():
    """Every attribute of `flax.core.scope.Scope` (by identity) and Flax's module context: the
    thread-local stacks `nn.Module` calls push and pop, and the method-interceptor stack."""
    ctx = linen_module._context
    stacks = {
        n: list(getattr(ctx, n)) for n in ("module_stack", "capture_stack", "call_info_stack")
    }
    return (
        _scope_attrs(),
        {n: [id(x) for x in s] for n, s in stacks.items()},
        len(list(linen_module._global_interceptor_stack)),
    )


class FailsOnCall(nn.Module):
    """Records `Scope`'s attributes at every call (so a patch made only while jaxinit runs is
    seen too), and raises on its `fail_at`-th call: 1 is the abstract trace (jaxinit's method
    interceptor installed), 2 the completion run of a partial policy; 0 never raises."""

    fail_at: int

    @nn.compact
    def __call__(self, x):
        y = nn.BatchNorm(use_running_average=False)(nn.Dense(4)(x))
        SEEN.setdefault(self.fail_at, []).append(_scope_attrs())
        if len(SEEN[self.fail_at]) == self.fail_at:
            raise RuntimeError(f"call {self.fail_at}")
        return nn.Dense(2)(y)


SEEN: dict[int, list] = {}


def test_init_leaves_flax_scope_and_module_context_as_found():
    before = _flax_state()
    # One kernel covered, the rest left to the module: the completion path runs.
    partial = Policy([Rule(r".*Dense_0/kernel", "zeros")])
    got = values(jaxinit.init(FailsOnCall(0), KEY, SEQ, policy=partial))
    ref = values(FailsOnCall(0).init(KEY, SEQ))
    np.testing.assert_array_equal(got["params/Dense_1/kernel"], ref["params/Dense_1/kernel"])
    np.testing.assert_array_equal(got["params/Dense_0/kernel"], 0)
    assert len(SEEN[0]) == 3  # the trace, the completion run, the reference init
    assert all(seen == before[0] for seen in SEEN[0])  # Scope unpatched while jaxinit ran
    assert _flax_state() == before
    for fail_at in (1, 2):
        with pytest.raises(RuntimeError, match=f"call {fail_at}"):
            jaxinit.init(FailsOnCall(fail_at), KEY, SEQ, policy=partial)
        assert len(SEEN[fail_at]) == fail_at  # it failed where meant to
        assert all(seen == before[0] for seen in SEEN[fail_at])
        assert _flax_state() == before
