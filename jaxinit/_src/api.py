"""The verbs: `init`, `explain`, `diff`, for Linen, NNX and plain pytrees, and `preset`.

Every verb takes the target first (a Linen module, an NNX module or a pytree), then, for
`init`, the PRNG key, then the example inputs a Linen module is traced on, and the policy as
the keyword `policy=`. `policy=` takes a `Policy` or a preset name (`"torch_like"` is
shorthand for `jaxinit.preset("torch_like")`). It does not take a file: a policy file is
loaded with `jaxinit.load_policy(path)`, so that running a `.py` config file (which executes
its code) is always a call the reader can see.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any, Sequence

import flax.linen as nn
import jax
from flax import nnx

from jaxinit._src import linen as linen_lib
from jaxinit._src import nnx as nnx_lib
from jaxinit._src import paths as paths_lib
from jaxinit._src import presets as presets_lib
from jaxinit._src import pytree as pytree_lib
from jaxinit._src import sharding as sharding_lib
from jaxinit._src.draw import draw
from jaxinit._src.errors import JaxinitError, PolicyError, unknown
from jaxinit._src.policy import Policy, Resolution, UnusedRuleWarning
from jaxinit._src.report import Explanation, PolicyDiff, diff_rows, explain_rows
from jaxinit._src.types import PRNGKey

_FILE_SUFFIXES = (".py", ".json", ".yaml", ".yml")


def preset(name: str, **options: Any) -> Policy:
    """The shipped preset `name`, built with its `options`.

    The one way to get a preset; `policy="torch_like"` in `init`/`explain`/`diff` is shorthand
    for `policy=jaxinit.preset("torch_like")`. The same policies are written out as config files
    under `configs/` (`jaxinit.load_policy("configs/torch_like.py")` equals
    `jaxinit.preset("torch_like")`).

    Args:
      name: a preset name, one of `jaxinit.preset_names()` (e.g. "torch_like", "tf_like",
        "hf_gpt2").
      **options: the preset's own options, e.g. `attention_fans="rank3"` for "tf_like" or
        `n_layer=12` for "hf_gpt2".

    Returns:
      The `Policy`, immutable: derive variants with `.prepend(...)` and `.replace(...)`.

    Raises:
      UnknownNameError: `name` is not a preset (the message lists the presets and a
        did-you-mean).

    >>> import jaxinit
    >>> p = jaxinit.preset("tf_like", attention_fans="rank3")
    >>> p.name, p.fallback
    ('tf_like', 'keep')
    >>> jaxinit.preset("hf_gpt2", n_layer=2).variables
    {'n_layer': 2, 'initializer_range': 0.02}
    """
    if not isinstance(name, str) or name not in presets_lib.names():
        raise unknown("preset", name, presets_lib.names(), where="jaxinit.preset")
    return presets_lib.get(name, **options)


def preset_names() -> list[str]:
    """The names `jaxinit.preset` takes, in the order of the README's preset table.

    Returns:
      A new list of preset names.

    >>> import jaxinit
    >>> jaxinit.preset_names()[:5]
    ['torch_like', 'tf_like', 'tf1_like', 'flax_default', 'haiku_like']
    """
    return list(presets_lib.names())


def _policy(policy: Any, verb: str) -> Policy:
    """The Policy that `policy=` names: a Policy, or a preset name (see the module docstring)."""
    if isinstance(policy, Policy):
        return policy
    if policy is None:
        raise JaxinitError(
            f"jaxinit.{verb}: a policy is required: pass policy='torch_like' (a preset name, "
            "see jaxinit.preset_names()) or a Policy (jaxinit.preset('torch_like', **options), "
            "jaxinit.Policy(rules), or jaxinit.load_policy(path) for a file)."
        )
    if isinstance(policy, (str, os.PathLike)):
        text = os.fspath(policy)
        if text in presets_lib.names():
            return presets_lib.get(text)
        if text.endswith(_FILE_SUFFIXES) or ".py:" in text or os.sep in text:
            raise PolicyError(
                f"jaxinit.{verb}: policy={text!r} looks like a file; policy= takes a Policy or "
                f"a preset name. Load the file first: policy=jaxinit.load_policy({text!r})."
            )
        raise unknown("preset", text, presets_lib.names(), where=f"jaxinit.{verb}(policy=...)")
    raise PolicyError(
        f"jaxinit.{verb}: policy= takes a Policy or a preset name, got a "
        f"{type(policy).__name__}. Build a Policy from a mapping or a ConfigDict with "
        "jaxinit.load_policy(...)."
    )


def _linen_resolve(model, key, args, kwargs, policy, method):
    abstract, modules, inner = linen_lib.trace(model, key, *args, method=method, **kwargs)
    specs, boxes, others = linen_lib.specs_from_abstract(abstract, modules, inner)
    return specs, boxes, others, policy.resolve(specs)


def _resolve(target: Any, args, kwargs, policy: Policy, method: Any) -> Resolution:
    """The decisions for every parameter of `target`, before anything is sampled."""
    if isinstance(target, nn.Module):
        return _linen_resolve(target, jax.random.key(0), args, kwargs, policy, method)[3]
    if args or kwargs:
        kind = "an NNX module" if isinstance(target, nnx.Module) else "a pytree"
        raise JaxinitError(f"jaxinit.explain on {kind} takes no example inputs.")
    if isinstance(target, nnx.Module):
        return policy.resolve(nnx_lib.walk(target)[1])
    return policy.resolve(pytree_lib.walk(target)[3])


def init(
    target: Any,
    key: PRNGKey | Mapping[str, PRNGKey],
    *inputs: Any,
    policy: Policy | str,
    method: Any = None,
    mesh: Any = None,
    partition_rules: Any = None,
    logical_axis_rules: Any = None,
    **kwargs: Any,
) -> Any:
    """Initializes `target` under `policy`: a Linen module, an NNX module or a pytree.

    * Linen module: returns the variables `target.init(key, *inputs, **kwargs)` would, with the
      policy applied (boxed partitioning metadata kept). Parameters no rule covers are drawn
      by their module, as `model.init` draws them.
    * NNX module (constructed, or abstract from `nnx.eval_shape`): re-initializes its variables
      in place and returns the module itself.
    * Any other pytree (a params dict, a list, a dataclass): returns a new tree in which the
      leaves a rule covers are drawn again and the others are the same objects. Rules match
      paths only there (a pytree carries no module types), so a preset, whose rules match
      module types, covers nothing and `UnusedRuleWarning` says so.

    Every covered parameter is drawn exactly once, with the key `fold_in(key, hash(path))`
    (`jaxinit.path_key`): renaming or adding a parameter changes no other parameter's values.
    Nothing is changed if an error is raised.

    Args:
      target: a `flax.linen.Module`, a `flax.nnx.Module` or a pytree of arrays.
      key: a PRNG key (`jax.random.key(0)` or `jax.random.PRNGKey(0)`). For a Linen module it
        may also be the rng dict `model.init` takes (`{"params": k1, "dropout": k2}`):
        "params" gives the keys, the other streams go to the module.
      *inputs: the example inputs a Linen module is traced on (shapes only: nothing is
        computed on them); none for NNX modules and pytrees.
      policy: a `Policy`, or a preset name (shorthand for `jaxinit.preset(name)`).
      method: the Linen method to trace, as in `model.init(..., method=...)`.
      mesh: a `jax.sharding.Mesh` (Linen only): every variable is created directly sharded,
        by `partition_rules`, else by Flax partitioning metadata, else replicated. Values are
        bit-identical to the unsharded result with the same key.
      partition_rules: `[(regex, PartitionSpec)]` over parameter paths (default: the policy's
        own `partition_rules`); needs `mesh`.
      logical_axis_rules: the `(logical name, mesh axis)` pairs for Flax logical partitioning
        metadata; needs `mesh`.
      **kwargs: keyword arguments of the Linen method (e.g. `train=False`).

    Returns:
      Linen: the variables dict (`{"params": ..., "batch_stats": ...}`). NNX: `target`,
      re-initialized in place. Pytree: a new pytree of the same structure.

    Raises:
      JaxinitError: a bad key, policy or argument (every message says which and what is
        valid); `PolicyError` when the policy does not fit the model (`fallback="strict"` and
        an uncovered parameter, a rule whose scheme cannot draw that shape, ...).

    A Linen module, under the torch_like preset (PyTorch's `nn.Linear` default: the kernel
    and the bias are U(+-1/sqrt(fan_in))):

    >>> import jax, jax.numpy as jnp, flax.linen as nn, jaxinit
    >>> variables = jaxinit.init(nn.Dense(3), jax.random.key(0), jnp.ones((1, 4)),
    ...                          policy="torch_like")
    >>> jax.tree.map(jnp.shape, variables)
    {'params': {'bias': (3,), 'kernel': (4, 3)}}
    >>> bool(jnp.abs(variables["params"]["kernel"]).max() <= 1 / 4**0.5)
    True

    A pytree: the leaves a rule covers are drawn again, the others are kept:

    >>> tree = {"w": jnp.zeros((2, 2)), "b": jnp.full((2,), 7.0)}
    >>> policy = jaxinit.Policy([jaxinit.Rule("w", "ones")])
    >>> new = jaxinit.init(tree, jax.random.key(0), policy=policy)
    >>> new["w"].tolist(), new["b"].tolist()
    ([[1.0, 1.0], [1.0, 1.0]], [7.0, 7.0])

    An NNX module is re-initialized in place:

    >>> from flax import nnx
    >>> layer = nnx.Linear(4, 3, rngs=nnx.Rngs(0))
    >>> jaxinit.init(layer, jax.random.key(0), policy="torch_like") is layer
    True
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
    policy = _policy(policy, "init")
    if isinstance(target, nn.Module):
        bad = sorted(set(kwargs) & {"mutable", "capture_intermediates", "rngs"})
        if bad:
            raise JaxinitError(
                f"jaxinit.init takes no {', '.join(bad)}=: it returns the variables "
                "model.init(key, *inputs) returns with its defaults (sown intermediates are "
                "left out, as Flax does). Other keyword arguments go to the module's method."
            )
        return _init_linen(
            target, key, root, inputs, kwargs, policy, method, mesh, partition_rules,
            logical_axis_rules,
        )  # fmt: skip
    if mesh is not None:
        raise JaxinitError("sharded initialization (mesh=) is supported for Linen modules.")
    if isinstance(target, nnx.Module):
        if inputs or kwargs:
            raise JaxinitError("jaxinit.init on an NNX module takes no example inputs.")
        return _init_nnx(target, key, policy)
    if inputs or kwargs:
        raise JaxinitError(
            "jaxinit.init on a pytree takes no example inputs: jaxinit.init(tree, key, "
            "policy=...) re-initializes the leaves its rules cover."
        )
    return _init_pytree(target, key, policy)


def _init_linen(
    target, key, root, inputs, kwargs, policy, method, mesh, partition_rules, logical_axis_rules
):
    specs, boxes, others, res = _linen_resolve(target, key, inputs, kwargs, policy, method)
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
                *inputs,
                method=method,
                shardings=shardings,
                **kwargs,
            )
        )
    return linen_lib.assemble(values)


def _init_nnx(target, key, policy):
    variables, specs = nnx_lib.walk(target)
    res = policy.resolve(specs)
    nnx_lib.check_abstract_covered(variables, res.decisions)
    # Every value is computed (and the asynchronous draw finished) before any is written, so an
    # error raised while drawing leaves the module untouched.
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


def _init_pytree(tree, key, policy):
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
            stacklevel=3,  # the caller of jaxinit.init
        )
    # A sharded leaf keeps its sharding.
    sh = sharding_lib.current_shardings(dict(zip(paths, leaves)), res.decisions)
    drawn = draw(res.decisions, key, shardings=sh)
    new = [drawn.get(p, leaf) for p, leaf in zip(paths, leaves)]
    return jax.tree_util.tree_unflatten(treedef, new)


def explain(
    target: Any,
    *inputs: Any,
    policy: Policy | str,
    method: Any = None,
    print_table: bool = False,
    **kwargs: Any,
) -> Explanation:
    """What `init` would do to every parameter of `target`, without sampling anything.

    Args:
      target: a `flax.linen.Module`, a `flax.nnx.Module` (abstract ones too) or a pytree.
      *inputs: the example inputs a Linen module is traced on; none for NNX and pytrees.
      policy: a `Policy`, or a preset name (shorthand for `jaxinit.preset(name)`).
      method: the Linen method to trace.
      print_table: also print the table.
      **kwargs: keyword arguments of the Linen method.

    Returns:
      An `Explanation`: `.rows`, one `ExplainRow` per parameter (path, module type, shape,
      dtype, the rule that matched, the scheme with its resolved hyperparameters,
      fan_in/fan_out, theoretical std and bound); `.unused_rules`, the labels of the
      non-optional rules that matched nothing; `.resolution`, the `Resolution` the rows come
      from (`.decisions`, `.by_path()`, `.unused_rules` as `(index, Rule)` pairs).
      `print(explanation)` shows the table, `.to_json()` exports it.

    >>> import jax.numpy as jnp, flax.linen as nn, jaxinit
    >>> ex = jaxinit.explain(nn.Dense(3), jnp.ones((1, 4)), policy="torch_like")
    >>> [(r.path, r.scheme, round(r.bound, 4)) for r in ex.rows]
    [('params/bias', 'torch_bias', 0.5), ('params/kernel', 'torch_kernel', 0.5)]
    >>> ex.resolution.by_path()["params/kernel"].rule.name
    'kernel'
    """
    policy = _policy(policy, "explain")
    res = _resolve(target, inputs, kwargs, policy, method)
    unused = [r.label for _, r in res.unused_rules if not r.optional]
    ex = Explanation(policy.name, explain_rows(res), unused, resolution=res)
    if print_table:
        print(ex)
    return ex


def diff(
    target: Any,
    *inputs: Any,
    policies: Sequence[Policy | str],
    method: Any = None,
    **kwargs: Any,
) -> PolicyDiff:
    """Where two policies disagree on `target`'s parameters, before anything is sampled.

    Args:
      target: a `flax.linen.Module`, a `flax.nnx.Module` or a pytree.
      *inputs: the example inputs a Linen module is traced on; none for NNX and pytrees.
      policies: the pair `(a, b)` to compare, each a `Policy` or a preset name.
      method: the Linen method to trace.
      **kwargs: keyword arguments of the Linen method.

    Returns:
      A `PolicyDiff`: `.rows`, one `DiffRow` (`.path`, `.a`, `.b`: the two `ExplainRow`s) per
      parameter whose scheme, hyperparameters, std or bound differ. `print(d)` shows the
      table, `.to_json()` exports it.

    >>> import jax.numpy as jnp, flax.linen as nn, jaxinit
    >>> d = jaxinit.diff(nn.Dense(3), jnp.ones((1, 4)), policies=("torch_like", "tf_like"))
    >>> [(r.path, r.a.scheme, r.b.scheme) for r in d.rows]
    [('params/bias', 'torch_bias', 'zeros'), ('params/kernel', 'torch_kernel', 'glorot_uniform')]
    """
    if not isinstance(policies, (tuple, list)) or len(policies) != 2:
        raise JaxinitError(
            f"jaxinit.diff: policies= takes the pair (a, b) to compare, got {policies!r}."
        )
    a, b = (_policy(p, "diff") for p in policies)
    ea = explain(target, *inputs, policy=a, method=method, **kwargs)
    eb = explain(target, *inputs, policy=b, method=method, **kwargs)
    return PolicyDiff(a.name, b.name, diff_rows(ea.rows, eb.rows))
