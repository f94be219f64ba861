"""Loading and saving policies: `ml_collections` config files, JSON documents, preset names.

Which to use when:
* a preset name (`"torch_like"`) for the shipped presets;
* a `configs/<name>.py` file with `get_config()` for your own policies: it is Python, so it can
  compute rules, and it can be overridden on the command line (`--config.policy.fallback=strict`)
  — but loading it RUNS its code, so only load config files you trust;
* a JSON or YAML document (`jaxinit.save_policy(p, "p.json")` / `"p.yaml"`) for anything
  received from elsewhere: it executes no code (YAML is read with `yaml.safe_load`) and is
  validated against a schema, field by field, with errors naming the offending field.
"""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any, Mapping

import ml_collections

from jaxinit._src.errors import ConfigError, JaxinitError, did_you_mean
from jaxinit._src.policy import EXPLICIT_INIT, FALLBACKS, RULE_FIELDS, UNUSED, Policy, Rule

POLICY_FIELDS = (
    "name",
    "fallback",
    "unused",
    "variables",
    "rules",
    "partition_rules",
    "explicit_init",
)

# The schema of a policy document: field -> (accepted types, description).
_RULE_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "pattern": ((str,), "a regex string"),
    "scheme": ((str,), "a registry name"),
    "hyperparameters": ((dict,), "a mapping"),
    "module": ((str, type(None)), "a regex string or null"),
    "module_attrs": ((dict, type(None)), "a mapping of attribute name to value, or null"),
    "rank": ((int, type(None)), "an integer or null"),
    "shape": ((list, tuple, type(None)), "a list of integers/nulls or null"),
    "group": ((str, type(None)), "a template string or null"),
    "group_member": ((str, type(None)), "a template string or null"),
    "group_order": ((list, tuple), "a list of strings"),
    "group_axis": ((int,), "an integer"),
    "group_fallback": ((str,), "'error' or 'separate'"),
    "raw_shape": ((bool,), "true or false"),
    "optional": ((bool,), "true or false"),
    "explicit_init": ((str, type(None)), "'keep', 'override' or null (the policy's)"),
    "name": ((str, type(None)), "a string or null"),
}


def _plain(x: Any) -> Any:
    """ConfigDict/FrozenConfigDict -> plain dicts and lists."""
    if isinstance(x, (ml_collections.ConfigDict, ml_collections.FrozenConfigDict)):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, Mapping):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def policy_from_dict(d: Any, where: str = "policy") -> Policy:
    """Validates a policy document against the schema and builds the Policy."""
    d = _plain(d)
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: a policy must be a mapping, got {type(d).__name__}.")
    for k in d:
        if k not in POLICY_FIELDS:
            raise ConfigError(
                f"{where}: unknown field {k!r}.{did_you_mean(k, POLICY_FIELDS)} "
                f"Valid fields: {', '.join(POLICY_FIELDS)}."
            )
    rules = d.get("rules", [])
    if not isinstance(rules, list):
        raise ConfigError(f"{where}.rules: must be a list of rules, got {type(rules).__name__}.")
    for field, kind in (
        ("fallback", FALLBACKS),
        ("unused", UNUSED),
        ("explicit_init", EXPLICIT_INIT),
    ):
        if field == "explicit_init" and d.get(field) in (None, ""):
            d.pop(field, None)  # not set (a ConfigDict holds "" for None)
        if field in d and d[field] not in kind:
            raise ConfigError(
                f"{where}.{field}: {d[field]!r} is not valid.{did_you_mean(str(d[field]), kind)} "
                f"Valid: {', '.join(kind)}."
            )
    if "variables" in d and not isinstance(d["variables"], dict):
        raise ConfigError(f"{where}.variables: must be a mapping, got {d['variables']!r}.")
    if "name" in d and d["name"] is not None and not isinstance(d["name"], str):
        raise ConfigError(f"{where}.name: must be a string, got {d['name']!r}.")
    prules = d.get("partition_rules", [])
    if not isinstance(prules, list) or any(
        not isinstance(pr, (list, tuple))
        or len(pr) != 2
        or not isinstance(pr[0], str)
        or not isinstance(pr[1], (list, tuple, type(None)))
        for pr in prules
    ):
        raise ConfigError(
            f"{where}.partition_rules: must be a list of [regex, [mesh axis names or null, ...]] "
            f"pairs, got {prules!r}."
        )
    parsed = []
    for i, r in enumerate(rules):
        rw = f"{where}.rules[{i}]"
        if not isinstance(r, dict):
            raise ConfigError(f"{rw}: a rule must be a mapping, got {type(r).__name__}.")
        for k, v in r.items():
            if k not in RULE_FIELDS:
                raise ConfigError(
                    f"{rw}: unknown field {k!r}.{did_you_mean(k, RULE_FIELDS)} "
                    f"Valid fields: {', '.join(RULE_FIELDS)}."
                )
            types, desc = _RULE_TYPES[k]
            if isinstance(v, bool) and bool not in types:
                ok = False
            else:
                ok = isinstance(v, types)
            # Fix: the items of list fields were not checked ("shape": [2, "a"] was accepted).
            if ok and k == "shape" and v is not None:
                ok = all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in v)
            if ok and k == "group_order":
                ok = all(isinstance(m, str) for m in v)
            if not ok:
                raise ConfigError(f"{rw}.{k}: must be {desc}, got {v!r}.")
        try:
            parsed.append(Rule.from_dict(r, where=rw))
        except JaxinitError as e:
            # Rule.from_dict already prefixes its own messages with `rw`: do not repeat it.
            msg = str(e)
            raise ConfigError(msg if msg.startswith(rw + ":") else f"{rw}: {msg}") from None
    try:
        return Policy(
            parsed,
            fallback=d.get("fallback", "keep"),
            unused=d.get("unused", "warn"),
            variables=d.get("variables") or {},
            name=d.get("name"),
            partition_rules=[(pr[0], pr[1]) for pr in prules],
            explicit_init=d.get("explicit_init"),
        )
    except JaxinitError as e:
        raise ConfigError(f"{where}: {e}") from None


def policy_from_json(text: str, where: str = "policy JSON") -> Policy:
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{where}: not valid JSON: {e}.") from None
    return policy_from_dict(d, where=where)


def policy_to_config(policy: Policy) -> ml_collections.ConfigDict:
    """The policy as a ConfigDict (rules as a list of ConfigDicts: overridable, printable)."""
    d = policy.to_dict()
    cfg = ml_collections.ConfigDict()
    cfg.name = d["name"] or ""
    cfg.fallback = d["fallback"]
    cfg.unused = d["unused"]
    cfg.variables = ml_collections.ConfigDict(d["variables"])
    cfg.rules = [ml_collections.ConfigDict(r) for r in d["rules"]]
    cfg.partition_rules = d["partition_rules"]
    cfg.explicit_init = d.get("explicit_init") or ""
    return cfg


def policy_from_config(cfg: Any, where: str = "config") -> Policy:
    """A Policy from a ConfigDict: either the policy itself or a config with a `policy` field."""
    d = _plain(cfg)
    if isinstance(d, dict) and "policy" in d and "rules" not in d:
        d = d["policy"]
        where = f"{where}.policy"
    if isinstance(d, dict) and d.get("name") == "":
        d["name"] = None
    return policy_from_dict(d, where=where)


def load_config_file(path: str):
    """Runs a Python config file and returns its `get_config()` (TRUSTED files only).

    `path.py:arg` passes `arg` to `get_config(arg)`, as `config_flags` does.
    """
    arg = None
    if ":" in path and not os.path.isfile(path):
        path, arg = path.rsplit(":", 1)
    if not os.path.isfile(path):
        raise ConfigError(f"config file {path!r} does not exist.")
    spec = importlib.util.spec_from_file_location(
        f"_jaxinit_config_{abs(hash(path))}", os.path.abspath(path)
    )
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # a config file that fails to run
        raise ConfigError(f"config file {path!r} failed to load: {type(e).__name__}: {e}") from e
    if not hasattr(module, "get_config"):
        raise ConfigError(f"config file {path!r} has no get_config() function.")
    try:
        return module.get_config() if arg is None else module.get_config(arg)
    except JaxinitError as e:
        raise ConfigError(f"config file {path!r}: {e}") from None


def load_policy(source: Any) -> Policy:
    """A Policy from a preset name, a `.py` config file, a `.json` file, a dict or a ConfigDict.

    >>> import jaxinit
    >>> jaxinit.load_policy("torch_like").name
    'torch_like'
    """
    from jaxinit._src import presets

    if isinstance(source, Policy):
        return source
    if isinstance(source, (dict, ml_collections.ConfigDict, ml_collections.FrozenConfigDict)):
        return policy_from_config(source)
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(
            f"load_policy: cannot load a policy from a {type(source).__name__}; pass a preset "
            "name, a .py config file, a .json file or a mapping."
        )
    source = os.fspath(source)
    if source.endswith(".json"):
        if not os.path.isfile(source):
            raise ConfigError(f"policy file {source!r} does not exist.")
        with open(source) as f:
            return policy_from_json(f.read(), where=source)
    if source.endswith((".yaml", ".yml")):
        if not os.path.isfile(source):
            raise ConfigError(f"policy file {source!r} does not exist.")
        with open(source) as f:
            return policy_from_yaml(f.read(), where=source)
    if source.endswith(".py") or ".py:" in source:
        return policy_from_config(load_config_file(source), where=source)
    return presets.get(source)


def policy_from_yaml(text: str, where: str = "policy YAML") -> Policy:
    """A policy from YAML, read with `yaml.safe_load` (no code runs; PyYAML comes with Flax)."""
    import yaml

    try:
        d = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML: {e}") from None
    return policy_from_dict(d, where=where)


def save_policy(policy: Policy, path: str) -> None:
    """Writes `policy` as JSON, or YAML for a `.yaml`/`.yml` path (the code-free formats)."""
    with open(path, "w") as f:
        if path.endswith((".yaml", ".yml")):
            import yaml

            yaml.safe_dump(policy.to_dict(), f, sort_keys=False)
        else:
            f.write(policy.to_json() + "\n")
