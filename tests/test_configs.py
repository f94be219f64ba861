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
