"""The five config files load, build their policies, equal the presets and round-trip."""

import json

import ml_collections
import pytest

import jaxinit

PRESETS = ["torch_like", "tf_like", "tf1_like", "flax_default", "haiku_like"]


@pytest.mark.parametrize("name", PRESETS)
def test_config_file_builds_the_preset(name):
    cfg = jaxinit.load_config_file(f"configs/{name}.py")
    assert isinstance(cfg, ml_collections.ConfigDict)
    policy = jaxinit.load_policy(f"configs/{name}.py")
    assert policy == jaxinit.preset(name) == jaxinit.preset(name)
    assert policy.name == name and policy.rules


@pytest.mark.parametrize("name", PRESETS)
def test_round_trips(name, tmp_path):
    policy = jaxinit.preset(name)
    assert jaxinit.Policy.from_config(policy.to_config()) == policy
    assert jaxinit.Policy.from_json(policy.to_json()) == policy
    for ext in ("json", "yaml"):
        path = str(tmp_path / f"p.{ext}")
        jaxinit.save_policy(policy, path)
        assert jaxinit.load_policy(path) == policy
    json.loads(policy.to_json())  # plain JSON, no custom types


def test_config_override_like_the_command_line():
    cfg = jaxinit.load_config_file("configs/torch_like.py")
    cfg.fallback = "strict"
    assert jaxinit.load_policy(cfg).fallback == "strict"
    cfg.fallback = "strct"
    with pytest.raises(jaxinit.ConfigError, match=r"fallback.*Did you mean 'strict'"):
        jaxinit.load_policy(cfg)


def test_tf_like_option():
    p = jaxinit.load_policy("configs/tf_like.py:rank3")
    assert p == jaxinit.preset("tf_like", attention_fans="rank3")
    assert p != jaxinit.preset("tf_like")
    with pytest.raises(jaxinit.ConfigError, match="attention_fans"):
        jaxinit.load_policy("configs/tf_like.py:rank4")


def test_preset_rejects_an_unknown_option_with_did_you_mean():
    with pytest.raises(jaxinit.HyperparameterError, match=r"unknown option 'n_layers'\. Did you"):
        jaxinit.preset("hf_gpt2", n_layers=6)
    with pytest.raises(jaxinit.HyperparameterError, match=r"takes no options"):
        jaxinit.preset("torch_like", std=1.0)


def test_config_file_key_value_arguments_are_python_literals(tmp_path):
    path = tmp_path / "opts.py"
    path.write_text("def get_config(**options):\n    return options\n")
    got = jaxinit.load_config_file(f"{path}:a=64,b=None,c=0.5,d=word,e=True")
    assert got == {"a": 64, "b": None, "c": 0.5, "d": "word", "e": True}
    assert jaxinit.load_policy("configs/tf_like.py:attention_fans=rank3") == jaxinit.preset(
        "tf_like", attention_fans="rank3"
    )
    with pytest.raises(jaxinit.ConfigError, match=r"argument 'x' is not key=value"):
        jaxinit.load_config_file(f"{path}:a=1,x")
    with pytest.raises(jaxinit.ConfigError, match=r"get_config\(rank3\) failed"):
        jaxinit.load_config_file(f"{path}:rank3")
