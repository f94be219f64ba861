"""Loading and saving policies: `ml_collections` config files, JSON and YAML files, presets.

Which to use when:
* a preset name (`"torch_like"`) for the shipped presets;
* a `configs/<name>.py` file with `get_config()` for your own policies: it is Python, so it can
  compute rules, and it can be overridden on the command line (`--config.policy.fallback=strict`)
  — but loading it RUNS its code, so only load config files you trust;
* a JSON or YAML document (`jaxinit.save_policy(p, "p.json")` / `"p.yaml"`) for anything
  received from elsewhere: it executes no code (YAML is read with `yaml.safe_load`) and is
  validated against a schema, field by field, with errors naming the offending field.

This module reads and writes files and text; the schema of a policy document is checked in
one place, `Policy.from_dict` (and `Rule.from_dict` for each rule).
"""

from __future__ import annotations

import ast
import importlib.util
import os
from typing import Any

import ml_collections
import yaml

from jaxinit._src import presets
from jaxinit._src.errors import ConfigError, JaxinitError
from jaxinit._src.policy import Policy


def policy_from_json(text: str, where: str = "policy JSON") -> Policy:
    """A policy from JSON text (see `Policy.from_json`).

    Args:
      text: the JSON text.
      where: how messages name the document (a file name).

    Returns:
      The validated Policy.
    """
    return Policy.from_json(text, where=where)


def policy_from_yaml(text: str, where: str = "policy YAML") -> Policy:
    """A policy from YAML text, read with `yaml.safe_load` (no code runs; PyYAML comes with
    Flax) and validated by `Policy.from_dict`.

    Args:
      text: the YAML text.
      where: how messages name the document (a file name).

    Returns:
      The validated Policy.

    Raises:
      ConfigError: for text that is not YAML (a `!!python/...` tag included), or a document
        that does not fit the schema.
    """
    try:
        d = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML: {e}") from None
    return Policy.from_dict(d, where=where)


def policy_to_config(policy: Policy) -> ml_collections.ConfigDict:
    """The policy as a ConfigDict (see `Policy.to_config`)."""
    return policy.to_config()


def policy_from_config(cfg: Any, where: str = "config") -> Policy:
    """A policy from a ConfigDict, or a config with a `policy` field (see
    `Policy.from_config`)."""
    return Policy.from_config(cfg, where=where)


def load_config_file(path: str) -> Any:
    """Runs a Python config file and returns its `get_config()` (TRUSTED files only).

    Args:
      path: the file; `path.py:arg` passes `arg` to `get_config(arg)`, as `config_flags`
        does, and `path.py:key=value,key=value` calls `get_config(key=value, ...)` with each
        value read as a Python literal (`None`, `True`, `64`, `0.05`; a bare word stays a
        string).

    Returns:
      What `get_config()` returns (a ConfigDict, for the files under `configs/`).

    Raises:
      ConfigError: for a file that does not exist, fails to run or has no `get_config`.

    >>> import pathlib, tempfile
    >>> path = str(pathlib.Path(tempfile.mkdtemp()) / "my_config.py")
    >>> _ = pathlib.Path(path).write_text("def get_config(arg=None): return {'arg': arg}")
    >>> load_config_file(path + ":small")
    {'arg': 'small'}
    >>> load_config_file(path + ":arg=64")
    {'arg': 64}
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
    args, kwargs = ((), _options(path, arg)) if arg and "=" in arg else ((arg,) if arg else (), {})
    try:
        return module.get_config(*args, **kwargs)
    except JaxinitError as e:
        raise ConfigError(f"config file {path!r}: {e}") from None
    except TypeError as e:  # get_config does not take this argument
        raise ConfigError(f"config file {path!r}: get_config({arg or ''}) failed: {e}") from None


def _options(path: str, arg: str) -> dict[str, Any]:
    """`"k=v,k=v"` -> {k: v}, each value a Python literal or else the bare string."""
    options = {}
    for item in arg.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise ConfigError(
                f"config file {path!r}: argument {item.strip()!r} is not key=value (the "
                "argument is one word, or key=value items separated by commas)."
            )
        key, value = (part.strip() for part in item.split("=", 1))
        try:
            options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[key] = value
    return options


def load_policy(source: Any) -> Policy:
    """A Policy from a preset name, a `.py` config file, a JSON or YAML file, or a mapping.

    Args:
      source: a `Policy` (returned as it is); a preset name ("torch_like"); a path ending in
        `.json`, `.yaml`/`.yml` (no code runs) or `.py` (`path.py:arg` passes `arg` to its
        `get_config`; the file's code runs); a dict or ConfigDict holding a policy (or a
        config with a `policy` field).

    Returns:
      The validated Policy.

    Raises:
      ConfigError: for a missing or invalid file or document, naming the file and field;
        UnknownNameError for an unknown preset name (with a did-you-mean).

    >>> import jaxinit
    >>> jaxinit.load_policy("torch_like").name
    'torch_like'
    >>> jaxinit.load_policy({"rules": [{"pattern": ".*", "scheme": "zeros"}]}).rules[0].scheme
    'zeros'
    """
    if isinstance(source, Policy):
        return source
    if isinstance(source, (dict, ml_collections.ConfigDict, ml_collections.FrozenConfigDict)):
        return Policy.from_config(source)
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
            return Policy.from_json(f.read(), where=source)
    if source.endswith((".yaml", ".yml")):
        if not os.path.isfile(source):
            raise ConfigError(f"policy file {source!r} does not exist.")
        with open(source) as f:
            return policy_from_yaml(f.read(), where=source)
    if source.endswith(".py") or ".py:" in source:
        return Policy.from_config(load_config_file(source), where=source)
    return presets.get(source)


def save_policy(policy: Policy, path: str | os.PathLike) -> None:
    """Writes `policy` as JSON, or YAML for a `.yaml`/`.yml` path (the code-free formats).

    Args:
      policy: the policy.
      path: the file to write; `load_policy(path)` reads it back.

    Returns:
      None.
    """
    path = os.fspath(path)
    with open(path, "w") as f:
        if path.endswith((".yaml", ".yml")):
            yaml.safe_dump(policy.to_dict(), f, sort_keys=False)
        else:
            f.write(policy.to_json() + "\n")
