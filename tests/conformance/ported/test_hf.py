"""hf_bert, hf_gpt2, hf_llama, hf_vit, hf_t5 against real transformers models.

Sources read: transformers 5.24.0 (the wheel this suite installs; `modeling_utils.py`
`PreTrainedModel._init_weights`, `models/{bert,gpt2,llama,t5,vit}/modeling_*.py`
`_init_weights`), the same code as huggingface/transformers tag v5.24.0.

Each case builds a tiny real model from a config (no download), K times from fixed torch
seeds, and the Flax twin of its module tree (`_twin.py`: Flax's own layers under the
reference's names) K times under the preset with `jaxinit.init`, and compares every
parameter: constants exactly, zero (padding) rows exactly, std and mean within 6 standard
errors, a two-sample KS test, support bounds. Two sizes per family, differing in depth and
width, so that depth- and width-dependent rules (GPT-2's 1/sqrt(2 n_layer), T5's
d_model/d_kv/d_ff factors) are exercised.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import jaxinit

from . import _twin

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

K = 3  # draws per side


def _reference(build, n: int, seed: int):
    """n models from one torch seed stream; {torch name: [arrays]} plus the module tree."""
    torch.manual_seed(seed)
    out: dict[str, list] = {}
    tree = None
    for _ in range(n):
        m = build()
        tree = tree or _twin.tree_of(m)
        with torch.no_grad():
            for name, t in list(m.named_parameters()) + list(m.named_buffers()):
                out.setdefault(name, []).append(t.detach().numpy().copy())
    return out, tree


def _errors(build, policy, seed: int, n: int = K):
    """(failures, rule name per path, every torch name compared)."""
    theirs, tree = _reference(build, n, seed)
    model = _twin.twin(tree)
    assert _twin.uncovered(model, policy) == [], "every parameter needs a named rule"
    report = jaxinit.explain(model, policy=policy)
    assert "rule" in str(report)
    res = jaxinit.explain(model, policy=policy).resolution
    rules = {d.spec.path: d.rule.name for d in res.decisions}
    assert all(rules.values()), rules
    mine = _twin.ours(model, policy, _twin.keys(seed, n))
    bounds = _twin.bounds(model, policy)
    errs, seen = [], set()
    for e in tree:
        for fpath, (tname, layout) in _twin.flax_params(e).items():
            seen.add(tname)
            ref = [_twin.to_flax_layout(x, layout) for x in theirs[tname]]
            errs += _twin.compare(fpath, ref, [m[fpath] for m in mine], bounds.get(fpath))
    return errs, rules, seen


def _check(build, policy, seed: int, n: int = K):
    errs, rules, seen = _errors(build, policy, seed, n)
    params = {n for n, _ in build().named_parameters()}
    assert params <= seen, sorted(params - seen)  # every reference parameter was compared
    assert not errs, "\n".join(errs)
    return rules


# ----------------------------------------------------------------------------------------------
# BERT.


@pytest.mark.parametrize(
    "hidden, layers, pad, rng, cls",
    # BertModel (pad 0); BertForMaskedLM with a RoBERTa-like pad row 1 and a wider range
    [(64, 2, 0, 0.02, "BertModel"), (48, 3, 1, 0.05, "BertForMaskedLM")],
)
def test_hf_bert(hidden, layers, pad, rng, cls):
    cfg = transformers.BertConfig(
        vocab_size=120,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=2 * hidden,
        max_position_embeddings=40,
        pad_token_id=pad,
        initializer_range=rng,
    )
    policy = jaxinit.preset("hf_bert", initializer_range=rng, pad_token_id=pad)
    rules = _check(lambda: getattr(transformers, cls)(cfg), policy, seed=10 + layers)
    pre = "params/bert/" if cls == "BertForMaskedLM" else "params/"
    assert rules[pre + "embeddings/word_embeddings/embedding"].startswith("embedding with padding")
    assert rules[pre + "embeddings/position_embeddings/embedding"] == "embedding"
    if cls == "BertForMaskedLM":  # its decoder is tied to word_embeddings, its bias a param
        assert rules["params/cls/predictions/bias"] == "lm head bias (self.param)"


def test_hf_bert_loads_by_name_and_config_file():
    assert jaxinit.load_policy("hf_bert") == jaxinit.preset("hf_bert")
    p = jaxinit.load_policy("configs/hf_bert.py:initializer_range=0.05,pad_token_id=1")
    assert p == jaxinit.preset("hf_bert", initializer_range=0.05, pad_token_id=1)
    p = jaxinit.load_policy("configs/hf_bert.py:pad_token_id=None")
    assert p == jaxinit.preset("hf_bert", pad_token_id=None)


# ----------------------------------------------------------------------------------------------
# GPT-2.


@pytest.mark.parametrize("embd, n_layer", [(64, 2), (32, 6)])
def test_hf_gpt2(embd, n_layer):
    cfg = transformers.GPT2Config(
        vocab_size=100,
        n_embd=embd,
        n_layer=n_layer,
        n_head=4,
        n_positions=32,
        bos_token_id=0,
        eos_token_id=0,
    )
    policy = jaxinit.preset("hf_gpt2", n_layer=n_layer)
    rules = _check(lambda: transformers.GPT2LMHeadModel(cfg), policy, seed=20 + n_layer)
    res_rule = "residual projection (c_proj): range / sqrt(2 n_layer)"
    assert rules["params/transformer/h_0/attn/c_proj/kernel"] == res_rule
    assert rules["params/transformer/h_0/mlp/c_proj/kernel"] == res_rule
    assert rules["params/transformer/h_0/attn/c_attn/kernel"] == "linear/conv kernel"


def test_hf_gpt2_depth_rule_is_what_gpt2_draws():
    """The residual std differs from the others by 1/sqrt(2 n_layer), here 1/sqrt(12)."""
    p = jaxinit.preset("hf_gpt2", n_layer=6, initializer_range=0.03)
    assert math.isclose(p.rules[0].hyperparameters["std"], 0.03 / math.sqrt(12))
    renamed = jaxinit.preset("hf_gpt2", n_layer=6, residual="out_proj|fc_out")
    assert renamed.rules[0].pattern.endswith("(?:out_proj|fc_out)/kernel")
    with pytest.raises(jaxinit.JaxinitError, match="n_layer=0"):
        jaxinit.preset("hf_gpt2", n_layer=0)


# ----------------------------------------------------------------------------------------------
# LLaMA.


@pytest.mark.parametrize("hidden, layers, pad", [(64, 2, None), (48, 3, 5)])
def test_hf_llama(hidden, layers, pad):
    cfg = transformers.LlamaConfig(
        vocab_size=100,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=2 * hidden,
        pad_token_id=pad,
        tie_word_embeddings=False,
    )
    policy = jaxinit.preset("hf_llama", pad_token_id=pad)
    rules = _check(lambda: transformers.LlamaForCausalLM(cfg), policy, seed=30 + layers)
    assert rules["params/model/layers_0/input_layernorm/scale"] == "norm scale"
    assert rules["params/lm_head/kernel"] == "linear/conv kernel"


# ----------------------------------------------------------------------------------------------
# ViT.


@pytest.mark.parametrize("hidden, layers, rng", [(64, 2, 0.02), (48, 3, 0.1)])
def test_hf_vit(hidden, layers, rng):
    cfg = transformers.ViTConfig(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=2 * hidden,
        image_size=32,
        patch_size=4,
        initializer_range=rng,
    )
    policy = jaxinit.preset("hf_vit", initializer_range=rng)
    rules = _check(lambda: transformers.ViTModel(cfg), policy, seed=40 + layers, n=4)
    assert rules["params/embeddings/cls_token"] == "cls token, position embeddings (self.param)"
    assert rules["params/embeddings/patch_embeddings/projection/kernel"] == "linear/conv kernel"


# ----------------------------------------------------------------------------------------------
# T5.


@pytest.mark.parametrize(
    "d_model, d_kv, heads, d_ff, layers, factor, ff",
    # T5 (relu wi/wo); a T5 v1.1-like gated feed-forward (wi_0, wi_1), other sizes and factor
    [(64, 16, 4, 128, 2, 1.0, "relu"), (48, 8, 3, 96, 3, 0.5, "gated-gelu")],
)
def test_hf_t5(d_model, d_kv, heads, d_ff, layers, factor, ff):
    cfg = transformers.T5Config(
        vocab_size=100,
        d_model=d_model,
        d_kv=d_kv,
        num_heads=heads,
        d_ff=d_ff,
        num_layers=layers,
        num_decoder_layers=2,
        initializer_factor=factor,
        feed_forward_proj=ff,
    )
    policy = jaxinit.preset(
        "hf_t5", d_model=d_model, d_kv=d_kv, num_heads=heads, d_ff=d_ff, factor=factor
    )
    rules = _check(lambda: transformers.T5Model(cfg), policy, seed=50 + layers, n=4)
    att = "params/encoder/block_0/layer_0/SelfAttention"
    assert rules[att + "/q/kernel"] == "attention q: factor (d_model d_kv)^-1/2"
    assert rules[att + "/relative_attention_bias/embedding"].startswith("relative_attention_bias")
    assert rules["params/shared/embedding"] == "embedding"
    wi = "wi_0" if ff.startswith("gated") else "wi"
    assert rules[f"params/encoder/block_0/layer_1/DenseReluDense/{wi}/kernel"].startswith("feed")


def test_hf_configs_load():
    assert jaxinit.load_policy("configs/hf_gpt2.py:n_layer=6") == jaxinit.preset(
        "hf_gpt2", n_layer=6
    )
    assert jaxinit.load_policy("configs/hf_llama.py") == jaxinit.preset("hf_llama")
    assert jaxinit.load_policy("configs/hf_vit.py:initializer_range=0.1") == (
        jaxinit.preset("hf_vit", initializer_range=0.1)
    )
    got = jaxinit.load_policy("configs/hf_t5.py:d_model=64,d_kv=16,num_heads=4,d_ff=128")
    assert got == jaxinit.preset("hf_t5", d_model=64, d_kv=16, num_heads=4, d_ff=128)
    with pytest.raises(jaxinit.JaxinitError, match="d_modle"):
        jaxinit.load_policy("configs/hf_t5.py:d_modle=64")


def test_padded_normal_scheme():
    import jax

    w = np.asarray(jaxinit.get("padded_normal", std=0.5, padding_idx=-2)(jax.random.key(0), (9, 4)))
    assert np.all(w[7] == 0) and np.all(w[np.arange(9) != 7] != 0)
    with pytest.raises(jaxinit.JaxinitError, match="padding_idx=9"):
        jaxinit.get("padded_normal", std=0.5, padding_idx=9)(jax.random.key(0), (9, 4))
    with pytest.raises(jaxinit.JaxinitError, match="std"):
        jaxinit.get("padded_normal", std=-1.0)


def test_the_comparison_catches_a_wrong_preset():
    """The checks have power at these sizes: GPT-2 under the rule for a 4x deeper model (c_proj
    std halved) and BERT without its padding row both fail."""
    gpt = transformers.GPT2Config(
        vocab_size=100,
        n_embd=64,
        n_layer=2,
        n_head=4,
        n_positions=32,
        bos_token_id=0,
        eos_token_id=0,
    )
    errs, _, _ = _errors(
        lambda: transformers.GPT2LMHeadModel(gpt), jaxinit.preset("hf_gpt2", n_layer=8), seed=1
    )
    assert errs and all("c_proj/kernel" in e for e in errs), errs
    bert = transformers.BertConfig(
        vocab_size=120,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=40,
    )
    errs, _, _ = _errors(
        lambda: transformers.BertModel(bert), jaxinit.preset("hf_bert", pad_token_id=None), seed=2
    )
    assert len(errs) == 1 and "zero rows [0]" in errs[0], errs
