"""The entry points: `init`, `apply`, `explain`, `diff`, for Linen, NNX and plain pytrees."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
from flax import nnx

from jaxinit._src import linen as linen_lib
from jaxinit._src import nnx as nnx_lib
from jaxinit._src import paths as paths_lib
from jaxinit._src import pytree as pytree_lib
from jaxinit._src import sharding as sharding_lib
from jaxinit._src.config import load_policy
from jaxinit._src.draw import draw
from jaxinit._src.errors import JaxinitError
from jaxinit._src.policy import Policy, Resolution, UnusedRuleWarning
from jaxinit._src.report import Explanation, PolicyDiff, diff_rows, explain_rows
from jaxinit._src.types import PRNGKey


def _policy(policy: Any) -> Policy:
    if policy is None:
        raise JaxinitError(
            "a policy is required: pass policy=jaxinit.load_policy('torch_like'), a preset name, "
            "a config file path or a Policy."
        )
    return load_policy(policy)


def _linen_resolve(model, key, args, kwargs, policy, method):
    abstract, modules, inner = linen_lib.trace(model, key, *args, method=method, **kwargs)
    specs, boxes, others = linen_lib.specs_from_abstract(abstract, modules, inner)
    return abstract, specs, boxes, others, policy.resolve(specs)


def init(
    target: Any,
    key: PRNGKey,
    *args: Any,
    policy: Any,
    method: Any = None,
    mesh: Any = None,
    partition_rules: Any = None,
    logical_axis_rules: Any = None,
    **kwargs: Any,
) -> Any:
    """Initializes `target` under `policy`.

    * Linen module: `jaxinit.init(model, key, *example_inputs, policy=...)` returns the
      variables `model.init(key, *example_inputs)` would, with the policy applied (boxed
      partitioning metadata preserved).
    * NNX module (constructed, or abstract from `nnx.eval_shape`): re-initializes its variables
      in place and returns the module.
    * Any other pytree: same as `jaxinit.apply(policy, key, tree)`; returns a new tree.

    Every covered parameter is drawn exactly once, with the key `fold_in(key, hash(path))`.
    Nothing is changed if an error is raised. For a Linen module `key` may also be the rng dict
    `model.init` takes (`{"params": k1, "dropout": k2}`): "params" gives the keys, the other
    streams go to the module.

    With `mesh=`, every Linen variable is created directly sharded (see `sharding.py`): by
    `partition_rules` (`[(regex, PartitionSpec)]`, else the policy's own), then by Flax
    partitioning metadata (`logical_axis_rules` for logical names), else replicated. Values
    are bit-identical to the unsharded result with the same key.
    """
    if isinstance(key, Mapping) and isinstance(target, nn.Module):
        for name, k in key.items():
            paths_lib.check_key(k, where=f"key[{name!r}]")
        linen_lib.params_key(key)  # a clear error without a "params" stream
        root = key["params"]
    else:
        if isinstance(key, Mapping):
            raise JaxinitError(
                f"an rng dict ({sorted(key)}) is what a Linen model.init takes; "
                f"jaxinit.init on a {type(target).__name__} takes one PRNG key."
            )
        paths_lib.check_key(key)
        root = key
    policy = _policy(policy)
    if isinstance(target, nn.Module):
        bad = sorted(set(kwargs) & {"mutable", "capture_intermediates", "rngs"})
        if bad:
            raise JaxinitError(
                f"jaxinit.init takes no {', '.join(bad)}=: it returns the variables "
                "model.init(key, *inputs) returns with its defaults (sown intermediates are "
                "left out, as Flax does). Other keyword arguments go to the module's method."
            )
        abstract, specs, boxes, others, res = _linen_resolve(
            target, key, args, kwargs, policy, method
        )
        shardings = None
        if mesh is not None:
            rules = partition_rules if partition_rules is not None else policy.partition_rules
            shardings = sharding_lib.shardings_for(
                {s.path: s.shape for s in specs}, boxes, mesh, rules, logical_axis_rules
            )
            # Non-parameters (sown tuples, keys) are created replicated by the module's init.
            shardings.update(sharding_lib.shardings_for({p: () for p in others}, {}, mesh))
        elif partition_rules is not None or logical_axis_rules is not None:
            raise JaxinitError("partition_rules/logical_axis_rules need mesh=.")
        drawn = draw(res.decisions, root, shardings=shardings)
        values = {p: linen_lib.rebox(p, v, boxes) for p, v in drawn.items()}
        missing = [d.spec.path for d in res.decisions if not d.covered] + others
        if missing:
            values.update(
                linen_lib.complete(
                    target,
                    key,
                    missing,
                    *args,
                    method=method,
                    shardings=shardings,
                    **kwargs,
                )
            )
        return linen_lib.assemble(values)
    if mesh is not None:
        raise JaxinitError("sharded initialization (mesh=) is supported for Linen modules.")
    if isinstance(target, nnx.Module):
        if args or kwargs:
            raise JaxinitError("jaxinit.init on an NNX module takes no example inputs.")
        variables, specs = nnx_lib.walk(target)
        res = policy.resolve(specs)
        nnx_lib.check_abstract_covered(variables, res.decisions)
        # Fix: wait until every value is computed before writing any, so an error raised while
        # the (asynchronously dispatched) draw runs leaves the module untouched.
        rngs = nnx_lib.rng_state(target, key)
        # Values land with the sharding the old ones had (an eagerly sharded module stays so).
        sh = sharding_lib.current_shardings(
            {p: v.get_value() for p, v in variables.items()}, res.decisions
        )
        drawn = jax.block_until_ready(draw(res.decisions, key, shardings=sh))
        nnx_lib.write(variables, drawn)
        for var, value in rngs.values():
            var.set_value(value)
        return target
    if args or kwargs:
        raise JaxinitError(
            "jaxinit.init on a pytree takes no example inputs; use jaxinit.apply(policy, key, tree)"
        )
    return apply(policy, key, target)


def apply(policy: Any, key: PRNGKey, tree: Any) -> Any:
    """Re-initializes the leaves of `tree` that a rule covers; other leaves are returned as
    they are (fallback "keep") or rejected (fallback "strict"). Paths only: no module types."""
    paths_lib.check_key(key)
    policy = _policy(policy)
    leaves, paths, treedef, specs = pytree_lib.walk(tree)
    res = policy.resolve(specs)
    typed = [r for r in policy.rules if r.module is not None]
    if specs and typed and not any(d.covered for d in res.decisions):
        # Presets match by module type, which a plain pytree does not carry: without this a
        # preset applied to a Linen params dict would silently change nothing.
        warnings.warn(
            f"policy{' ' + repr(policy.name) if policy.name else ''} covered none of the "
            f"{len(specs)} leaves of this pytree (first: {specs[0].path!r}), so nothing was "
            f"re-initialized. {len(typed)} of its rules match by module type (all preset "
            "rules do), which plain pytrees lack: use jaxinit.init(model, key, *inputs, "
            "policy=...) on the module, or path rules.",
            UnusedRuleWarning,
            stacklevel=2,
        )
    # A sharded leaf keeps its sharding.
    sh = sharding_lib.current_shardings(dict(zip(paths, leaves)), res.decisions)
    drawn = draw(res.decisions, key, shardings=sh)
    new = [drawn.get(p, leaf) for p, leaf in zip(paths, leaves)]
    return jax.tree_util.tree_unflatten(treedef, new)


def resolve(target: Any, *args: Any, policy: Any, method: Any = None, **kwargs: Any) -> Resolution:
    """The decisions for every parameter of `target`, before anything is sampled."""
    policy = _policy(policy)
    if isinstance(target, nn.Module):
        return _linen_resolve(target, jax.random.key(0), args, kwargs, policy, method)[4]
    if isinstance(target, nnx.Module):
        return policy.resolve(nnx_lib.walk(target)[1])
    return policy.resolve(pytree_lib.walk(target)[3])


def explain(
    target: Any,
    *args: Any,
    policy: Any,
    method: Any = None,
    print_table: bool = False,
    **kwargs: Any,
) -> Explanation:
    """One row per parameter: path, module type, shape, dtype, the rule that matched, the
    scheme with its resolved hyperparameters, fan_in/fan_out, theoretical std and bound.
    Nothing is sampled. `print(explanation)` shows the table; `.to_json()` exports it."""
    policy = _policy(policy)
    res = resolve(target, *args, policy=policy, method=method, **kwargs)
    unused = [r.label for _, r in res.unused_rules if not r.optional]
    ex = Explanation(policy.name, explain_rows(res), unused)
    if print_table:
        print(ex)
    return ex


def diff(
    policy_a: Any, policy_b: Any, target: Any, *args: Any, method: Any = None, **kwargs: Any
) -> PolicyDiff:
    """Where two policies disagree on `target`'s parameters (scheme, hyperparameters, std,
    bound), one row per differing parameter."""
    a, b = _policy(policy_a), _policy(policy_b)
    ea = explain(target, *args, policy=a, method=method, **kwargs)
    eb = explain(target, *args, policy=b, method=method, **kwargs)
    return PolicyDiff(a.name, b.name, diff_rows(ea.rows, eb.rows))
