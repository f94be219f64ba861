"""The policy engine on its own: rules, matching, build-time errors, reports, serialisation.

These tests build `ParamSpec`s by hand (what the Linen/NNX/pytree adapters produce) and call
`Policy.resolve`, so nothing is sampled; the adapters are tested on real models elsewhere.
"""

import copy
import dataclasses
import json
import math
import pickle
import warnings

import jax.numpy as jnp
import ml_collections
import pytest

import jaxinit
from jaxinit import ModuleInfo, ParamSpec, Policy, Rule

F32 = jnp.float32


def mod(path, *types, **attrs):
    """A module whose classes are Flax's own where Flax has a class of that name (preset rules
    match only those: `module="flax:..."`)."""
    import flax.linen as nn

    flax = tuple(f"flax.linen.{t}" for t in types if isinstance(getattr(nn, t, None), type))
    return ModuleInfo(path, tuple(types), attrs, flax)


def spec(path, shape, *modules):
    return ParamSpec(path, tuple(shape), F32, tuple(modules))


# A small "model": two Dense layers, one user-named, a user class wrapping a Conv, an LSTM cell.
BLOCK = mod("encoder", "Block", "Module")
SPECS = [
    spec("params/Dense_0/kernel", (8, 16), mod("Dense_0", "Dense", "Module")),
    spec("params/Dense_0/bias", (16,), mod("Dense_0", "Dense", "Module")),
    spec("params/proj/kernel", (16, 4), mod("proj", "Dense", "Module")),
    spec("params/proj/bias", (4,), mod("proj", "Dense", "Module")),
    spec(
        "params/encoder/stem/kernel",
        (3, 3, 2, 6),
        mod("encoder/stem", "Conv", "Module", feature_group_count=1),
        BLOCK,
    ),
    spec(
        "params/encoder/stem/bias",
        (6,),
        mod("encoder/stem", "Conv", "Module", feature_group_count=1),
        BLOCK,
    ),
    spec(
        "params/cell/hi/kernel",
        (5, 5),
        mod("cell/hi", "Dense", "Module"),
        mod("cell", "LSTMCell", "RNNCellBase", "Module", features=5),
    ),
]


def resolve(policy, specs=SPECS):
    return policy.resolve(specs).by_path()


def quiet(**kw):
    return dict(unused="ignore", **kw)


# --------------------------------------------------------------------------------------------
# Matching.


def test_first_matching_rule_wins():
    p = Policy(
        [
            Rule(r"params/proj/kernel", "zeros", name="specific"),
            Rule(r".*kernel", "glorot_uniform", name="general"),
            Rule(r"params/proj/.*", "ones", name="never first"),
        ],
        **quiet(),
    )
    d = resolve(p)
    assert d["params/proj/kernel"].rule.name == "specific"
    assert d["params/proj/kernel"].rule_index == 0
    assert d["params/Dense_0/kernel"].rule.name == "general"
    assert d["params/encoder/stem/kernel"].rule.name == "general"
    assert d["params/proj/bias"].rule.name == "never first"
    assert d["params/Dense_0/bias"].covered is False
    # Swapping the order changes the winner: the order is the semantics.
    p2 = Policy([p.rules[1], p.rules[0], p.rules[2]], **quiet())
    assert resolve(p2)["params/proj/kernel"].rule.name == "general"


def test_pattern_is_fullmatch_not_search():
    p = Policy(
        [Rule(r"kernel", "zeros", optional=True), Rule(r"params/proj", "zeros", optional=True)]
    )
    assert not any(d.covered for d in resolve(p).values())
    assert resolve(Policy([Rule(r".*kernel", "zeros")]))["params/proj/kernel"].covered


def test_module_type_matching_owner_enclosing_and_bases():
    p = Policy(
        [
            Rule(r".*kernel", "zeros", module="Conv", name="conv"),
            # A user class enclosing the owner matches too (the Conv inside Block).
            Rule(r".*bias", "ones", module="Block", name="in block"),
            # A base class name matches (LSTMCell's base RNNCellBase).
            Rule(r".*", "orthogonal", module="RNNCellBase", name="cells"),
            Rule(r".*kernel", "glorot_uniform", module="Dense|Linear", name="dense"),
        ],
        **quiet(),
    )
    d = resolve(p)
    assert d["params/encoder/stem/kernel"].rule.name == "conv"
    assert d["params/encoder/stem/bias"].rule.name == "in block"
    assert d["params/cell/hi/kernel"].rule.name == "cells"
    assert d["params/proj/kernel"].rule.name == "dense"  # user-named Dense, matched by type
    assert d["params/Dense_0/kernel"].rule.name == "dense"
    assert not d["params/proj/bias"].covered  # not in a Block, and "dense" needs a kernel
    # The module regex is a fullmatch too: "Den" is not "Dense".
    p2 = Policy([Rule(r".*", "zeros", module="Den", optional=True)])
    assert not any(x.covered for x in resolve(p2).values())


def test_rank_and_shape_filters():
    p = Policy(
        [
            Rule(r".*", "zeros", rank=4, name="rank4"),
            Rule(r".*", "ones", shape=(None, 4), name="to4"),
            Rule(r".*", "glorot_uniform", shape=(8, 16), name="exact"),
            Rule(r".*", "constant", {"value": 0.5}, rank=1, name="vectors"),
        ],
        **quiet(),
    )
    d = resolve(p)
    assert d["params/encoder/stem/kernel"].rule.name == "rank4"
    assert d["params/proj/kernel"].rule.name == "to4"
    assert d["params/Dense_0/kernel"].rule.name == "exact"
    assert {x.rule.name for k, x in d.items() if k.endswith("bias")} == {"vectors"}
    assert not d["params/cell/hi/kernel"].covered  # (5, 5): no rule


def test_context_binding_kernel_fans_hidden_size_module_attr_and_cfg():
    p = Policy(
        [
            Rule(r".*bias", "torch_bias", {"fan_in": "ctx:kernel_fan_in"}, name="bias"),
            Rule(r"params/cell/.*", "torch_rnn", {"hidden_size": "ctx:hidden_size"}),
            Rule(r"params/proj/kernel", "normal_", {"std": "cfg:std"}),
            Rule(r"params/encoder/.*", "constant", {"value": "ctx:module.width"}),
            Rule(r".*", "torch_kernel", {"fan_in": "ctx:fan_out"}),
        ],
        variables={"std": 0.125},
        **quiet(),
    )
    specs = [s for s in SPECS if s.path != "params/encoder/stem/bias"]
    specs[4] = spec(
        "params/encoder/stem/kernel",
        (3, 3, 2, 6),
        mod("encoder/stem", "Conv"),
        mod("encoder", "Block", width=7),
    )
    d = resolve(p, specs)
    assert d["params/Dense_0/bias"].hyperparameters == {"fan_in": 8.0}
    assert d["params/proj/bias"].hyperparameters == {"fan_in": 16.0}
    assert d["params/cell/hi/kernel"].hyperparameters == {"hidden_size": 5}
    assert d["params/proj/kernel"].hyperparameters == {"std": 0.125}
    assert d["params/encoder/stem/kernel"].hyperparameters == {"value": 7}
    assert d["params/Dense_0/kernel"].hyperparameters == {"fan_in": 16.0}


def test_context_that_cannot_be_resolved_names_parameter_and_rule():
    p = Policy([Rule(r".*bias", "torch_bias", {"fan_in": "ctx:kernel_fan_in"}, name="b")])
    with pytest.raises(jaxinit.PolicyError, match=r"'params/lonely/bias'.*rule 'b'.*sibling"):
        p.resolve([spec("params/lonely/bias", (3,))])
    p = Policy([Rule(r".*", "torch_rnn", {"hidden_size": "ctx:hidden_size"}, name="h")])
    with pytest.raises(jaxinit.PolicyError, match=r"'params/x'.*rule 'h'.*hidden size"):
        p.resolve([spec("params/x", (3, 3), mod("", "Dense"))])


def test_group_layout_and_group_errors():
    cell = mod("c", "LSTMCell")
    specs = [spec(f"params/c/h{g}/kernel", (4, 4), mod(f"c/h{g}", "Dense"), cell) for g in "ifgo"]
    rule = dict(group=r"\1", group_member=r"\2", group_order=("i", "f", "g", "o"))
    p = Policy([Rule(r"(.*)/h([ifgo])/kernel", "orthogonal", **rule)])
    d = p.resolve(specs[::-1]).by_path()  # member order comes from group_order, not the input
    assert [d[f"params/c/h{g}/kernel"].group_slice for g in "ifgo"] == [
        (0, 4),
        (4, 8),
        (8, 12),
        (12, 16),
    ]
    assert {x.group_shape for x in d.values()} == {(4, 16)}
    assert {x.group for x in d.values()} == {"params/c"}
    with pytest.raises(jaxinit.PolicyError, match=r"exactly once.*missing \['f'\]"):
        p.resolve(specs[:1] + specs[2:])  # 'f' missing
    bad = specs[:3] + [spec("params/c/ho/kernel", (5, 4), cell)]  # rows differ
    with pytest.raises(jaxinit.ShapeError, match=r"cannot fuse 'params/c/ho/kernel'"):
        p.resolve(bad)
    with pytest.raises(jaxinit.PolicyError, match="group_order"):
        Rule(r"(.*)/k", "orthogonal", group=r"\1")


# --------------------------------------------------------------------------------------------
# Build-time errors name the rule.


def test_invalid_regex_fails_at_build_naming_the_rule():
    with pytest.raises(jaxinit.PolicyError, match=r"rule 'oops'.*invalid regex '\.\*\(kernel'"):
        Rule(r".*(kernel", "zeros", name="oops")
    with pytest.raises(jaxinit.PolicyError, match=r"invalid module regex"):
        Rule(r".*", "zeros", module="Dense(")
    with pytest.raises(jaxinit.PolicyError, match=r"rule '\[' -> zeros: invalid regex"):
        Policy([{"pattern": ".*", "scheme": "zeros"}, {"pattern": "[", "scheme": "zeros"}])


def test_unknown_scheme_fails_at_build_with_did_you_mean():
    with pytest.raises(
        jaxinit.UnknownNameError,
        match=r"rule 'k'.*'glorot_unifrom'.*"
        r"Did you mean 'glorot_uniform'",
    ):
        Rule(r".*", "glorot_unifrom", name="k")


def test_bad_hyperparameter_name_and_value_fail_at_build():
    with pytest.raises(
        jaxinit.HyperparameterError,
        match=r"rule 'n'.*no hyperparameter 'stdev'.*Did you mean 'std'",
    ):
        Rule(r".*", "normal_", {"stdev": 0.1}, name="n")
    with pytest.raises(jaxinit.HyperparameterError, match=r"rule 'b'.*needs.*fan_in"):
        Rule(r".*", "torch_bias", name="b")
    with pytest.raises(jaxinit.HyperparameterError, match=r"rule 'g'"):
        Rule(r".*", "orthogonal", {"gain": "big"}, name="g")


def test_bad_ctx_name_and_missing_cfg_variable_fail_at_build():
    with pytest.raises(
        jaxinit.PolicyError, match=r"rule 'b'.*'kernel_fanin'.*Did you mean 'kernel_fan_in'"
    ):
        Rule(r".*", "torch_bias", {"fan_in": "ctx:kernel_fanin"}, name="b")
    with pytest.raises(
        jaxinit.PolicyError, match=r"rule 'd' \(#0\).*'num_layer'.*Did you mean 'num_layers'"
    ):
        Policy(
            [Rule(r".*", "normal_", {"std": "cfg:num_layer"}, name="d")],
            variables={"num_layers": 4},
        )


def test_shape_the_scheme_cannot_take_names_path_shape_and_rule():
    p = Policy([Rule(r".*", "orthogonal", name="ortho")])
    with pytest.raises(
        jaxinit.ShapeError, match=r"'params/Dense_0/bias' shape \(16,\), rule 'ortho'"
    ):
        p.resolve(SPECS)


def test_bad_policy_options():
    with pytest.raises(jaxinit.UnknownNameError, match="strictt"):
        Policy([], fallback="strictt")
    with pytest.raises(jaxinit.UnknownNameError, match="unused"):
        Policy([], unused="loud")


# --------------------------------------------------------------------------------------------
# Fallbacks and reports.


def test_strict_lists_every_unmatched_path():
    p = Policy([Rule(r".*kernel", "zeros")], fallback="strict", name="s")
    with pytest.raises(jaxinit.PolicyError) as e:
        p.resolve(SPECS)
    msg = str(e.value)
    unmatched = [s.path for s in SPECS if not s.path.endswith("kernel")]
    assert f"{len(unmatched)} parameter(s)" in msg
    for path in unmatched:
        assert path in msg
    assert "params/proj/kernel" not in msg
    # Fully covered: no error.
    Policy([Rule(r".*kernel", "zeros"), Rule(r".*", "ones")], fallback="strict").resolve(SPECS)


def test_keep_leaves_unmatched_uncovered():
    res = Policy([Rule(r".*kernel", "zeros")]).resolve(SPECS)
    assert {d.spec.path for d in res.decisions if not d.covered} == {
        s.path for s in SPECS if s.path.endswith("bias")
    }


def test_unused_required_rule_warns_and_optional_does_not():
    p = Policy(
        [
            Rule(r".*kernel", "zeros"),
            Rule(r".*/kernal", "ones", name="typo"),
            Rule(r".*/embedding", "normal_", optional=True, name="opt"),
        ]
    )
    with pytest.warns(jaxinit.UnusedRuleWarning, match=r"#1 rule 'typo'") as rec:
        res = p.resolve(SPECS)
    assert len(rec) == 1 and "opt" not in str(rec[0].message)
    assert [i for i, _ in res.unused_rules] == [1, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Policy([Rule(r".*kernel", "zeros"), p.rules[2]]).resolve(SPECS)
        p.replace(unused="ignore").resolve(SPECS)


def test_unused_error():
    p = Policy([Rule(r".*/kernal", "ones", name="typo")], unused="error")
    with pytest.raises(jaxinit.PolicyError, match=r"matched no parameter: #0 rule 'typo'"):
        p.resolve(SPECS)


def test_prepend_overrides_a_preset():
    base = jaxinit.preset("torch_like")
    p = base.prepend(Rule(r"params/proj/kernel", "zeros", name="mine"))
    assert p.rules[0].name == "mine" and p.rules[1:] == base.rules
    assert p.fallback == base.fallback and p.name == base.name
    d = resolve(p)
    assert d["params/proj/kernel"].scheme == "zeros"
    assert d["params/Dense_0/kernel"].scheme == "torch_kernel"
    assert resolve(base)["params/proj/kernel"].scheme == "torch_kernel"
    assert len(base.rules) == len(p.rules) - 1  # the preset is not mutated


def test_policy_and_rule_are_immutable():
    p = Policy([Rule(r".*", "normal_", {"std": "cfg:std"})], variables={"std": 0.02})
    before = p.to_dict()
    for name, value in (("rules", ()), ("fallback", "strict"), ("name", "x"), ("new", 1)):
        with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot set '{name}'"):
            setattr(p, name, value)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete 'rules'"):
        del p.rules
    with pytest.raises(TypeError, match="immutable"):
        p.variables["std"] = 1.0
    with pytest.raises(TypeError, match="immutable"):
        p.variables.update(std=1.0)
    r = p.rules[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.scheme = "zeros"
    with pytest.raises(TypeError, match="immutable"):
        r.hyperparameters["std"] = 1.0
    with pytest.raises(TypeError, match="immutable"):
        Rule(r".*", "zeros", module_attrs={"use_bias": True}).module_attrs.pop("use_bias")
    assert p.to_dict() == before and p.variables == {"std": 0.02}
    # Frozen mappings still copy, pickle and serialise as plain dicts.
    assert copy.deepcopy(p) == p and pickle.loads(pickle.dumps(p)) == p
    assert json.loads(p.to_json())["variables"] == {"std": 0.02}
    assert type(p.to_dict()["rules"][0]["hyperparameters"]) is dict


def test_replace_prepend_append_return_new_policies():
    p = Policy([Rule(r".*bias", "zeros")], name="base")
    q = p.append(Rule(r".*", "ones")).prepend(Rule(r".*kernel", "normal_"))
    assert [r.scheme for r in q.rules] == ["normal_", "zeros", "ones"] and q.name == "base"
    assert [r.scheme for r in p.rules] == ["zeros"]
    assert p.replace(fallback="strict").fallback == "strict" and p.fallback == "keep"
    with pytest.raises(jaxinit.UnknownNameError, match=r"unknown Policy argument 'fallbak'"):
        p.replace(fallbak="strict")


# --------------------------------------------------------------------------------------------
# Policies are data.

RICH = Policy(
    [
        Rule(
            r"(.*)/h([ifgo])/kernel",
            "orthogonal",
            {"gain": 2.0},
            module="LSTMCell",
            group=r"\1",
            group_member=r"\2",
            group_order=("i", "f", "g", "o"),
            name="rec",
        ),
        Rule(
            r".*bias",
            "torch_bias",
            {"fan_in": "ctx:kernel_fan_in", "terms": (2, 1)},
            rank=1,
            optional=True,
        ),
        Rule(r".*", "normal_", {"std": "cfg:std"}, shape=(None, 4), raw_shape=True),
    ],
    fallback="strict",
    unused="error",
    variables={"std": 0.02, "depth": 3},
    name="rich",
)


@pytest.mark.parametrize("name", ["rich"] + jaxinit.preset_names())
def test_configdict_and_json_round_trips(name, tmp_path):
    p = RICH if name == "rich" else jaxinit.load_policy(name)
    cfg = p.to_config()
    assert isinstance(cfg, ml_collections.ConfigDict)
    assert Policy.from_config(cfg) == p
    assert Policy.from_config(ml_collections.ConfigDict({"policy": cfg})) == p
    text = p.to_json()
    json.loads(text)  # valid JSON
    q = Policy.from_json(text)
    assert q == p and q.rules == p.rules and q.variables == p.variables
    assert q.fallback == p.fallback and q.unused == p.unused and q.name == p.name
    jaxinit.save_policy(p, str(tmp_path / "p.json"))
    assert jaxinit.load_policy(str(tmp_path / "p.json")) == p
    # Same decisions after the round trip.
    specs = [s for s in SPECS if "cell" not in s.path]
    lax = dict(unused="ignore", fallback="keep")
    a = [
        (d.spec.path, d.scheme, d.hyperparameters)
        for d in q.replace(**lax).resolve(specs).decisions
    ]
    b = [
        (d.spec.path, d.scheme, d.hyperparameters)
        for d in p.replace(**lax).resolve(specs).decisions
    ]
    assert a == b and any(d[1] is not None for d in a)


def test_config_override_changes_the_policy():
    cfg = RICH.to_config()
    cfg.fallback = "keep"
    cfg.rules[2].hyperparameters.std = "cfg:depth"
    q = Policy.from_config(cfg)
    assert q.fallback == "keep" and q.rules[2].hyperparameters == {"std": "cfg:depth"}
    assert q != RICH


def test_documents_are_validated_field_by_field():
    d = RICH.to_dict()
    d["rules"][0]["scheme"] = "orthogonl"
    with pytest.raises(jaxinit.ConfigError, match=r"rules\[0\].*Did you mean 'orthogonal'"):
        Policy.from_dict(d)
    d = RICH.to_dict()
    d["rules"][1]["patern"] = ".*"
    with pytest.raises(jaxinit.ConfigError, match=r"rules\[1\].*'patern'.*Did you mean 'pattern'"):
        Policy.from_dict(d)
    with pytest.raises(jaxinit.ConfigError, match=r"rules\[0\]\.rank"):
        Policy.from_json('{"rules": [{"pattern": ".*", "scheme": "zeros", "rank": "2"}]}')
    with pytest.raises(jaxinit.ConfigError, match="not valid JSON"):
        Policy.from_json("{rules: []}")


def test_resolve_samples_nothing_and_reports_fans():
    res = Policy([Rule(r".*kernel", "glorot_uniform")], **quiet()).resolve(SPECS)
    d = res.by_path()["params/encoder/stem/kernel"]
    assert d.sample_shape == (3, 3, 2, 6) and d.initializer().scheme == "glorot_uniform"
    st = d.initializer().stats(d.sample_shape)
    assert math.isclose(st.high, math.sqrt(6 / (18 + 54)), rel_tol=1e-12)
