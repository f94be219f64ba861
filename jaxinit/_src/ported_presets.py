"""Presets for the models people port from PyTorch: Hugging Face, timm and torchvision.

These models do not keep torch's layer defaults: Hugging Face re-initializes every module in
`_init_weights`, timm's ViT uses truncated normals, torchvision's ResNet Kaiming normals with
fan_out. Each preset reproduces one family's reference init (sources read: transformers 5.24.0,
timm at commit aa4b5850 and 1.0.x wheels, torchvision 0.29.1; the tests under
`tests/conformance/ported/` compare every parameter of tiny real models with a Flax port).

Rules match Flax's own module types plus path regexes whose defaults are the parameter names
a port keeps for weight loading (GPT-2 `c_proj`, T5 `q`/`k`/`v`/`o`, timm `cls_token`, ...);
every role regex is an argument, for ports that named things differently. Parameters declared
with `self.param` (cls tokens, position embeddings) are matched by path alone. A tied head
(GPT-2's and T5's `lm_head`) has no parameter of its own in a port (`embed.attend`); an untied
`lm_head` Dense gets the Linear rule, as the reference draws it.
"""

from __future__ import annotations

import math

from jaxinit._src import schemes as _schemes  # noqa: F401  (registers every scheme)
from jaxinit._src.errors import HyperparameterError
from jaxinit._src.policy import Policy
from jaxinit._src.preset_rules import ANY, CONV, DENSE, EMBED, NORMS, R
from jaxinit._src.rules import Rule

BATCHNORM_STATS = [
    R(r"batch_stats/" + ANY + r"mean", "zeros", "BatchNorm", name="batchnorm mean"),
    R(r"batch_stats/" + ANY + r"var", "ones", "BatchNorm", name="batchnorm var"),
]


def _positive(where: str, **values) -> None:
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise HyperparameterError(f"{where}: {k}={v!r} must be a number > 0.")


def _count(where: str, **values) -> None:
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise HyperparameterError(f"{where}: {k}={v!r} must be an integer >= 1.")


def _pad(where: str, pad_token_id) -> None:
    if pad_token_id is not None and (
        isinstance(pad_token_id, bool) or not isinstance(pad_token_id, int)
    ):
        raise HyperparameterError(
            f"{where}: pad_token_id={pad_token_id!r} must be an integer or None."
        )


def _role(name: str) -> str:
    """A role regex as one path segment group: `(?:a|b)`."""
    return f"(?:{name})"


def _hf_base(
    std: float, pad_token_id: int | None, padded: str, norm_value: float = 1.0
) -> list[Rule]:
    """`PreTrainedModel._init_weights` (transformers 5.24 `modeling_utils.py`): Linear/Conv
    N(0, std) with zero bias, Embedding N(0, std) with the padding row zeroed, norms ones
    (or `norm_value`) and zeros."""
    rules = []
    if pad_token_id is not None:
        rules.append(
            R(
                ANY + _role(padded) + r"/embedding",
                "padded_normal",
                EMBED,
                hp={"std": std, "padding_idx": pad_token_id},
                name=f"embedding with padding row {pad_token_id} ({padded})",
            )
        )
    norm_scale = (
        R(ANY + r"scale", "ones", NORMS, name="norm scale")
        if norm_value == 1.0
        else R(ANY + r"scale", "constant", NORMS, hp={"value": norm_value}, name="norm scale")
    )
    rules += [
        R(ANY + r"embedding", "normal_", EMBED, hp={"std": std}, name="embedding"),
        R(
            ANY + r"kernel",
            "normal_",
            f"{DENSE}|{CONV}",
            hp={"std": std},
            name="linear/conv kernel",
        ),
        R(ANY + r"bias", "zeros", f"{DENSE}|{CONV}", name="linear/conv bias"),
        norm_scale,
        R(ANY + r"bias", "zeros", NORMS, name="norm bias"),
        *BATCHNORM_STATS,
    ]
    return rules


def _ported(name: str, rules, variables: dict) -> Policy:
    """A ported-model preset: its rules, the model's own initializers for everything else
    (`fallback="keep"`), no warning for a role the port does not have."""
    return Policy(rules, fallback="keep", unused="ignore", name=name, variables=variables)


def hf_bert(
    initializer_range: float = 0.02,
    pad_token_id: int | None = 0,
    padded: str = "word_embeddings",
    lm_bias: str = r"predictions/bias",
) -> Policy:
    """transformers `BertModel` / `BertForMaskedLM` (`BertPreTrainedModel._init_weights`):
    every Linear (query/key/value/dense, pooler) N(0, range) with zero bias; the embeddings
    (`word_embeddings`, `position_embeddings`, `token_type_embeddings`) N(0, range), the
    `pad_token_id` row of `padded` zeroed (0 for BERT, 1 for RoBERTa, None: no zero row);
    LayerNorm ones/zeros; the MLM head's own bias (`lm_bias`, a `self.param`) zero.

    Args:
      initializer_range: `BertConfig.initializer_range`, the std of every normal.
      pad_token_id: the embedding row of `padded` that is zeroed (None: none).
      padded: the regex of the embedding whose padding row is zeroed.
      lm_bias: the regex of the MLM head's own bias.

    Returns:
      The Policy (fallback "keep"; every rule optional; the options in `variables`).

    Raises:
      HyperparameterError: for an option out of range, naming it.
    """
    _positive("hf_bert", initializer_range=initializer_range)
    _pad("hf_bert", pad_token_id)
    rules = [
        R(ANY + _role(lm_bias), "zeros", name="lm head bias (self.param)"),
        *_hf_base(initializer_range, pad_token_id, padded),
    ]
    return _ported(
        "hf_bert",
        rules,
        {"initializer_range": initializer_range, "pad_token_id": pad_token_id},
    )


def hf_gpt2(
    n_layer: int = 12,
    initializer_range: float = 0.02,
    residual: str = "c_proj",
    pad_token_id: int | None = None,
    padded: str = "wte",
) -> Policy:
    """transformers `GPT2Model` / `GPT2LMHeadModel`: every Conv1D (`c_attn`, `c_fc`, `c_proj`,
    already (in, out) like a Flax Dense kernel) and Linear N(0, range) with zero bias;
    the residual projections (`residual`: `attn.c_proj` and `mlp.c_proj`) N(0, range /
    sqrt(2 n_layer)); `wte`/`wpe` N(0, range); LayerNorms (`ln_1`, `ln_2`, `ln_f`) ones/zeros.
    The head is tied to `wte` (a port calls `wte.attend`). `n_layer` defaults to
    `GPT2Config()`'s 12: pass the model's.

    Args:
      n_layer: the model's number of blocks (the residual projections' std divides by
        sqrt(2 n_layer)).
      initializer_range: `GPT2Config.initializer_range`.
      residual: the regex of the residual projections.
      pad_token_id: the embedding row of `padded` that is zeroed (None: none).
      padded: the regex of the embedding whose padding row is zeroed.

    Returns:
      The Policy (fallback "keep"; every rule optional; the options in `variables`).

    Raises:
      HyperparameterError: for an option out of range, naming it.
    """
    _count("hf_gpt2", n_layer=n_layer)
    _positive("hf_gpt2", initializer_range=initializer_range)
    _pad("hf_gpt2", pad_token_id)
    std_res = initializer_range / math.sqrt(2 * n_layer)
    rules = [
        R(
            ANY + _role(residual) + r"/kernel",
            "normal_",
            DENSE,
            hp={"std": std_res},
            name=f"residual projection ({residual}): range / sqrt(2 n_layer)",
        ),
        *_hf_base(initializer_range, pad_token_id, padded),
    ]
    return _ported(
        "hf_gpt2",
        rules,
        {"n_layer": n_layer, "initializer_range": initializer_range},
    )


def hf_llama(
    initializer_range: float = 0.02,
    pad_token_id: int | None = None,
    padded: str = "embed_tokens",
) -> Policy:
    """transformers `LlamaModel` / `LlamaForCausalLM` (the base `_init_weights`): q/k/v/o,
    gate/up/down projections and an untied `lm_head` N(0, range) (biases, with
    `attention_bias`/`mlp_bias`, zero); `embed_tokens` N(0, range) with the `pad_token_id`
    row zeroed (LlamaConfig's default is None: no zero row); RMSNorms (`input_layernorm`,
    `post_attention_layernorm`, `norm`) ones.

    Args:
      initializer_range: `LlamaConfig.initializer_range`.
      pad_token_id: the embedding row of `padded` that is zeroed (None: none).
      padded: the regex of the embedding whose padding row is zeroed.

    Returns:
      The Policy (fallback "keep"; every rule optional; the options in `variables`).

    Raises:
      HyperparameterError: for an option out of range, naming it.
    """
    _positive("hf_llama", initializer_range=initializer_range)
    _pad("hf_llama", pad_token_id)
    return _ported(
        "hf_llama",
        _hf_base(initializer_range, pad_token_id, padded),
        {"initializer_range": initializer_range, "pad_token_id": pad_token_id},
    )


def hf_t5(
    d_model: int = 512,
    d_kv: int = 64,
    num_heads: int = 8,
    d_ff: int = 2048,
    factor: float = 1.0,
    q: str = "q",
    kv: str = "k|v",
    o: str = "o",
    wi: str = r"wi|wi_0|wi_1",
    wo: str = "wo",
    relative_bias: str = "relative_attention_bias",
) -> Policy:
    """transformers `T5Model` (`T5PreTrainedModel._init_weights`, `factor` =
    `initializer_factor`): `shared` and `embed_tokens` N(0, factor); attention q N(0, factor
    (d_model d_kv)^-1/2), k and v factor d_model^-1/2, o factor (num_heads d_kv)^-1/2;
    feed-forward `wi` (`wi_0`/`wi_1` gated) factor d_model^-1/2, `wo` factor d_ff^-1/2;
    `relative_attention_bias` (block 0 of each stack) factor d_model^-1/2; the layer norms'
    scale = factor (not 1). T5's Linears have no bias. The sizes cannot all be read from the
    shapes (q's kernel is (d_model, heads d_kv), the bias table (buckets, heads)): pass the
    model's; the defaults are `T5Config()`'s (t5-small). In transformers 5 `lm_head` is tied
    to `shared`.

    Args:
      d_model, d_kv, num_heads, d_ff: the model's sizes (`T5Config`'s fields).
      factor: `T5Config.initializer_factor`.
      q, kv, o, wi, wo: the regexes of the attention and feed-forward projections.
      relative_bias: the regex of the relative attention bias table.

    Returns:
      The Policy (fallback "keep"; every rule optional; the options in `variables`).

    Raises:
      HyperparameterError: for an option out of range, naming it.
    """
    _count("hf_t5", d_model=d_model, d_kv=d_kv, num_heads=num_heads, d_ff=d_ff)
    _positive("hf_t5", factor=factor)
    f = float(factor)
    std_dm = f * d_model**-0.5

    def proj(role: str, std: float, what: str) -> Rule:
        return R(ANY + _role(role) + r"/kernel", "normal_", DENSE, hp={"std": std}, name=what)

    rules = [
        R(
            ANY + _role(relative_bias) + r"/embedding",
            "normal_",
            EMBED,
            hp={"std": std_dm},
            name="relative_attention_bias: factor d_model^-1/2",
        ),
        proj(q, f * (d_model * d_kv) ** -0.5, "attention q: factor (d_model d_kv)^-1/2"),
        proj(kv, std_dm, "attention k, v: factor d_model^-1/2"),
        proj(o, f * (num_heads * d_kv) ** -0.5, "attention o: factor (num_heads d_kv)^-1/2"),
        proj(wi, std_dm, "feed-forward wi: factor d_model^-1/2"),
        proj(wo, f * d_ff**-0.5, "feed-forward wo: factor d_ff^-1/2"),
        *_hf_base(f, None, "", norm_value=f),
    ]
    return _ported(
        "hf_t5",
        rules,
        {
            "d_model": d_model,
            "d_kv": d_kv,
            "num_heads": num_heads,
            "d_ff": d_ff,
            "factor": f,
        },
    )


def hf_vit(
    initializer_range: float = 0.02,
    tokens: str = r"cls_token|position_embeddings",
    mask_token: str = "mask_token",
) -> Policy:
    """transformers `ViTModel` (`ViTPreTrainedModel._init_weights`, 5.x): Linear and the
    patch Conv N(0, range) (a plain normal; 4.x used a truncated normal with absolute bounds
    +-2, the same distribution at these stds) with zero bias; `cls_token` and
    `position_embeddings` (`self.param`s, `tokens`) trunc_normal_(std=range) (bounds +-2);
    `mask_token` zero; LayerNorm ones/zeros.

    Args:
      initializer_range: `ViTConfig.initializer_range`.
      tokens: the regex of the `self.param` tokens drawn trunc_normal_.
      mask_token: the regex of the mask token (zeros).

    Returns:
      The Policy (fallback "keep"; every rule optional; the options in `variables`).

    Raises:
      HyperparameterError: for an option out of range, naming it.
    """
    _positive("hf_vit", initializer_range=initializer_range)
    rules = [
        R(
            ANY + _role(tokens),
            "trunc_normal_",
            hp={"std": initializer_range},
            name="cls token, position embeddings (self.param)",
        ),
        R(ANY + _role(mask_token), "zeros", name="mask token (self.param)"),
        *_hf_base(initializer_range, None, ""),
    ]
    return _ported(
        "hf_vit",
        rules,
        {"initializer_range": initializer_range},
    )


def timm_vit(cls_token: str = r"cls_token|reg_token", pos_embed: str = "pos_embed") -> Policy:
    """timm `VisionTransformer` default init (`weight_init=''`: `init_weights` +
    `init_weights_vit_timm`): every Linear (qkv, proj, fc1, fc2, head) trunc_normal_(std=.02)
    with zero bias; `pos_embed` trunc_normal_(std=.02); `cls_token`/`reg_token` N(0, 1e-6);
    the patch embedding Conv (`patch_embed/proj`, any Conv) and the LayerNorms keep torch's defaults
    (timm's init skips them): U(+-1/sqrt(fan_in)) kernel and bias, ones/zeros.

    Args:
      cls_token: the regex of the tokens drawn N(0, 1e-6).
      pos_embed: the regex of the position embedding.

    Returns:
      The Policy (fallback "keep"; every rule optional).
    """
    rules = [
        R(ANY + _role(cls_token), "normal_", hp={"std": 1e-6}, name="cls/reg token N(0, 1e-6)"),
        R(ANY + _role(pos_embed), "trunc_normal_", hp={"std": 0.02}, name="pos_embed"),
        # timm's init touches Linears only: the patch embedding Conv (`patch_embed/proj`)
        # keeps torch's Conv2d default.
        R(ANY + r"kernel", "torch_kernel", CONV, name="conv kernel (patch_embed/proj): torch"),
        R(
            ANY + r"bias",
            "torch_bias",
            CONV,
            hp={"fan_in": "ctx:kernel_fan_in"},
            name="conv bias (patch_embed/proj): torch",
        ),
        R(ANY + r"kernel", "trunc_normal_", DENSE, hp={"std": 0.02}, name="linear kernel"),
        R(ANY + r"bias", "zeros", DENSE, name="linear bias"),
        R(ANY + r"scale", "ones", NORMS, name="norm scale"),
        R(ANY + r"bias", "zeros", NORMS, name="norm bias"),
    ]
    return _ported("timm_vit", rules, {})


def torchvision_resnet(
    zero_init_residual: bool = False,
    basic_block: str = r"BasicBlock|ResNetBlock",
    bottleneck: str = r"Bottleneck|BottleneckResNetBlock",
    basic_last_bn: str = "bn2",
    bottleneck_last_bn: str = "bn3",
) -> Policy:
    """torchvision `resnet18/34/50/101/152` (`ResNet.__init__`): every Conv2d
    kaiming_normal_(mode="fan_out", nonlinearity="relu") (conv1, block convs, `downsample`);
    BatchNorm weight 1, bias 0 (running stats 0 / 1); `fc` keeps torch's Linear default
    U(+-1/sqrt(fan_in)) for kernel and bias. `zero_init_residual=True` zeroes the last BN of
    each residual block, which depends on the block's kind: `bn2` (`basic_last_bn`) in a
    BasicBlock, `bn3` (`bottleneck_last_bn`) in a Bottleneck. The kind is the class name of
    the enclosing block module (`basic_block`, `bottleneck`: class-name regexes; the defaults
    are torchvision's and Flax examples' names).

    Args:
      zero_init_residual: zero the last BatchNorm scale of each residual block.
      basic_block, bottleneck: class-name regexes of the two block kinds.
      basic_last_bn, bottleneck_last_bn: the names of their last BatchNorm.

    Returns:
      The Policy (fallback "keep"; every rule optional; the options in `variables`).

    Raises:
      HyperparameterError: for an option out of range, naming it.
    """
    if not isinstance(zero_init_residual, bool):
        raise HyperparameterError(
            f"torchvision_resnet: zero_init_residual={zero_init_residual!r} must be True or False."
        )
    rules = []
    if zero_init_residual:
        rules += [
            # `module=` without the flax: prefix matches any enclosing class: the user's block.
            Rule(
                ANY + _role(bottleneck_last_bn) + r"/scale",
                "zeros",
                module=bottleneck,
                optional=True,
                name=f"zero_init_residual: {bottleneck_last_bn} of a Bottleneck",
            ),
            Rule(
                ANY + _role(basic_last_bn) + r"/scale",
                "zeros",
                module=basic_block,
                optional=True,
                name=f"zero_init_residual: {basic_last_bn} of a BasicBlock",
            ),
        ]
    rules += [
        R(
            ANY + r"kernel",
            "kaiming_normal_",
            CONV,
            hp={"mode": "fan_out", "nonlinearity": "relu"},
            name="conv kernel kaiming_normal_(fan_out, relu)",
        ),
        R(ANY + r"bias", "zeros", CONV, name="conv bias"),
        R(ANY + r"kernel", "torch_kernel", DENSE, name="fc kernel (torch Linear default)"),
        R(
            ANY + r"bias",
            "torch_bias",
            DENSE,
            hp={"fan_in": "ctx:kernel_fan_in"},
            name="fc bias (torch Linear default)",
        ),
        R(ANY + r"scale", "ones", NORMS, name="norm scale"),
        R(ANY + r"bias", "zeros", NORMS, name="norm bias"),
        *BATCHNORM_STATS,
    ]
    return _ported(
        "torchvision_resnet",
        rules,
        {"zero_init_residual": zero_init_residual},
    )


PORTED = {
    "hf_bert": hf_bert,
    "hf_gpt2": hf_gpt2,
    "hf_llama": hf_llama,
    "hf_t5": hf_t5,
    "hf_vit": hf_vit,
    "timm_vit": timm_vit,
    "torchvision_resnet": torchvision_resnet,
}
