"""Models written the way third-party Flax code writes them (issue 12): big_vision/Gemma's own
RMSNorm, a ResNet's zero-init last BatchNorm, a ViT's zero head and xavier/N(0, 1e-6) MLP, T5's
query scaling, NNX's scan-over-layers (`nnx.vmap` over a constructor), `nn.ConvLocal`, an rng
dict (seq2seq), a user Embedder. Each checks the values, not only the shapes."""

import functools
import json
import math

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from flax.traverse_util import flatten_dict

import jaxinit
from jaxinit import Policy, Rule

KEY = jax.random.key(12)
PRESETS = ("torch_like", "tf_like", "flax_default")


def flat(tree):
    return {
        k: v.unbox() if hasattr(v, "unbox") else v for k, v in flatten_dict(tree, sep="/").items()
    }


def rows(model, *inputs, policy):
    return {r.path: r for r in jaxinit.explain(model, *inputs, policy=policy).rows}


# ------------------------------------------------------------------------------------------
# 1. A user class named like a Flax one (big_vision / flax examples/gemma RMSNorm).


class RMSNorm(nn.Module):
    """big_vision's: `x * (1 + scale)`, scale initialized to zeros."""

    @nn.compact
    def __call__(self, x):
        scale = self.param("scale", nn.initializers.zeros_init(), (x.shape[-1],))
        var = jnp.mean(jnp.square(x), axis=-1, keepdims=True)
        return x * jax.lax.rsqrt(var + 1e-6) * (1 + scale)


class MyNorm(nn.RMSNorm):
    """A subclass of Flax's RMSNorm: still Flax's class."""


class Decoder(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.Dense(16, name="mlp")(x)
        x = RMSNorm(name="pre_norm")(x)
        x = MyNorm(name="sub_norm")(x)
        return RMSNorm(name="final_norm")(x)


X16 = jnp.ones((2, 16))


@pytest.mark.parametrize("preset", PRESETS)
def test_user_rmsnorm_is_not_flax_rmsnorm(preset):
    got = flat(jaxinit.init(Decoder(), KEY, X16, policy=preset))
    ref = flat(Decoder().init(KEY, X16))
    for p in ("params/pre_norm/scale", "params/final_norm/scale"):
        np.testing.assert_array_equal(got[p], ref[p])  # zeros: the model's (x * (1 + 0))
        np.testing.assert_array_equal(got[p], 0.0)
    np.testing.assert_array_equal(got["params/sub_norm/scale"], 1.0)  # Flax's subclass: ones
    ex = rows(Decoder(), X16, policy=preset)
    assert "RMSNorm is not Flax's own" in ex["params/final_norm/scale"].rule
    assert ex["params/sub_norm/scale"].scheme == "ones"


def test_module_syntax_by_name_or_flax_only():
    by_name = Policy([Rule(r".*/scale", "ones", module="RMSNorm")])
    flax_only = Policy([Rule(r".*/scale", "ones", module="flax:RMSNorm")], unused="ignore")
    nnx_only = Policy([Rule(r".*/scale", "ones", module="flax.nnx:RMSNorm")], unused="ignore")
    r = jaxinit.explain(Decoder(), X16, policy=by_name).resolution.by_path()
    assert r["params/final_norm/scale"].scheme == "ones"  # any class named RMSNorm
    assert r["params/sub_norm/scale"].scheme == "ones"  # base class name
    r = jaxinit.explain(Decoder(), X16, policy=flax_only).resolution.by_path()
    assert not r["params/final_norm/scale"].covered
    assert r["params/sub_norm/scale"].scheme == "ones"
    r = jaxinit.explain(Decoder(), X16, policy=nnx_only).resolution.by_path()
    assert not r["params/sub_norm/scale"].covered  # a flax.linen class, not flax.nnx
    with pytest.raises(jaxinit.JaxinitError, match="namespace 'flx'.*flax:"):
        Rule(r".*", "zeros", module="flx:Dense")


# ------------------------------------------------------------------------------------------
# 2. Explicit initializers stand.


class Bottleneck(nn.Module):
    """flax examples/imagenet ResNet block: the last BatchNorm's scale starts at zero."""

    @nn.compact
    def __call__(self, x):
        conv = functools.partial(nn.Conv, use_bias=False)
        norm = functools.partial(nn.BatchNorm, use_running_average=False, momentum=0.9)
        y = nn.relu(norm()(conv(8, (1, 1))(x)))
        y = norm(scale_init=nn.initializers.zeros_init())(conv(8, (3, 3))(y))
        return nn.relu(x + y)


class ViTHead(nn.Module):
    """vision_transformer: xavier MLP with N(0, 1e-6) biases, a zero head."""

    @nn.compact
    def __call__(self, x):
        dense = functools.partial(
            nn.Dense,
            kernel_init=nn.initializers.xavier_uniform(),
            bias_init=nn.initializers.normal(stddev=1e-6),
        )
        x = dense(32, name="Dense_0")(x)
        x = dense(8, name="Dense_1")(nn.gelu(x))
        return nn.Dense(5, name="head", kernel_init=nn.initializers.zeros)(x)


class T5Attention(nn.Module):
    """t5x: 1/sqrt(head_dim) folded into the query kernel init."""

    heads: int = 2
    head_dim: int = 8

    @nn.compact
    def __call__(self, x):
        kernel_init = nn.initializers.variance_scaling(1.0, "fan_in", "normal")
        depth_scaling = math.sqrt(self.head_dim)

        def query_init(*args):
            return kernel_init(*args) / depth_scaling

        proj = functools.partial(
            nn.DenseGeneral, features=(self.heads, self.head_dim), use_bias=False
        )
        q = proj(kernel_init=query_init, name="query")(x)
        k = proj(kernel_init=kernel_init, name="key")(x)
        v = proj(name="value")(x)  # Flax's default: the preset's
        return (q * k + v).reshape(x.shape[:-1] + (-1,))


class Model(nn.Module):
    @nn.compact
    def __call__(self, img):
        x = Bottleneck(name="block")(nn.Conv(8, (3, 3), name="stem")(img))
        x = T5Attention(name="attn")(x.mean((1, 2)) * jnp.ones((1, 16, 1))[:, :, :8])
        return ViTHead(name="vit")(x)


IMG = jnp.ones((1, 6, 6, 3))
EXPLICIT = (
    "params/block/BatchNorm_1/scale",
    "params/vit/Dense_0/kernel",
    "params/vit/Dense_0/bias",
    "params/vit/Dense_1/kernel",
    "params/vit/Dense_1/bias",
    "params/vit/head/kernel",
    "params/attn/query/kernel",
    "params/attn/key/kernel",
)


@pytest.fixture(scope="module")
def model_init():
    """What `jax.jit(model.init)` gives (jaxinit runs the module's own init under jit; eager
    `model.init` can differ in the last bit where XLA fuses an initializer's scaling)."""
    return flat(jax.jit(Model().init)(KEY, IMG))


@pytest.mark.parametrize("preset", PRESETS)
def test_explicit_initializers_stand_bit_for_bit(preset, model_init):
    got = flat(jaxinit.init(Model(), KEY, IMG, policy=preset))
    eager = flat(Model().init(KEY, IMG))
    for p in EXPLICIT:
        np.testing.assert_array_equal(got[p], model_init[p], err_msg=p)
        np.testing.assert_allclose(got[p], eager[p], rtol=1e-6, atol=1e-12, err_msg=p)
    np.testing.assert_array_equal(got["params/block/BatchNorm_1/scale"], 0.0)
    np.testing.assert_array_equal(got["params/block/BatchNorm_0/scale"], 1.0)
    ex = rows(Model(), IMG, policy=preset)
    for p in EXPLICIT:
        assert ex[p].explicit == p.rsplit("/", 1)[1] + "_init", p
        assert ex[p].rule.startswith("(explicit "), ex[p].rule
    # Defaults are the preset's: the value projection, the stem, the head's default bias.
    for p in ("params/attn/value/kernel", "params/stem/kernel", "params/vit/head/bias"):
        assert ex[p].explicit is None and ex[p].scheme not in (None, "(module default)"), p
    text = str(jaxinit.explain(Model(), IMG, policy=preset))
    assert "explicit_init='override'" in text


def test_t5_query_scaling_kept_and_torch_like_differs(model_init):
    got = flat(jaxinit.init(Model(), KEY, IMG, policy="torch_like"))
    q = np.asarray(got["params/attn/query/kernel"])
    # fan_in 8, then / sqrt(head_dim 8): std 1/8 (the figure at its sizes was 0.084).
    np.testing.assert_array_equal(q, model_init["params/attn/query/kernel"])
    v = jaxinit.explain(Model(), IMG, policy="torch_like").rows
    value = next(r for r in v if r.path == "params/attn/value/kernel")
    assert value.scheme == "torch_kernel" and value.fan_in == 8


@pytest.mark.parametrize("how", ["policy", "rule", "config"])
def test_override_explicit_initializers(how):
    if how == "policy":
        policy = jaxinit.preset("torch_like").replace(explicit_init="override")
    elif how == "rule":
        policy = jaxinit.preset("torch_like").prepend(
            Rule(r".*/scale", "ones", module="flax:BatchNorm", explicit_init="override")
        )
    else:  # a JSON document, as a config file would give it
        d = jaxinit.preset("torch_like").to_dict()
        d["explicit_init"] = "override"
        policy = jaxinit.Policy.from_json(json.dumps(d))
        assert policy.explicit_init == "override"
        assert jaxinit.Policy.from_config(policy.to_config()) == policy
    got = flat(jaxinit.init(Model(), KEY, IMG, policy=policy))
    np.testing.assert_array_equal(got["params/block/BatchNorm_1/scale"], 1.0)
    if how != "rule":
        assert np.abs(np.asarray(got["params/vit/head/kernel"])).max() > 0  # drawn now
    with pytest.raises(jaxinit.JaxinitError, match="explicit_init"):
        Policy([], explicit_init="overide")


def test_user_rules_apply_as_written_unless_told_to_keep():
    r = Rule(r"params/vit/head/kernel", "ones")
    got = flat(jaxinit.init(Model(), KEY, IMG, policy=Policy([r])))
    np.testing.assert_array_equal(got["params/vit/head/kernel"], 1.0)
    keep = Policy([r], explicit_init="keep")
    got = flat(jaxinit.init(Model(), KEY, IMG, policy=keep))
    np.testing.assert_array_equal(got["params/vit/head/kernel"], 0.0)


def test_lstm_cell_defaults_are_not_explicit_but_its_own_options_are():
    """A cell hands its default initializers to its gate Dense: those are defaults; an option
    the model passes to the cell is explicit, and the fused recurrent group is kept whole."""
    cell = nn.OptimizedLSTMCell(4, recurrent_kernel_init=nn.initializers.zeros_init())
    model = nn.RNN(cell)
    seq = jnp.ones((1, 3, 5))
    res = jaxinit.explain(model, seq, policy="tf_like").resolution.by_path()
    for g in "ifgo":
        assert res[f"params/cell/h{g}/kernel"].explicit == "kernel_init"
        assert res[f"params/cell/i{g}/kernel"].covered  # cell's default kernel_init
    got = flat(jaxinit.init(model, KEY, seq, policy="tf_like"))
    np.testing.assert_array_equal(got["params/cell/hf/kernel"], 0.0)


# ------------------------------------------------------------------------------------------
# 3. NNX layers stacked by nnx.vmap (flax nnx_toy_examples/06_scan_over_layers).


class Block(nnx.Module):
    def __init__(self, dim, *, rngs):
        self.linear = nnx.Linear(dim, dim, rngs=rngs)
        self.bn = nnx.BatchNorm(dim, rngs=rngs)
        self.dropout = nnx.Dropout(0.5, rngs=rngs)

    def __call__(self, x):
        return nnx.gelu(self.dropout(self.bn(self.linear(x))))


class ScanMLP(nnx.Module):
    def __init__(self, dim, *, n_layers, rngs):
        @nnx.split_rngs(splits=n_layers)
        @nnx.vmap(in_axes=(0,), out_axes=0)
        def create_block(rngs):
            return Block(dim, rngs=rngs)

        self.layers = create_block(rngs)


@pytest.mark.parametrize("preset,bound", [("torch_like", 1 / math.sqrt(10)), ("tf_like", 0.5477)])
def test_nnx_vmap_stack_has_per_layer_fans(preset, bound):
    model = ScanMLP(10, n_layers=5, rngs=nnx.Rngs(0))
    ex = rows(model, policy=preset)
    k = ex["params/layers/linear/kernel"]
    assert k.shape == (5, 10, 10) and k.stack_axes == (0,)
    assert (k.fan_in, k.fan_out) == (10, 10)
    assert k.bound == pytest.approx(bound, rel=1e-4)
    jaxinit.init(model, KEY, policy=preset)
    w = np.asarray(model.layers.linear.kernel.get_value())
    assert w.shape == (5, 10, 10)
    assert np.abs(w).max() <= bound * (1 + 1e-6) and np.abs(w).max() > 0.9 * bound
    assert not np.array_equal(w[0], w[1])  # one draw per layer
    np.testing.assert_array_equal(np.asarray(model.layers.bn.scale.get_value()), 1.0)


def test_nnx_vmap_stack_orthogonal_per_layer():
    model = ScanMLP(10, n_layers=3, rngs=nnx.Rngs(0))
    jaxinit.init(model, KEY, policy=Policy([Rule(r".*/kernel", "orthogonal")]))
    w = np.asarray(model.layers.linear.kernel.get_value())
    for layer in w:
        np.testing.assert_allclose(layer @ layer.T, np.eye(10), atol=1e-5)


def test_nnx_stack_that_is_not_a_stack_is_an_error():
    lin = nnx.Linear(4, 6, rngs=nnx.Rngs(0))
    lin.kernel.set_value(jnp.zeros((3, 5, 6)))  # not (4, 6) with stacked axes added
    with pytest.raises(jaxinit.JaxinitError, match="params/kernel.*created shape"):
        jaxinit.explain(lin, policy="torch_like")


# ------------------------------------------------------------------------------------------
# 4. nn.ConvLocal (flax examples/imagenet ResNet18Local).


@pytest.mark.parametrize(
    "preset,std",
    [("torch_like", 1 / math.sqrt(3 * 27)), ("tf_like", math.sqrt(2 / 31)), ("flax_default", None)],
)
def test_conv_local_fans_are_those_of_one_filter(preset, std):
    model = nn.ConvLocal(4, (3, 3), padding="SAME")
    x = jnp.ones((1, 8, 8, 3))
    k = rows(model, x, policy=preset)["params/kernel"]
    assert k.shape == (8, 8, 27, 4) and k.stack_axes == (0, 1)
    assert (k.fan_in, k.fan_out) == (27, 4)  # rf*in, out: not 8*8*27
    if std is not None:
        assert k.std == pytest.approx(std, rel=1e-4)
    w = np.asarray(flat(jaxinit.init(model, KEY, x, policy=preset))["params/kernel"])
    # 6912 values: the sample std is within 5% of 1/sqrt(27) scaled by the scheme.
    expected = std if std is not None else 1 / math.sqrt(27)
    assert w.std() == pytest.approx(expected, rel=0.05)


# ------------------------------------------------------------------------------------------
# 5. An rng dict (flax examples/seq2seq train.py).


class WithDropout(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.Dense(8)(x)
        x = nn.Dropout(0.5, deterministic=False)(x)
        return nn.Dense(4, kernel_init=nn.initializers.orthogonal())(x)


def test_rng_dict_params_give_the_keys_other_streams_go_to_the_module():
    x = jnp.ones((2, 3))
    k1, k2 = jax.random.key(1), jax.random.key(2)
    a = flat(jaxinit.init(WithDropout(), {"params": k1, "dropout": k2}, x, policy="torch_like"))
    b = flat(
        jaxinit.init(
            WithDropout(), {"params": k1, "dropout": jax.random.key(3)}, x, policy="torch_like"
        )
    )
    ref = flat(WithDropout().init({"params": k1, "dropout": k2}, x))
    for p in a:
        np.testing.assert_array_equal(a[p], b[p])  # the dropout stream changes nothing
    np.testing.assert_array_equal(a["params/Dense_1/kernel"], ref["params/Dense_1/kernel"])
    assert not np.array_equal(a["params/Dense_0/kernel"], ref["params/Dense_0/kernel"])
    with pytest.raises(jaxinit.JaxinitError, match="'params'"):
        jaxinit.init(WithDropout(), {"dropout": k2}, x, policy="torch_like")
    with pytest.raises(jaxinit.JaxinitError, match="one PRNG key"):
        jaxinit.init(nnx.Linear(2, 2, rngs=nnx.Rngs(0)), {"params": k1}, policy="torch_like")


# ------------------------------------------------------------------------------------------
# 6. A user embedding class (sst2 / Gemma Embedder).


class Embedder(nn.Module):
    vocab: int = 11
    dim: int = 6

    @nn.compact
    def __call__(self, tokens):
        table = self.param("embedding", nn.initializers.normal(1.0), (self.vocab, self.dim))
        return table[tokens]


def test_explain_says_why_a_user_embedding_is_left_to_the_module():
    tokens = jnp.zeros((1, 3), jnp.int32)
    r = rows(Embedder(), tokens, policy="torch_like")["params/embedding"]
    assert r.rule == "(module default: no rule for class Embedder)"
    got = flat(jaxinit.init(Embedder(), KEY, tokens, policy="torch_like"))
    np.testing.assert_array_equal(
        got["params/embedding"], flat(Embedder().init(KEY, tokens))["params/embedding"]
    )


# ------------------------------------------------------------------------------------------
# No hidden global state.


def test_init_leaves_flax_scope_as_it_was():
    before = dict(vars(flax.core.scope.Scope))
    jaxinit.init(Model(), KEY, IMG, policy="torch_like")  # explicit inits: the module's init runs
    assert dict(vars(flax.core.scope.Scope)) == before


class gemma:  # a namespace, as flax examples/gemma's layers.py is a module
    class RMSNorm(nnx.Module):
        """flax examples/gemma (NNX): its own RMSNorm, `x * (1 + scale)`, zeros scale."""

        def __init__(self, dim):
            self.scale = nnx.Param(jnp.zeros((dim,)))


class NnxEmbedder(nnx.Module):
    def __init__(self, vocab, dim, *, rngs):
        self.input_embedding = nnx.Param(jax.random.normal(rngs.params(), (vocab, dim)))


class NnxGemmaish(nnx.Module):
    def __init__(self, *, rngs):
        self.embedder = NnxEmbedder(11, 6, rngs=rngs)
        self.final_norm = gemma.RMSNorm(6)
        self.flax_norm = nnx.RMSNorm(6, rngs=rngs)


def test_nnx_user_classes_are_left_to_the_module_and_explain_says_why():
    model = NnxGemmaish(rngs=nnx.Rngs(0))
    before = np.asarray(model.embedder.input_embedding.get_value())
    ex = rows(model, policy="torch_like")
    assert "RMSNorm is not Flax's own" in ex["params/final_norm/scale"].rule
    assert ex["params/embedder/input_embedding"].rule.endswith("no rule for class NnxEmbedder)")
    assert ex["params/flax_norm/scale"].scheme == "ones"
    jaxinit.init(model, KEY, policy="torch_like")
    np.testing.assert_array_equal(np.asarray(model.final_norm.scale.get_value()), 0.0)
    np.testing.assert_array_equal(np.asarray(model.embedder.input_embedding.get_value()), before)


def test_explain_json_names_the_kept_initializer():
    d = json.loads(jaxinit.explain(Model(), IMG, policy="torch_like").to_json())
    by = {r["path"]: r for r in d["rows"]}
    assert by["params/vit/head/kernel"]["explicit"] == "kernel_init"
    assert by["params/stem/kernel"]["explicit"] is None
