"""The table of bad inputs: what triggers each error, its exact type, and what its message says.

Every case is `Case(id, trigger, error, message)`: calling `trigger()` must raise exactly
`error` (a subclass of `jaxinit.JaxinitError`; or emit it, for a warning), and the message must
contain every entry of `message`: a plain string is a substring, a compiled pattern is searched.
The entries name where the problem is (scheme, rule, parameter path or config field), the bad
value, and what is valid (the choices, a did-you-mean or the valid range).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import jaxinit

K = jax.random.key(0)
HE = jaxinit.HyperparameterError
SH = jaxinit.ShapeError
PO = jaxinit.PolicyError
CO = jaxinit.ConfigError
UN = jaxinit.UnknownNameError


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    trigger: Callable[[], Any]
    error: type[BaseException]
    message: tuple[str | re.Pattern, ...]


CASES: list[Case] = []


def case(id: str, trigger: Callable[[], Any], error: type, *message: str | re.Pattern) -> None:
    CASES.append(Case(id, trigger, error, message))


def build(name: str, **hp: Any) -> Callable[[], Any]:
    return lambda: jaxinit.get(name, **hp)


def call(name: str, shape: Any, dtype: Any = None, **hp: Any) -> Callable[[], Any]:
    return lambda: jaxinit.get(name, **hp)(K, shape, dtype)


def apply(rules: list, tree: Any, **policy_kw: Any) -> Callable[[], Any]:
    return lambda: jaxinit.init(tree, K, policy=jaxinit.Policy(rules, **policy_kw))


R = jaxinit.Rule

# --------------------------------------------------------------------------------------------
# Names: schemes, modes, distributions, nonlinearities (with did-you-mean).

case(
    "unknown_scheme",
    build("glorot_unifrom"),
    UN,
    "unknown scheme 'glorot_unifrom'",
    "Did you mean 'glorot_uniform'",
    re.compile(r"Valid choices: .*he_uniform"),
)
case(
    "unknown_scheme_alias_typo",
    build("kaiming_unifrom"),
    UN,
    "unknown scheme 'kaiming_unifrom'",
    "'kaiming_uniform'",
    "Valid choices:",
)
case("unknown_scheme_not_a_string", build(3), UN, "unknown scheme 3", "Valid choices:")
case(
    "unknown_mode",
    build("variance_scaling", mode="fan_inn"),
    UN,
    "variance_scaling",
    "unknown mode 'fan_inn'",
    "Did you mean 'fan_in'",
    "Valid choices: fan_avg, fan_geo_avg, fan_in, fan_out",
)
case(
    "unknown_mode_torch_has_no_fan_avg",
    build("torch_kaiming_uniform", mode="fan_avg"),
    UN,
    "torch_kaiming_uniform",
    "unknown mode 'fan_avg'",
    "Valid choices: fan_in, fan_out.",
)
case(
    "unknown_distribution",
    build("variance_scaling", distribution="unifrom"),
    UN,
    "variance_scaling",
    "unknown distribution 'unifrom'",
    "Did you mean 'uniform'",
    "truncated_normal",
)
case(
    "unknown_distribution_keras",
    build("keras_variance_scaling", distribution="gaussian"),
    UN,
    "keras_variance_scaling",
    "unknown distribution 'gaussian'",
    "Valid choices: normal",
)
case(
    "unknown_nonlinearity",
    build("torch_kaiming_normal", nonlinearity="rleu"),
    UN,
    "torch_kaiming_normal",
    "unknown nonlinearity 'rleu'",
    "Did you mean 'relu'",
    "leaky_relu",
)
case(
    "unknown_nonlinearity_calculate_gain",
    lambda: jaxinit.calculate_gain("tanhh"),
    UN,
    "calculate_gain",
    "unknown nonlinearity 'tanhh'",
    "Did you mean 'tanh'",
    "selu",
)
case(
    "bad_negative_slope",
    lambda: jaxinit.calculate_gain("leaky_relu", "0.1"),
    HE,
    "calculate_gain",
    "negative_slope '0.1'",
    "pass a float",
)
case(
    "unknown_low_rank",
    build("variance_scaling", low_rank="kera"),
    UN,
    "variance_scaling",
    "unknown low_rank 'kera'",
    "Did you mean 'keras'",
    "error, keras",
)

# Names that mean different things in different frameworks (README "One name, one meaning"):
# the unprefixed name keeps its JAX/Flax meaning, and every hyperparameter error on it names the
# torch / Keras scheme the user may have meant.

case(
    "torch_deprecated_kaiming_uniform",
    build("kaiming_uniform", a=5**0.5),
    HE,
    "scheme 'he_uniform' takes no hyperparameter 'a'",
    "'kaiming_uniform' has JAX/Flax semantics here (= 'he_uniform')",
    "did you mean 'kaiming_uniform_' (torch semantics)?",
)
case(
    "torch_deprecated_kaiming_normal_mode",
    build("kaiming_normal", mode="fan_out", nonlinearity="relu"),
    HE,
    "scheme 'he_normal' takes no hyperparameter 'mode'",
    "did you mean 'kaiming_normal_' (torch semantics)?",
)
case(
    "torch_deprecated_xavier_uniform_gain",
    build("xavier_uniform", gain=2.0),
    HE,
    "scheme 'glorot_uniform' takes no hyperparameter 'gain'",
    "did you mean 'xavier_uniform_' (torch semantics)?",
)
case(
    "torch_deprecated_xavier_normal_gain",
    build("xavier_normal", gain=2.0),
    HE,
    "takes no hyperparameter 'gain'",
    "did you mean 'xavier_normal_' (torch semantics)?",
)
case(
    "torch_normal_std_on_jax_normal",
    build("normal", mean=0.0, std=0.02),
    HE,
    "scheme 'jax_normal' takes no hyperparameter 'mean'",
    "Valid hyperparameters: stddev, dtype",
    "did you mean 'normal_' (torch semantics) or 'RandomNormal' (Keras 3 semantics)?",
)
case(
    "torch_uniform_bounds_on_jax_uniform",
    build("uniform", low=-1.0, high=1.0),
    HE,
    "scheme 'jax_uniform' takes no hyperparameter 'low'",
    "did you mean 'uniform_' (torch semantics) or 'RandomUniform' (Keras 3 semantics)?",
)
case(
    "keras_uniform_bounds_on_jax_uniform",
    build("uniform", minval=-0.05, maxval=0.05),
    HE,
    "takes no hyperparameter 'minval'",
    "'RandomUniform' (Keras 3 semantics)",
)
case(
    "bad_value_on_ambiguous_name",
    build("normal", stddev=-1.0),
    HE,
    "jax_normal: stddev=-1.0 must be >= 0",
    "did you mean 'normal_' (torch semantics)",
)
case(
    "torch_trunc_normal_bounds_on_jax_truncated_normal",
    build("truncated_normal", std=0.02, a=-2.0, b=2.0),
    HE,
    "scheme 'truncated_normal' takes no hyperparameter 'std'",
    "did you mean 'trunc_normal_' (torch semantics) or 'TruncatedNormal' (Keras 3 semantics)?",
)
case(
    "keras_axes_on_jax_he_uniform",
    build("he_uniform", input_axes=[0], output_axes=[1]),
    HE,
    "scheme 'he_uniform' takes no hyperparameter 'input_axes'",
    "did you mean 'HeUniform' (Keras 3 semantics)",
)
case(
    "ambiguous_name_in_rule",
    lambda: R(r".*kernel", "kaiming_uniform", {"a": 0.0}),
    HE,
    "rule '.*kernel' -> kaiming_uniform",
    "did you mean 'kaiming_uniform_' (torch semantics)?",
)
case(
    "keras_axes_not_a_list",
    build("VarianceScaling", input_axes=0, output_axes=[1]),
    HE,
    "keras_variance_scaling: input_axes=0 must be a list of ints or None",
)
case(
    "keras_axes_out_of_range",
    call("VarianceScaling", (4, 5), input_axes=[0], output_axes=[2]),
    SH,
    "keras_variance_scaling: output_axes=2 is out of range for a shape of rank 2",
)
case(
    "constant_array_does_not_broadcast",
    call("Constant", (3, 3), value=np.ones((2, 3))),
    SH,
    "constant: value of shape (2, 3) cannot be broadcast to shape (3, 3)",
)
case(
    "build_time_dtype_not_float",
    build("glorot_uniform", dtype=jnp.int32),
    HE,
    "glorot_uniform: dtype=",
    "use a real floating dtype or complex64/complex128",
)
case(
    "complex_dtype_on_torch_scheme",
    call("kaiming_uniform_", (3, 3), jnp.complex64),
    SH,
    "torch_kaiming_uniform: dtype complex64 is not supported",
)
case(
    "complex_uncorrected_truncated_normal",
    call("variance_scaling", (3, 3), jnp.complex64, distribution="truncated_normal_uncorrected"),
    SH,
    "distribution 'truncated_normal_uncorrected' has no complex form",
)
case(
    "variance_scaling_rank1_default_in_axis",
    call("variance_scaling", (5,)),
    SH,
    "variance_scaling: cannot compute fan_in/fan_out of a shape of rank 1",
    "with the default in_axis=-2",
    "pass explicit in_axis=/out_axis=",
)

# --------------------------------------------------------------------------------------------
# Hyperparameter values: sign, finiteness, type, order, truncation mass.

case("negative_std", build("normal_", std=-1.0), HE, "torch_normal: std=-1.0", "must be >= 0")
case(
    "negative_stddev_random_normal",
    build("random_normal", stddev=-0.1),
    HE,
    "random_normal: stddev=-0.1",
    "must be >= 0",
)
case(
    "negative_stddev_jax_normal",
    build("jax_normal", stddev=-0.1),
    HE,
    "jax_normal: stddev=-0.1",
    "must be >= 0",
)
case(
    "zero_stddev_truncated_normal",
    build("truncated_normal", stddev=0.0),
    HE,
    "truncated_normal: stddev=0.0",
    "must be > 0",
)
case(
    "zero_std_trunc_normal",
    build("trunc_normal", std=0.0),
    HE,
    "trunc_normal: std=0.0",
    "must be > 0",
)
case(
    "zero_stddev_keras_truncated_normal",
    build("keras_truncated_normal", stddev=0),
    HE,
    "keras_truncated_normal: stddev=0",
    "must be > 0",
)
case(
    "negative_scale",
    build("variance_scaling", scale=-1.0),
    HE,
    "variance_scaling: scale=-1.0",
    "must be >= 0",
)
case(
    "zero_scale_keras",
    build("keras_variance_scaling", scale=0.0),
    HE,
    "keras_variance_scaling: scale=0.0",
    "must be > 0",
)
case(
    "negative_scale_jax_uniform",
    build("jax_uniform", scale=-0.5),
    HE,
    "jax_uniform: scale=-0.5",
    "must be >= 0",
)
case(
    "negative_gain_xavier_uniform",
    build("torch_xavier_uniform", gain=-1.0),
    HE,
    "torch_xavier_uniform: gain=-1.0",
    "must be >= 0",
)
case(
    "negative_gain_xavier_normal",
    build("torch_xavier_normal", gain=-2),
    HE,
    "torch_xavier_normal: gain=-2",
    "must be >= 0",
)
case(
    "negative_bound",
    build("symmetric_uniform", bound=-1.0),
    HE,
    "symmetric_uniform: bound=-1.0",
    "must be >= 0",
)
case(
    "negative_factor",
    build("uniform_unit_scaling", factor=-1.0),
    HE,
    "uniform_unit_scaling: factor=-1.0",
    "must be >= 0",
)
case("nan_std", build("normal_", std=float("nan")), HE, "torch_normal: std=nan", "must be finite")
case(
    "inf_mean", build("normal_", mean=float("inf")), HE, "torch_normal: mean=inf", "must be finite"
)
case("nan_gain", build("orthogonal", gain=float("nan")), HE, "orthogonal: gain=nan", "finite")
case("string_std", build("normal_", std="1"), HE, "torch_normal: std='1'", "must be a real number")
case(
    "bool_value", build("constant", value=True), HE, "constant: value=True", "must be a real number"
)
case(
    "low_greater_than_high",
    build("uniform_", low=1.0, high=0.0),
    HE,
    "uniform: low=1.0 > high=0.0",
    "need low <= high",
)
case(
    "minval_greater_than_maxval",
    build("random_uniform", minval=0.5, maxval=-0.5),
    HE,
    "random_uniform: minval=0.5 > maxval=-0.5",
    "need minval <= maxval",
)
case(
    "truncation_lower_above_upper",
    build("truncated_normal", lower=2.0, upper=-2.0),
    HE,
    "truncated_normal",
    "lower < upper",
    "got 2.0 >= -2.0",
)
case(
    "truncation_a_above_b",
    build("trunc_normal", a=1.0, b=-1.0),
    HE,
    "trunc_normal: a=1.0 >= b=-1.0",
    "need a < b",
)
case(
    "truncation_a_equals_b",
    build("trunc_normal", a=0.5, b=0.5),
    HE,
    "trunc_normal: a=0.5 >= b=0.5",
    "need a < b",
)
case(
    "truncation_excludes_all_mass",
    build("truncated_normal", lower=10.0, upper=11.0),
    HE,
    "truncated_normal",
    "[10, 11]",
    "exclude (almost) all of the distribution",
    ">= 1e-06",
)
case(
    "truncation_excludes_all_mass_absolute",
    build("trunc_normal", mean=0.0, std=0.01, a=5.0, b=6.0),
    HE,
    "trunc_normal",
    "[500, 600]",
    "exclude (almost) all of the distribution",
)
case(
    "sparsity_out_of_range",
    build("sparse", sparsity=2.0),
    HE,
    "sparse: sparsity=2.0",
    "must lie in [0, 1]",
)
case(
    "dirac_groups_zero",
    build("dirac", groups=0),
    HE,
    "dirac: groups=0",
    "must be a positive integer",
)
case(
    "terms_zero",
    build("torch_bias", fan_in=4, terms=0),
    HE,
    "torch_bias: terms=0",
    "positive integer",
)
case(
    "forget_gate_out_of_range",
    build("unit_forget_bias", gates=4, forget_gate=4),
    HE,
    "unit_forget_bias: forget_gate=4",
    "[0, gates=4)",
)
case(
    "axis_not_int",
    build("glorot_uniform", in_axis="a"),
    HE,
    "glorot_uniform: in_axis='a'",
    "must be an int or a tuple of ints",
)
case(
    "column_axis_not_int",
    build("orthogonal", column_axis=1.0),
    HE,
    "orthogonal: column_axis=1.0",
    "must be an int",
)
case(
    "padding_idx_not_int",
    build("torch_embedding", padding_idx=1.5),
    HE,
    "torch_embedding: padding_idx=1.5",
    "integer or None",
)
# Hyperparameters the scheme does not take / lacks.
case(
    "hyperparameter_not_taken",
    build("ones", value=2.0),
    HE,
    "jaxinit.get('ones')",
    "takes no hyperparameter 'value'",
    "Valid hyperparameters: (none)",
)
case(
    "hyperparameter_typo",
    build("normal_", stdd=1.0),
    HE,
    "scheme 'torch_normal' takes no hyperparameter 'stdd'",
    "Did you mean 'std'",
    "Valid hyperparameters: mean, std",
)
case(
    "required_hyperparameter_missing",
    build("sparse"),
    HE,
    "scheme 'sparse'",
    "needs the hyperparameter(s) sparsity",
)

# --------------------------------------------------------------------------------------------
# Zero fans: explicit, from context, or overflowing.

case(
    "zero_fan_in_override",
    build("variance_scaling", fan_in=0),
    HE,
    "variance_scaling: fan_in=0",
    "must be > 0",
)
case(
    "zero_fan_out_override",
    build("glorot_uniform", fan_out=0.0),
    HE,
    "glorot_uniform: fan_out=0.0",
    "must be > 0",
)
case("zero_fan_torch_bias", build("torch_bias", fan_in=0), HE, "torch_bias: fan_in=0", "> 0")
case(
    "zero_hidden_size",
    build("torch_rnn", hidden_size=0),
    HE,
    "torch_rnn: hidden_size=0",
    "must be > 0",
)
case(
    "zero_fan_from_context",
    apply(
        [R(r".*bias", "torch_bias", {"fan_in": "ctx:kernel_fan_in"})],
        {"params": {"d": {"kernel": jnp.zeros((0, 4)), "bias": jnp.zeros(4)}}},
    ),
    HE,
    "parameter 'params/d/bias'",
    "torch_bias: fan_in=0.0 must be > 0",
)
case(
    "tiny_fan_overflows",
    call("variance_scaling", (3, 3), fan_in=1e-300),
    SH,
    "variance_scaling",
    "overflows float32",
    re.compile(r"std 1e\+150"),
)
case(
    "constant_overflows_float16",
    call("constant", (3,), jnp.float16, value=1e5),
    SH,
    "constant",
    "overflows float16",
    "65504",
)

# --------------------------------------------------------------------------------------------
# Shapes and dtypes (call time).

case(
    "orthogonal_on_bias",
    call("orthogonal", (4,)),
    SH,
    "orthogonal: shape (4,) has rank 1",
    "needs rank >= 2",
)
case(
    "dirac_on_2d", call("dirac", (4, 4)), SH, "dirac: shape (4, 4) has rank 2", "needs rank 3 to 5"
)
case("dirac_rank_6", call("dirac", (1, 1, 1, 1, 2, 2)), SH, "has rank 6", "rank 3 to 5")
case(
    "delta_orthogonal_on_2d",
    call("delta_orthogonal", (4, 4)),
    SH,
    "delta_orthogonal: shape (4, 4) has rank 2",
    "needs rank 3 to 5",
)
case("eye_rank_3", call("eye", (2, 2, 2)), SH, "eye: shape (2, 2, 2) has rank 3", "needs rank 2")
case(
    "sparse_rank_3",
    call("sparse", (2, 2, 2), sparsity=0.5),
    SH,
    "sparse: shape (2, 2, 2) has rank 3",
    "needs rank 2",
)
case(
    "fans_of_a_bias",
    call("glorot_uniform", (4,)),
    SH,
    "glorot_uniform",
    "rank 1 (4,)",
    "fans need rank >= 2",
    "'torch_bias' or 'zeros'",
)
case(
    "fans_of_a_scalar_torch",
    call("torch_kernel", ()),
    SH,
    "torch_kernel",
    "rank 0 ()",
    "fans need rank >= 2",
)
case(
    "keras_conv_glorot_on_2d",
    call("keras_conv_glorot_uniform", (3, 3)),
    SH,
    "keras_conv_glorot_uniform: shape (3, 3) has rank 2",
    "needs rank >= 3",
)
case(
    "unit_forget_bias_scalar",
    call("unit_forget_bias", ()),
    SH,
    "unit_forget_bias: shape () has rank 0",
    "needs rank >= 1",
)
case(
    "delta_orthogonal_in_above_out",
    call("delta_orthogonal", (3, 5, 4)),
    SH,
    "delta_orthogonal: shape (3, 5, 4) has in=5 > out=4",
    "in <= out",
)
case(
    "dirac_groups_indivisible",
    call("dirac", (3, 3, 4), groups=3),
    SH,
    "dirac: out channels 4",
    "not divisible by groups=3",
)
case(
    "unit_forget_bias_indivisible",
    call("unit_forget_bias", (6,)),
    SH,
    "unit_forget_bias",
    "shape (6,)",
    "not divisible by gates=4",
)
case(
    "in_axis_out_of_range",
    call("glorot_uniform", (3, 3), in_axis=5),
    SH,
    "glorot_uniform: in_axis=5",
    "rank 2",
    "valid axes are -2..1",
)
case(
    "column_axis_out_of_range",
    call("orthogonal", (3, 3), column_axis=5),
    SH,
    "orthogonal: column_axis=5",
    "out of range for shape (3, 3)",
)
case(
    "padding_idx_out_of_range",
    call("torch_embedding", (4, 3), padding_idx=10),
    SH,
    "torch_embedding: padding_idx=10",
    "4 embeddings",
)
case(
    "integer_dtype",
    call("glorot_uniform", (3, 3), jnp.int32),
    SH,
    "glorot_uniform: dtype int32 is not supported",
    "float16, bfloat16, float32",
)
case(
    "unsigned_dtype", call("normal_", (3,), jnp.uint8), SH, "torch_normal: dtype uint8", "floating"
)
case(
    "boolean_dtype",
    call("uniform_", (3, 3), jnp.bool_),
    SH,
    "torch_uniform: dtype bool is not supported",
    "real floating dtype",
    "constant fills also take integer and bool dtypes",
)
case(
    "complex_dtype_constant",
    call("ones", (3,), jnp.complex64),
    SH,
    "ones: dtype complex64 is not supported",
)
case(
    "integer_constant_not_representable",
    call("constant", (3,), jnp.int8, value=300.0),
    SH,
    "constant: value 300 cannot be held exactly by dtype int8",
    "-128 to 127",
)
case(
    "complex_dtype",
    call("normal_", (3, 3), jnp.complex64),
    SH,
    "torch_normal: dtype complex64 is not supported",
    "real floating dtype",
)
case(
    "negative_dimension",
    call("normal_", (3, -1)),
    SH,
    "torch_normal: shape (3, -1) has a negative dimension",
)
case(
    "negative_dimension_orthogonal",
    call("orthogonal", (-3, 4)),
    SH,
    "orthogonal: shape (-3, 4) has a negative dimension",
)
case(
    "non_integer_dimension",
    call("normal_", (3.5, 2)),
    SH,
    "torch_normal: shape (3.5, 2) is not a sequence of integers",
)
case(
    "shape_none",
    call("normal_", None),
    SH,
    "torch_normal: shape None is not a sequence of integers",
)

# --------------------------------------------------------------------------------------------
# Rules (build time).

case(
    "invalid_regex",
    lambda: R(r"params/(.*", "zeros"),
    PO,
    "rule 'params/(.*' -> zeros",
    "invalid regex 'params/(.*'",
    "missing )",
)
case(
    "invalid_module_regex",
    lambda: R(r".*", "zeros", module="Dense("),
    PO,
    "invalid module regex 'Dense('",
)
case(
    "module_not_a_string",
    lambda: R(r".*", "zeros", module=3),
    PO,
    "rule '.*' -> zeros",
    "module must be a regex string, got 3",
)
case("pattern_not_a_string", lambda: R(None, "zeros"), PO, "pattern must be a string, got None")
case(
    "rule_unknown_scheme",
    lambda: R(r".*/kernel", "he_unifrom"),
    UN,
    "rule '.*/kernel' -> he_unifrom",
    "unknown scheme 'he_unifrom'",
    "Did you mean 'he_uniform'",
)
case(
    "rule_hyperparameter_not_taken",
    lambda: R(r".*", "zeros", {"std": 1.0}),
    HE,
    "rule '.*' -> zeros",
    "takes no hyperparameter 'std'",
    "Valid hyperparameters: (none)",
)
case(
    "rule_hyperparameter_typo",
    lambda: R(r".*", "torch_bias", {"fanin": 3}, name="bias"),
    HE,
    "rule 'bias'",
    "takes no hyperparameter 'fanin'",
    "Did you mean 'fan_in'",
)
case(
    "rule_required_hyperparameter_missing",
    lambda: R(r".*", "torch_rnn"),
    HE,
    "rule '.*' -> torch_rnn",
    "needs the hyperparameter(s) hidden_size",
)
case(
    "rule_bad_hyperparameter_value",
    lambda: R(r".*bias", "normal_", {"std": -1}),
    HE,
    "rule '.*bias' -> normal_",
    "std=-1 must be >= 0",
)
case(
    "rule_unknown_context",
    lambda: R(r".*", "torch_bias", {"fan_in": "ctx:kernel_fanin"}),
    PO,
    "fan_in='ctx:kernel_fanin'",
    "unknown context value 'kernel_fanin'",
    "Did you mean 'kernel_fan_in'",
    "ctx:module.<attr>",
)
case(
    "rule_rank_not_int",
    lambda: R(r".*", "zeros", rank="2"),
    PO,
    "rule '.*' -> zeros",
    "rank must be an int >= 0, got '2'",
)
case("rule_rank_negative", lambda: R(r".*", "zeros", rank=-1), PO, "rank must be an int >= 0")
case(
    "rule_shape_not_sequence",
    lambda: R(r".*", "zeros", shape=3),
    PO,
    "shape must be a sequence of integers or None, got 3",
)
case(
    "rule_shape_bad_entry",
    lambda: R(r".*", "zeros", shape=(2, "a")),
    PO,
    "shape must be a sequence of integers >= 0 or None",
    "(2, 'a')",
)
case(
    "rule_optional_not_bool",
    lambda: R(r".*", "zeros", optional="yes"),
    PO,
    "optional must be True or False, got 'yes'",
)
case(
    "rule_group_without_order",
    lambda: R(r"(.*)/q", "zeros", group=r"\1"),
    PO,
    "a group needs group_order",
)
case(
    "rule_group_order_string",
    lambda: R(r"(.*)/q", "zeros", group=r"\1", group_order="qkv"),
    PO,
    "group_order must be a sequence of member names",
    "'qkv'",
)
case(
    "rule_hyperparameters_not_mapping",
    lambda: R(r".*", "zeros", [1]),
    PO,
    "hyperparameters must be a mapping, got [1]",
)
case(
    "policy_unknown_fallback",
    lambda: jaxinit.Policy([], fallback="strcit"),
    UN,
    "Policy: unknown fallback 'strcit'",
    "Did you mean 'strict'",
    "Valid choices: keep, strict",
)
case(
    "policy_unknown_unused",
    lambda: jaxinit.Policy([], unused="eror"),
    UN,
    "unknown unused 'eror'",
    "Did you mean 'error'",
    "error, ignore, warn",
)
case(
    "policy_rule_not_mapping",
    lambda: jaxinit.Policy([3]),
    PO,
    "rule #0: a rule must be a mapping, got int",
)
case(
    "policy_variables_not_mapping",
    lambda: jaxinit.Policy([], variables=3),
    PO,
    "variables must be a mapping, got 3",
)
case(
    "policy_variable_not_set",
    lambda: jaxinit.Policy([R(r".*", "normal_", {"std": "cfg:sd"})], variables={"std": 1}),
    PO,
    "rule '.*' -> normal_ (#0)",
    "std='cfg:sd'",
    "policy variable 'sd', which is not set",
    "Did you mean 'std'",
)

# --------------------------------------------------------------------------------------------
# Policies against a model: context, strictness, unused rules, shapes at their paths.

TREE = {
    "params": {
        "Dense_0": {"kernel": jnp.zeros((3, 4)), "bias": jnp.zeros(4)},
        "Norm_0": {"scale": jnp.ones(4), "bias": jnp.zeros(4)},
    }
}
BIAS_ONLY = {"params": {"Dense_0": {"bias": jnp.zeros(3)}}}

case(
    "context_no_sibling_kernel",
    apply([R(r".*bias", "torch_bias", {"fan_in": "ctx:kernel_fan_in"})], BIAS_ONLY),
    PO,
    "parameter 'params/Dense_0/bias'",
    "rule '.*bias' -> torch_bias (#0)",
    "fan_in='ctx:kernel_fan_in'",
    "cannot be resolved",
    "no sibling kernel",
)
case(
    "context_fans_of_a_bias",
    apply([R(r".*bias", "torch_bias", {"fan_in": "ctx:fan_in"})], BIAS_ONLY),
    PO,
    "parameter 'params/Dense_0/bias'",
    "fan_in='ctx:fan_in'",
    "cannot be resolved",
    "rank 1 (3,)",
)
case(
    "context_no_hidden_size",
    apply([R(r".*bias", "torch_rnn", {"hidden_size": "ctx:hidden_size"})], BIAS_ONLY),
    PO,
    "parameter 'params/Dense_0/bias'",
    "hidden_size='ctx:hidden_size'",
    "no enclosing recurrent cell",
)
case(
    "context_no_module_attribute",
    apply([R(r".*bias", "constant", {"value": "ctx:module.init_value"})], BIAS_ONLY),
    PO,
    "parameter 'params/Dense_0/bias'",
    "no enclosing module has the attribute 'init_value'",
)
case(
    "strict_unmatched_parameters",
    apply([R(r".*/kernel", "glorot_uniform")], TREE, fallback="strict", name="mine"),
    PO,
    "strict policy 'mine'",
    "3 parameter(s) match no rule",
    "params/Dense_0/bias, params/Norm_0/bias, params/Norm_0/scale",
    "fallback='keep'",
)
case(
    "unused_rule_error",
    apply([R(r".*/kernel", "zeros"), R(r".*/kernal", "zeros")], TREE, unused="error"),
    PO,
    "policy: rule(s) matched no parameter",
    "#1 rule '.*/kernal' -> zeros",
)
case(
    "unused_rule_warns",
    apply([R(r".*/kernel", "zeros"), R(r".*/sacle", "ones", name="scale")], TREE),
    jaxinit.UnusedRuleWarning,
    "rule(s) matched no parameter",
    "#1 rule 'scale'",
)
case(
    "scheme_rank_at_path",
    apply([R(r".*", "glorot_uniform")], TREE),
    SH,
    re.compile(r"parameter 'params/(Dense_0|Norm_0)/bias' shape \(4,\)"),
    "rule '.*' -> glorot_uniform",
    "fans need rank >= 2",
)
case(
    "orthogonal_bias_at_path",
    apply([R(r".*/kernel", "zeros"), R(r".*/bias", "orthogonal")], TREE),
    SH,
    re.compile(r"parameter 'params/\w+/bias' shape \(4,\)"),
    "rule '.*/bias' -> orthogonal",
    "needs rank >= 2",
)
case(
    "integer_leaf_at_path",
    apply([R(r".*", "normal_")], {"step": jnp.zeros((), jnp.int32)}),
    SH,
    "parameter 'step' shape ()",
    "dtype int32 is not supported",
)
case(
    "non_array_leaf",
    apply([R(r".*", "normal_")], {"lr": 0.1}),
    SH,
    "pytree leaf 'lr' is a float (0.1), not an array",
    ".shape and .dtype",
)
case(
    "group_member_missing",
    apply(
        [
            R(
                r"(.*)/(q|k)",
                "glorot_uniform",
                group=r"\1/qkv",
                group_member=r"\2",
                group_order=("q", "k", "v"),
            )
        ],
        {"attn": {"q": jnp.zeros((3, 3)), "k": jnp.zeros((3, 3))}},
    ),
    PO,
    "group 'attn/qkv'",
    "missing ['v']",
    "paths: ['attn/",
)
case(
    "group_member_unknown",
    apply(
        [
            R(
                r"(.*)/(q|k|x)",
                "glorot_uniform",
                group=r"\1/qk",
                group_member=r"\2",
                group_order=("q", "k"),
            )
        ],
        {"attn": {"q": jnp.zeros((3, 3)), "k": jnp.zeros((3, 3)), "x": jnp.zeros((3, 3))}},
    ),
    PO,
    "group 'attn/qk' has a member 'x'",
    "not in group_order ['q', 'k']",
)
case(
    "group_shapes_do_not_fuse",
    apply(
        [
            R(
                r"(.*)/(q|k)",
                "glorot_uniform",
                group=r"\1/qk",
                group_member=r"\2",
                group_order=("q", "k"),
            )
        ],
        {"attn": {"q": jnp.zeros((3, 3)), "k": jnp.zeros((4, 3))}},
    ),
    SH,
    "group 'attn/qk' cannot fuse",
    "of shape (4, 3)",
    "of shape (3, 3)",
)
case(
    "policy_missing",
    lambda: jaxinit.init(TREE, K, policy=None),
    jaxinit.JaxinitError,
    "a policy is required",
    "jaxinit.preset('torch_like'",
)


def _nnx_linear():
    return nnx.Linear(3, 4, rngs=nnx.Rngs(0))


case(
    "nnx_with_example_inputs",
    lambda: jaxinit.init(_nnx_linear(), K, jnp.ones((1, 3)), policy="torch_like"),
    jaxinit.JaxinitError,
    "NNX module takes no example inputs",
)
case(
    "nnx_abstract_uncovered",
    lambda: jaxinit.init(
        nnx.eval_shape(_nnx_linear), K, policy=jaxinit.Policy([R(r".*kernel", "glorot_uniform")])
    ),
    PO,
    "abstract NNX module",
    "params/bias",
    "add rules that cover them",
)

case(
    "module_attrs_not_plain",
    lambda: R(r".*", "zeros", module_attrs={"features": [1, 2]}),
    PO,
    "module_attrs must map attribute names to plain values",
    "{'features': [1, 2]}",
)
case(
    "unknown_group_fallback",
    lambda: R(r"(.*)/(q|k)/kernel", "glorot_uniform", group=r"\1", group_order=("q", "k"),
              group_member=r"\2", group_fallback="seperate"),
    UN,
    "unknown group_fallback 'seperate'",
    "Did you mean 'separate'",
    "Valid choices: error, separate",
)  # fmt: skip

# Keys: an int seed or a batch of keys is the usual slip; JAX alone would fail inside fold_in.
case(
    "key_int_seed",
    lambda: jaxinit.init(TREE, 0, policy="torch_like"),
    jaxinit.JaxinitError,
    "key: expected one PRNG key, got int 0",
    "jax.random.key(seed)",
)
case(
    "key_batch_of_typed_keys",
    lambda: jaxinit.init(_nnx_linear(), jax.random.split(K, 3), policy="torch_like"),
    jaxinit.JaxinitError,
    "got an array of (3,) keys",
    "jax.random.PRNGKey(seed)",
)
case(
    "key_batch_of_raw_keys",
    lambda: jaxinit.init(
        nn.Dense(3), jax.random.split(jax.random.PRNGKey(0), 2), jnp.ones((1, 2)), policy="tf_like"
    ),
    jaxinit.JaxinitError,
    "got an array of dtype uint32 and shape (2, 2)",
)
case(
    "key_float_array",
    lambda: jaxinit.init(TREE, jnp.zeros(2), policy="torch_like"),
    jaxinit.JaxinitError,
    "got an array of dtype float32 and shape (2,)",
)

# --------------------------------------------------------------------------------------------
# Policy documents: JSON, YAML, dicts, ConfigDicts, files, presets.

FROM_JSON = jaxinit.Policy.from_json


def _yaml(text: str) -> Callable[[], Any]:
    def load():
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "policy.yaml")
            with open(path, "w") as f:
                f.write(text)
            return jaxinit.load_policy(path)

    return load


def _file(name: str, text: str, load: Callable[[str], Any] = jaxinit.load_policy):
    def run():
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, name)
            with open(path, "w") as f:
                f.write(text)
            return load(path)

    return run


case(
    "config_misspelt_key",
    lambda: jaxinit.load_policy({"rules": [], "fallbak": "keep"}),
    CO,
    "config: unknown field 'fallbak'",
    "Did you mean 'fallback'",
    "Valid fields: name,",
)
case(
    "config_misspelt_rule_key",
    lambda: jaxinit.load_policy({"rules": [{"pattern": ".*", "schema": "zeros"}]}),
    CO,
    "config.rules[0]: unknown field 'schema'",
    "Did you mean 'scheme'",
    "Valid fields: pattern",
)
case(
    "configdict_misspelt_key",
    lambda: jaxinit.load_policy(
        __import__("ml_collections").ConfigDict(
            {"policy": {"rules": [], "fallback": "keep", "unsued": "warn"}}
        )
    ),
    CO,
    "config.policy: unknown field 'unsued'",
    "Did you mean 'unused'",
)
case(
    "json_wrong_type_rank",
    lambda: FROM_JSON(
        '{"rules": [{"pattern": "a", "scheme": "zeros"},'
        ' {"pattern": ".*", "scheme": "zeros", "rank": "2"}]}'
    ),
    CO,
    "policy JSON.rules[1].rank: must be an integer or null, got '2'",
)
case(
    "json_bool_for_int",
    lambda: FROM_JSON('{"rules": [{"pattern": ".*", "scheme": "zeros", "rank": true}]}'),
    CO,
    "policy JSON.rules[0].rank: must be an integer or null, got True",
)
case(
    "json_float_for_int",
    lambda: FROM_JSON('{"rules": [{"pattern": ".*", "scheme": "zeros", "group_axis": 1.0}]}'),
    CO,
    "policy JSON.rules[0].group_axis: must be an integer, got 1.0",
)
case(
    "json_scheme_not_string",
    lambda: FROM_JSON('{"rules": [{"pattern": ".*", "scheme": 3}]}'),
    CO,
    "policy JSON.rules[0].scheme: must be a registry name, got 3",
)
case(
    "json_optional_not_bool",
    lambda: FROM_JSON('{"rules": [{"pattern": ".*", "scheme": "zeros", "optional": "yes"}]}'),
    CO,
    "policy JSON.rules[0].optional: must be true or false, got 'yes'",
)
case(
    "json_shape_bad_entry",
    lambda: FROM_JSON('{"rules": [{"pattern": ".*", "scheme": "zeros", "shape": [2, "a"]}]}'),
    CO,
    "policy JSON.rules[0].shape: must be a list of integers/nulls or null, got [2, 'a']",
)
case(
    "json_group_order_not_list",
    lambda: FROM_JSON(
        '{"rules": [{"pattern": "(.*)", "scheme": "zeros", "group": "g", "group_order": "qkv"}]}'
    ),
    CO,
    "policy JSON.rules[0].group_order: must be a list of strings, got 'qkv'",
)
case(
    "json_rules_not_list",
    lambda: FROM_JSON('{"rules": {"pattern": ".*"}}'),
    CO,
    "policy JSON.rules: must be a list of rules, got dict",
)
case(
    "json_rule_not_mapping",
    lambda: FROM_JSON('{"rules": [".*"]}'),
    CO,
    "policy JSON.rules[0]: a rule must be a mapping, got str",
)
case(
    "json_hyperparameters_not_mapping",
    lambda: FROM_JSON('{"rules": [{"pattern": ".*", "scheme": "zeros", "hyperparameters": [1]}]}'),
    CO,
    "policy JSON.rules[0].hyperparameters: must be a mapping, got [1]",
)
case(
    "json_hyperparameter_wrong_type",
    lambda: FROM_JSON(
        '{"rules": [{"pattern": ".*", "scheme": "normal_", "hyperparameters": {"std": "big"}}]}'
    ),
    CO,
    "policy JSON.rules[0]",
    "torch_normal: std='big' must be a real number",
)
case(
    "json_hyperparameter_typo",
    lambda: FROM_JSON(
        '{"rules": [{"pattern": ".*", "scheme": "normal_", "hyperparameters": {"stdd": 1}}]}'
    ),
    CO,
    "policy JSON.rules[0]",
    "takes no hyperparameter 'stdd'",
    "Did you mean 'std'",
)
case(
    "json_missing_field",
    lambda: FROM_JSON('{"rules": [{"pattern": ".*"}]}'),
    CO,
    re.compile(r"^policy JSON\.rules\[0\]: a rule needs the field 'scheme'\.$"),
)
case(
    "json_invalid_regex",
    lambda: FROM_JSON('{"rules": [{"pattern": "(", "scheme": "zeros"}]}'),
    CO,
    "policy JSON.rules[0]",
    "invalid regex '('",
)
case(
    "json_unknown_scheme",
    lambda: FROM_JSON('{"rules": [{"pattern": ".*", "scheme": "he_unifrom"}]}'),
    CO,
    "policy JSON.rules[0]",
    "unknown scheme 'he_unifrom'",
    "Did you mean 'he_uniform'",
)
case(
    "json_fallback_wrong",
    lambda: FROM_JSON('{"fallback": "strcit", "rules": []}'),
    CO,
    "policy JSON.fallback: 'strcit' is not valid",
    "Did you mean 'strict'",
    "Valid: keep, strict",
)
case(
    "json_fallback_wrong_type",
    lambda: FROM_JSON('{"fallback": 3, "rules": []}'),
    CO,
    "policy JSON.fallback: 3 is not valid",
    "Valid: keep, strict",
)
case(
    "json_variables_not_mapping",
    lambda: FROM_JSON('{"variables": [1], "rules": []}'),
    CO,
    "policy JSON.variables: must be a mapping, got [1]",
)
case(
    "json_name_not_string",
    lambda: FROM_JSON('{"name": 7, "rules": []}'),
    CO,
    "policy JSON.name: must be a string, got 7",
)
case(
    "json_partition_rules_wrong",
    lambda: FROM_JSON('{"partition_rules": [["x", 3]]}'),
    CO,
    "policy JSON.partition_rules: must be a list of [regex, [mesh axis names or null, ...]]",
    "got [['x', 3]]",
)
case(
    "json_not_a_mapping",
    lambda: FROM_JSON("[1, 2]"),
    CO,
    "policy JSON: a policy must be a mapping, got list",
)
case(
    "json_syntax_error",
    lambda: FROM_JSON('{"rules": ['),
    CO,
    "policy JSON: not valid JSON",
    "line 1 column 12",
)
case(
    "json_file_wrong_type",
    _file("p.json", '{"rules": [{"pattern": ".*", "scheme": "zeros", "rank": "2"}]}'),
    CO,
    re.compile(r"p\.json\.rules\[0\]\.rank: must be an integer or null, got '2'"),
)
case(
    "yaml_syntax_error",
    _yaml("rules: [\n - {pattern: "),
    CO,
    re.compile(r"policy\.yaml: not valid YAML"),
)
case(
    "yaml_wrong_type",
    _yaml(
        "rules:\n- pattern: a\n  scheme: zeros\n- pattern: b\n"
        "  scheme: zeros\n- pattern: c\n  scheme: zeros\n  rank: two\n"
    ),
    CO,
    re.compile(r"policy\.yaml\.rules\[2\]\.rank: must be an integer or null, got 'two'"),
)
case(
    "yaml_misspelt_key",
    _yaml("rules: []\nfalback: strict\n"),
    CO,
    "unknown field 'falback'",
    "Did you mean 'fallback'",
)
case(
    "yaml_python_tag_runs_nothing",
    _yaml("rules: !!python/object/apply:builtins.exec ['raise SystemExit(3)']\n"),
    CO,
    "not valid YAML",
    "could not determine a constructor",
    "python/object/apply",
)
case(
    "config_file_missing",
    lambda: jaxinit.load_policy("/nonexistent/dir/policy.py"),
    CO,
    "config file '/nonexistent/dir/policy.py' does not exist",
)
case(
    "config_file_missing_direct",
    lambda: jaxinit.load_config_file("/nonexistent/c.py:arg"),
    CO,
    "config file '/nonexistent/c.py' does not exist",
)
case(
    "json_file_missing",
    lambda: jaxinit.load_policy("/nonexistent/p.json"),
    CO,
    "policy file '/nonexistent/p.json' does not exist",
)
case(
    "yaml_file_missing",
    lambda: jaxinit.load_policy("/nonexistent/p.yml"),
    CO,
    "policy file '/nonexistent/p.yml' does not exist",
)
case(
    "config_file_without_get_config",
    _file("nocfg.py", "X = 1\n"),
    CO,
    re.compile(r"config file '.*nocfg\.py' has no get_config\(\) function"),
)
case(
    "config_file_that_raises",
    _file("boom.py", "raise RuntimeError('oops')\n"),
    CO,
    re.compile(r"config file '.*boom\.py' failed to load: RuntimeError: oops"),
)
case(
    "config_file_misspelt_key",
    _file(
        "typo.py",
        "import ml_collections\n\ndef get_config():\n"
        "    return ml_collections.ConfigDict({'policy': {'rules': [], 'fallbak': 'keep'}})\n",
    ),
    CO,
    re.compile(r"typo\.py\.policy: unknown field 'fallbak'"),
    "Did you mean 'fallback'",
)
case(
    "config_file_returns_non_mapping",
    _file("three.py", "def get_config():\n    return 3\n"),
    CO,
    re.compile(r"three\.py: a policy must be a mapping, got int"),
)
case(
    "preset_typo",
    lambda: jaxinit.load_policy("torch_lik"),
    UN,
    "unknown preset or policy file 'torch_lik'",
    "Did you mean 'torch_like'",
    "Valid choices: flax_default, haiku_like",
)
case(
    "preset_typo_in_init",
    lambda: jaxinit.init(TREE, K, policy="flax_defualt"),
    UN,
    "'flax_defualt'",
    "Did you mean 'flax_default'",
)
case(
    "policy_source_wrong_type",
    lambda: jaxinit.load_policy(3),
    CO,
    "cannot load a policy from a int",
    "a preset name, a .py config file",
)

# --------------------------------------------------------------------------------------------
# Sharding (one CPU device: an abstract mesh stands in for a 2-device one where needed).


class _Dense(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(3)(x)


def _sharded(mesh: Any, partition_rules: Any) -> Callable[[], Any]:
    policy = jaxinit.Policy([R(r".*kernel", "glorot_uniform")])
    return lambda: jaxinit.init(
        _Dense(), K, jnp.ones((1, 5)), policy=policy, mesh=mesh, partition_rules=partition_rules
    )


def _mesh1():
    return jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))


case(
    "mesh_axis_missing",
    lambda: _sharded(_mesh1(), [(r".*kernel", (None, "model"))])(),
    PO,
    "parameter 'params/Dense_0/kernel'",
    "names mesh axis 'model'",
    "which the mesh does not have (axes: data)",
)
case(
    "mesh_dim_indivisible",
    _sharded(jax.sharding.AbstractMesh((2,), ("model",)), [(r".*kernel", (None, "model"))]),
    PO,
    "parameter 'params/Dense_0/kernel' of shape (5, 3)",
    "dimension 3 is not divisible",
    "2 devices of mesh axes ('model',)",
)
case(
    "partition_spec_too_long",
    lambda: _sharded(_mesh1(), [(r".*kernel", (None, "data", None))])(),
    PO,
    "parameter 'params/Dense_0/kernel' of shape (5, 3)",
    "more entries than dimensions",
)
case(
    "partition_rule_invalid_regex",
    lambda: jaxinit.Policy([], partition_rules=[("(", None)]),
    PO,
    "partition rule #0: invalid regex '('",
)
case(
    "partition_rule_bad_spec",
    lambda: jaxinit.Policy([], partition_rules=[(".*", 3)]),
    PO,
    "partition rule #0: 3 is not a PartitionSpec",
)
case(
    "partition_rules_without_mesh",
    lambda: jaxinit.init(
        _Dense(), K, jnp.ones((1, 5)), policy="torch_like", partition_rules=[(".*", None)]
    ),
    jaxinit.JaxinitError,
    "partition_rules/logical_axis_rules need mesh=",
)
case(
    "mesh_on_a_pytree",
    lambda: jaxinit.init(TREE, K, policy="torch_like", mesh=_mesh1()),
    jaxinit.JaxinitError,
    "mesh=",
    "Linen modules",
)
