"""The presets: torch_like, tf_like, tf1_like, flax_default, haiku_like.

Each preset is an ordered rule list over Linen and NNX module types (see the coverage table in
the README; the facts and their sources are in `shared/reference/conventions.md`). Specific
rules (recurrent cells, attention) come before general ones (Dense/Conv). Rules are optional
(a model without LSTMs does not warn about the LSTM rules) and the fallback is "keep":
parameters of modules a preset does not know keep their module's own initializer.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from jaxinit._src import schemes as _schemes  # noqa: F401  (registers every scheme)
from jaxinit._src.errors import HyperparameterError, did_you_mean, unknown
from jaxinit._src.policy import Policy
from jaxinit._src.ported_presets import PORTED
from jaxinit._src.preset_rules import (
    ANY,
    CELLS,
    CONV,
    CONV_T,
    DENSE,
    EMBED,
    GRU,
    LSTM,
    MHA,
    NORMS,
    SIMPLE,
    R,
)
from jaxinit._src.rules import Rule


def _fused(
    side: str, gates: str, scheme: str, module: str, group: str, name: str, suffix: str = ""
) -> Rule:
    """A rule that draws a cell's per-gate kernels on one side (`i` input, `h` recurrent) as ONE
    fused matrix, concatenated along the last axis in `gates` order, then split (Keras-style)."""
    return R(
        rf"(.*)/{side}([{gates}]){suffix}/kernel",
        scheme,
        module,
        group=rf"\1/{group}",
        group_member=r"\2",
        group_order=tuple(gates),
        name=name,
    )


def _norm_rules(prelu: float | None) -> list[Rule]:
    rules = [
        R(ANY + r"scale", "ones", NORMS, name="norm scale"),
        R(ANY + r"bias", "zeros", NORMS, name="norm bias"),
        R(r"batch_stats/" + ANY + r"mean", "zeros", "BatchNorm", name="batchnorm mean"),
        R(r"batch_stats/" + ANY + r"var", "ones", "BatchNorm", name="batchnorm var"),
    ]
    if prelu is not None:
        rules.append(
            R(ANY + r"negative_slope", "constant", "PReLU", hp={"value": prelu}, name="prelu")
        )
    return rules


def torch_like() -> Policy:
    """PyTorch 2.x module defaults.

    Linear/Conv kernels `kaiming_uniform_(a=sqrt(5))` = U(+-1/sqrt(fan_in)), biases
    U(+-1/sqrt(fan_in of the kernel)); ConvTranspose fans from OUTPUT channels; Embedding N(0,1);
    RNN cells U(+-1/sqrt(H)) everywhere, with a Flax gate bias that stands for b_ih + b_hh
    drawn as the sum of two uniforms; MultiheadAttention q/k/v as one packed (3E, E) xavier
    (bound sqrt(6/(4E)); with kdim or vdim != E torch keeps three matrices, each its own
    xavier), out projection Linear default with zero bias, q/k/v biases zero;
    norms ones/zeros; PReLU 0.25.

    Returns:
      The Policy (fallback "keep": modules it does not know keep their own initializer;
      every rule optional).
    """
    H = {"hidden_size": "ctx:hidden_size"}
    rules = [
        # Recurrent cells (torch RNNBase / RNNCellBase).
        R(ANY + r"h[ifgo]/bias", "torch_rnn", LSTM, hp={**H, "terms": 2}, name="lstm bias"),
        R(ANY + r"dense_h/bias", "torch_rnn", LSTM, hp={**H, "terms": 2}, name="nnx lstm bias"),
        R(ANY + r"i[rz]/bias", "torch_rnn", GRU, hp={**H, "terms": 2}, name="gru r/z bias"),
        R(ANY + r"(in|hn)/bias", "torch_rnn", GRU, hp=H, name="gru n biases"),
        # NNX GRUCell: one fused input bias [r, z, n] and no b_hn at all.
        R(
            ANY + r"dense_i/bias",
            "torch_rnn",
            GRU,
            hp={**H, "terms": (2, 2, 1)},
            name="nnx gru bias",
        ),
        R(
            ANY + r"(i|dense_i)/bias",
            "torch_rnn",
            SIMPLE,
            hp={**H, "terms": 2},
            name="rnn cell bias",
        ),
        R(ANY + r"[^/]+", "torch_rnn", CELLS, hp=H, name="rnn weights"),
        # MultiheadAttention.
        R(
            r"(.*)/(query|key|value)/kernel",
            "torch_xavier_uniform",
            MHA,
            group=r"\1/in_proj",
            group_member=r"\2",
            group_order=("query", "key", "value"),
            group_fallback="separate",  # cross-attention (kdim/vdim != E): three xaviers
            name="mha in_proj (packed when kdim = vdim = E)",
        ),
        R(ANY + r"(query|key|value|out)/bias", "zeros", MHA, name="mha biases"),
        R(ANY + r"out/kernel", "torch_kernel", MHA, name="mha out_proj"),
        # Embedding.
        R(ANY + r"embedding", "torch_embedding", EMBED, name="embedding"),
        # Transposed conv: torch's fan_in is the OUTPUT channels (Flax out_axis; with
        # transpose_kernel=True Flax stores (..., out, in), so the output axis is -2).
        R(
            ANY + r"kernel",
            "torch_kernel",
            CONV_T,
            hp={"in_axis": -2, "out_axis": -1},
            module_attrs={"transpose_kernel": True},
            name="conv_transpose kernel (transpose_kernel=True)",
        ),
        R(
            ANY + r"kernel",
            "torch_kernel",
            CONV_T,
            hp={"in_axis": -1, "out_axis": -2},
            name="conv_transpose kernel",
        ),
        R(
            ANY + r"bias",
            "torch_bias",
            CONV_T,
            hp={"fan_in": "ctx:kernel_fan_in"},
            module_attrs={"transpose_kernel": True},
            name="conv_transpose bias (transpose_kernel=True)",
        ),
        R(
            ANY + r"bias",
            "torch_bias",
            CONV_T,
            hp={"fan_in": "ctx:kernel_fan_out"},
            name="conv_transpose bias",
        ),
        # Linear / Conv.
        R(ANY + r"kernel", "torch_kernel", f"{DENSE}|{CONV}", name="kernel"),
        R(
            ANY + r"bias",
            "torch_bias",
            f"{DENSE}|{CONV}",
            hp={"fan_in": "ctx:kernel_fan_in"},
            name="bias",
        ),
        *_norm_rules(prelu=0.25),
    ]
    return Policy(rules, fallback="keep", unused="ignore", name="torch_like")


def tf_like(attention_fans: str = "2d") -> Policy:
    """Keras 3 / tf.keras defaults.

    Kernels glorot_uniform, biases zeros; Embedding U(+-0.05); LSTM/GRU/SimpleRNN kernels glorot
    over the WHOLE fused (in, G*H) matrix and recurrent kernels orthogonal over the whole
    (H, G*H) matrix, drawn once and split; LSTM forget bias 1; depthwise convs with Keras's
    fans; norms ones/zeros; PReLU 0. `attention_fans="2d"` is Keras >= 3.15 (EinsumDense
    passes 2-D fans); `"rank3"` reproduces tf.keras and older Keras 3, whose glorot sees the
    rank-3 (E, H, D) kernels.

    Args:
      attention_fans: "2d" (Keras >= 3.15) or "rank3" (tf.keras and older Keras 3), the fans
        the attention kernels are drawn with.

    Returns:
      The Policy (fallback "keep": modules it does not know keep their own initializer;
      every rule optional).
    """
    if attention_fans not in ("2d", "rank3"):
        raise unknown("attention_fans", attention_fans, ("2d", "rank3"), where="tf_like")
    rules = [
        # LSTM: Linen (ii/if/ig/io, hi/hf/hg/ho; NNX spells the forget input gate "if_").
        _fused("i", "ifgo", "glorot_uniform", LSTM, "kernel", "lstm kernel", suffix="_?"),
        _fused("h", "ifgo", "orthogonal", LSTM, "recurrent_kernel", "lstm recurrent"),
        R(ANY + r"hf/bias", "ones", LSTM, name="lstm forget bias"),
        R(ANY + r"h[igo]/bias", "zeros", LSTM, name="lstm bias"),
        # NNX OptimizedLSTMCell: already fused.
        R(ANY + r"dense_i/kernel", "glorot_uniform", LSTM, name="nnx lstm kernel"),
        R(ANY + r"dense_h/kernel", "orthogonal", LSTM, name="nnx lstm recurrent"),
        R(ANY + r"dense_h/bias", "unit_forget_bias", LSTM, name="nnx lstm bias"),
        # GRU (Linen ir/iz/in + hr/hz/hn; NNX dense_i/dense_h).
        _fused("i", "rzn", "glorot_uniform", GRU, "kernel", "gru kernel"),
        _fused("h", "rzn", "orthogonal", GRU, "recurrent_kernel", "gru recurrent"),
        # SimpleRNN.
        R(ANY + r"(i|dense_i)/kernel", "glorot_uniform", f"{GRU}|{SIMPLE}", name="rnn kernel"),
        R(ANY + r"(h|dense_h)/kernel", "orthogonal", f"{GRU}|{SIMPLE}", name="rnn recurrent"),
        # ConvLSTMCell (Keras ConvLSTM2D): orthogonal recurrent kernel over its (k*k*H, 4H)
        # flattening; the input kernel glorot with conv fans; zero biases (Flax's cell adds the
        # +1 forget bias itself, so zeros give Keras's unit forget bias).
        R(ANY + r"hh/kernel", "orthogonal", "ConvLSTMCell", name="convlstm recurrent"),
        R(ANY + r"[^/]*bias", "zeros", CELLS, name="rnn biases"),
        R(ANY + r"[^/]+", "glorot_uniform", CELLS, name="other cell weights"),
        # Attention: glorot on each projection, zero biases.
        R(
            ANY + r"(query|key|value|out)/kernel",
            "keras_glorot_uniform" if attention_fans == "rank3" else "glorot_uniform",
            MHA,
            raw_shape=attention_fans == "rank3",
            name="mha kernels",
        ),
        R(ANY + r"(query|key|value|out)/bias", "zeros", MHA, name="mha biases"),
        R(ANY + r"embedding", "keras_embedding", EMBED, name="embedding"),
        R(
            ANY + r"kernel",
            "keras_conv_glorot_uniform",
            r"Conv",
            hp={"groups": "ctx:module.feature_group_count"},
            name="conv kernel",
        ),
        R(ANY + r"kernel", "glorot_uniform", f"{DENSE}|{CONV}|{CONV_T}", name="kernel"),
        R(ANY + r"bias", "zeros", f"{DENSE}|{CONV}|{CONV_T}", name="bias"),
        *_norm_rules(prelu=0.0),
    ]
    return Policy(
        rules,
        fallback="keep",
        unused="ignore",
        name="tf_like",
        variables={"attention_fans": attention_fans},
    )


def tf1_like() -> Policy:
    """TF1 defaults: every floating variable from `tf.get_variable` is glorot_uniform whatever
    the layer (kernels, embeddings, RNN kernels), `tf.layers` biases are zero, GRUCell gate
    biases are 1, norm scales one and offsets zero.

    TF1's LSTMCell / GRUCell / BasicRNNCell hold ONE kernel over the concatenated [x, h]
    ((in+H, G*H); GRUCell two: gates (in+H, 2H) and candidate (in+H, H)). Its values are
    i.i.d., so Flax's split input/recurrent pieces get glorot with those fans:
    fan_in = in + H (`ctx:cell_fan_in`) and fan_out = G*H (the fused gate group). TF1 adds
    `forget_bias=1.0` to the LSTM forget gate at run time; Flax adds nothing, so the forget
    bias is 1 here (the same starting function). `separable_conv2d`/`depthwise_conv2d` kernels
    (k, k, in, m) take their fans from that shape (Keras's depthwise rule on Flax's
    (k, k, 1, in*m)). NNX's fused GRUCell kernels ([r, z, n] in one matrix with different
    fans per block) get glorot over the fused matrix: not TF1's fans.

    Returns:
      The Policy (fallback "keep": modules it does not know keep their own initializer;
      every rule optional).
    """
    cell = {
        "scale": 1.0,
        "mode": "fan_avg",
        "distribution": "uniform",
        "fan_in": "ctx:cell_fan_in",
        "fan_out": "ctx:fan_out",
    }
    rules = [
        R(
            r"(.*)/([ih])([ifgo])_?/kernel",
            "variance_scaling",
            LSTM,
            hp=cell,
            group=r"\1/\2_kernel",
            group_member=r"\3",
            group_order=tuple("ifgo"),
            name="lstm kernels (one kernel over [x, h])",
        ),
        R(ANY + r"dense_[ih]/kernel", "variance_scaling", LSTM, hp=cell, name="nnx lstm kernels"),
        R(ANY + r"hf/bias", "ones", LSTM, name="lstm forget bias (TF1 adds 1 at run time)"),
        R(ANY + r"dense_h/bias", "unit_forget_bias", LSTM, name="nnx lstm forget bias"),
        R(r"(.*)/i([rz])/bias", "ones", GRU, name="gru gate bias"),
        R(
            r"(.*)/([ih])([rz])/kernel",
            "variance_scaling",
            GRU,
            hp=cell,
            group=r"\1/\2_gates",
            group_member=r"\3",
            group_order=("r", "z"),
            name="gru gate kernels",
        ),
        R(ANY + r"[ih]n/kernel", "variance_scaling", GRU, hp=cell, name="gru candidate kernels"),
        R(
            ANY + r"(?:[ih]|dense_[ih])/kernel",
            "variance_scaling",
            SIMPLE,
            hp=cell,
            name="rnn cell kernels",
        ),
        R(ANY + r"[^/]*bias", "zeros", CELLS, name="rnn biases"),
        R(ANY + r"[^/]+", "glorot_uniform", CELLS, name="rnn weights"),
        R(ANY + r"(query|key|value|out)/bias", "zeros", MHA, name="attention biases"),
        R(ANY + r"embedding", "glorot_uniform", EMBED, name="embedding"),
        *_norm_rules(prelu=None),
        R(ANY + r"bias", "zeros", name="bias"),
        R(
            ANY + r"kernel",
            "keras_conv_glorot_uniform",
            r"Conv",
            hp={"groups": "ctx:module.feature_group_count"},
            name="conv kernel (depthwise: fans of TF1's (k, k, in, m))",
        ),
        # Keras-style fans so that rank-0/1 variables get glorot too, as tf.get_variable does.
        R(r"params/" + ANY + r"[^/]+", "keras_glorot_uniform", name="every other variable"),
    ]
    return Policy(rules, fallback="keep", unused="ignore", name="tf1_like")


def flax_default() -> Policy:
    """Exactly the distributions Flax's own modules use (the baseline): lecun_normal kernels
    (on the 2-D view for DenseGeneral/attention), zero biases, Embed N(0, 1/features), recurrent
    kernels orthogonal (per gate in Linen, whole matrix in NNX's fused cells), MGU forget bias 1,
    norms ones/zeros, PReLU 0.01. Values differ from `model.init` (jaxinit derives keys from
    paths), distributions do not; initializers the model passes explicitly are Flax's own
    draws (they stand). One exception: `nn.ConvLocal` kernels get the fans of one filter
    (rf*in, out), where Flax's lecun_normal also counts the output positions.

    Returns:
      The Policy (fallback "keep": modules it does not know keep their own initializer;
      every rule optional).
    """
    rules = [
        R(ANY + r"h[ifgo]?/kernel", "orthogonal", CELLS, name="recurrent kernel (per gate)"),
        R(ANY + r"h[rzn]/kernel", "orthogonal", CELLS, name="gru recurrent kernel"),
        R(ANY + r"dense_h/kernel", "orthogonal", CELLS, name="nnx recurrent kernel"),
        R(ANY + r"if/bias", "ones", "MGUCell", name="mgu forget bias"),
        R(ANY + r"[^/]*bias", "zeros", CELLS, name="rnn biases"),
        R(ANY + r"[^/]*kernel", "lecun_normal", CELLS, name="rnn input kernels"),
        R(
            ANY + r"embedding",
            "variance_scaling",
            EMBED,
            hp={"scale": 1.0, "mode": "fan_in", "distribution": "normal", "out_axis": 0},
            name="embedding",
        ),
        # Flax's Einsum calls its kernel_init on the stored shape (fans of the last two axes).
        R(ANY + r"kernel", "lecun_normal", "Einsum", raw_shape=True, name="einsum kernel"),
        R(ANY + r"kernel", "lecun_normal", f"{DENSE}|{CONV}|{CONV_T}|{MHA}", name="kernel"),
        R(ANY + r"bias", "zeros", f"{DENSE}|{CONV}|{CONV_T}|{MHA}", name="bias"),
        *_norm_rules(prelu=0.01),
    ]
    return Policy(rules, fallback="keep", unused="ignore", name="flax_default")


def haiku_like() -> Policy:
    """Haiku module defaults: Linear/Conv `TruncatedNormal(1/sqrt(fan_in))` WITHOUT the std
    correction (actual std 0.88/sqrt(fan_in)), fan_in from input channels also for transposed
    convs; zero biases; Embed TruncatedNormal(1) (std 0.88); GRU w_i/w_h LeCun truncated
    normal (corrected) over the fused matrices; norms ones/zeros.

    hk.LSTM is one Linear over [x, h] ((in+H, 4H)): its values are i.i.d., so Flax's input and
    recurrent kernels get fan_in = in + H (`ctx:cell_fan_in`). Haiku adds +1 to the forget
    gate at run time; Flax adds nothing, so the forget bias is 1 here (the same starting
    function; Haiku's stored bias is 0). Not Haiku's: hk.MultiHeadAttention has no default
    initializer (it raises without `w_init`); attention kernels here get the Linear rule
    (fan_in truncated normal, std 0.88/sqrt(fan_in)). hk.BatchNorm's moving averages are
    zero-debiased EMAs that hold the first batch's statistics after one call; Flax's stored
    batch_stats start at mean 0, var 1, as here.

    Returns:
      The Policy (fallback "keep": modules it does not know keep their own initializer;
      every rule optional).
    """
    tn = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal_uncorrected"}
    rules = [
        _fused("i", "rzn", "lecun_normal", GRU, "w_i", "gru w_i"),
        _fused("h", "rzn", "lecun_normal", GRU, "w_h", "gru w_h"),
        R(ANY + r"(dense_i|dense_h)/kernel", "lecun_normal", GRU, name="nnx gru"),
        R(
            ANY + r"[^/]*kernel",
            "variance_scaling",
            LSTM,
            hp={**tn, "fan_in": "ctx:cell_fan_in"},
            name="lstm kernels (one Linear over [x, h])",
        ),
        R(ANY + r"hf/bias", "ones", LSTM, name="lstm forget bias (Haiku adds 1 at run time)"),
        R(ANY + r"dense_h/bias", "unit_forget_bias", LSTM, name="nnx lstm forget bias"),
        R(ANY + r"[^/]*bias", "zeros", CELLS, name="rnn biases"),
        R(ANY + r"[^/]*kernel", "variance_scaling", CELLS, hp=tn, name="rnn kernels"),
        R(ANY + r"embedding", "truncated_normal", EMBED, hp={"stddev": 1.0}, name="embedding"),
        # Haiku's transposed conv takes fan_in from its input channels: the last axis when
        # Flax stores the kernel transposed.
        R(
            ANY + r"kernel",
            "variance_scaling",
            CONV_T,
            hp={**tn, "in_axis": -1, "out_axis": -2},
            module_attrs={"transpose_kernel": True},
            name="conv_transpose kernel (transpose_kernel=True)",
        ),
        R(
            ANY + r"kernel",
            "variance_scaling",
            f"{DENSE}|{CONV}|{CONV_T}|{MHA}",
            hp=tn,
            name="kernel",
        ),
        R(ANY + r"bias", "zeros", f"{DENSE}|{CONV}|{CONV_T}|{MHA}", name="bias"),
        *_norm_rules(prelu=None),
    ]
    return Policy(rules, fallback="keep", unused="ignore", name="haiku_like")


PRESETS: dict[str, Callable[..., Policy]] = {
    "torch_like": torch_like,
    "tf_like": tf_like,
    "tf1_like": tf1_like,
    "flax_default": flax_default,
    "haiku_like": haiku_like,
}
# The ported-model presets (Hugging Face, timm, torchvision): jaxinit/_src/ported_presets.py.
PRESETS.update(PORTED)


def get(name: str, **options: Any) -> Policy:
    """The preset `name`, built with its options.

    Args:
      name: one of `names()` ("torch_like", "hf_gpt2", ...).
      **options: the preset's own options, e.g. `tf_like`'s `attention_fans` or `hf_gpt2`'s
        `n_layer`.

    Returns:
      A new Policy.

    Raises:
      UnknownNameError: for an unknown name, with a did-you-mean and the valid names.
      HyperparameterError: for an option the preset does not take (with a did-you-mean and
        the valid options) or a value out of range.

    >>> get("tf_like", attention_fans="rank3").name
    'tf_like'
    >>> get("hf_gpt2", n_layer=2).variables["n_layer"]
    2
    """
    if name not in PRESETS:
        raise unknown(
            "preset or policy file",
            name,
            PRESETS,
            where="load_policy",
        )
    builder = PRESETS[name]
    valid = list(inspect.signature(builder).parameters)
    for option in options:
        if option not in valid:
            raise HyperparameterError(
                f"preset {name!r}: unknown option {option!r}.{did_you_mean(option, valid)} "
                f"Valid: {', '.join(valid) or 'none (it takes no options)'}."
            )
    return builder(**options)


def names() -> list[str]:
    """The names of the shipped presets, in `get`'s order.

    Returns:
      The five framework presets, then the ported-model ones.

    >>> names()[:3]
    ['torch_like', 'tf_like', 'tf1_like']
    """
    return list(PRESETS)
