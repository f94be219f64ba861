"""Property tests (hypothesis): every registered scheme over random shapes, dtypes and keys, and
the policy engine over random trees and rule lists.

Runs are reproducible (`derandomize=True`: the examples are a fixed function of the test), and
example counts are set explicitly. `EXAMPLES` counts the examples that ran, per test, and every
property test checks, right after hypothesis has run it, that it ran at least as many as its
settings ask for (`_runs_at_least`), so the check does not depend on which tests ran before.

The schemes are those of `INITIALIZER_RECS` in test_registry.py, the one table of every
registered scheme (it enforces the coverage); `SPECS` here adds, per scheme, the hyperparameter
variants, ranks and shape adjustments the properties need, and a scheme without a row gets the
default `Spec()` (every rank, default hyperparameters).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
import random
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_registry import INITIALIZER_RECS

import jaxinit

EXAMPLES: collections.Counter[str] = collections.Counter()


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _runs_at_least(n: int):
    """Wraps a hypothesis test (applied above `@given` and its settings): after hypothesis has
    run it, asserts that the examples it counted in `EXAMPLES` number at least `n`."""

    def deco(test):
        @functools.wraps(test)
        def run(*args, **kwargs):
            before = EXAMPLES[test.__name__]
            test(*args, **kwargs)
            ran = EXAMPLES[test.__name__] - before
            assert ran >= n, f"{test.__name__} ran {ran} examples; its settings ask for {n}"

        return run

    return deco


# --------------------------------------------------------------------------------------------
# The table: every registered scheme, with hyperparameter variants and its valid ranks.


def _last_times(k: int) -> Callable[[tuple, dict], tuple]:
    """Makes the last axis a multiple of k (fused gates, groups)."""
    return lambda shape, hp: shape[:-1] + (shape[-1] * k,) if shape else shape


def _in_le_out(shape: tuple, hp: dict) -> tuple:
    return shape[:-2] + tuple(sorted(shape[-2:]))


def _rnn(shape: tuple, hp: dict) -> tuple:
    if isinstance(hp.get("terms"), tuple):  # the last axis splits into len(terms) segments
        shape = shape or (1,)
        return shape[:-1] + (shape[-1] * len(hp["terms"]),)
    return shape


def _depthwise(shape: tuple, hp: dict) -> tuple:
    if shape[-2] == 1 and hp.get("groups", 1) > 1:
        return _last_times(hp["groups"])(shape, hp)
    return shape


@dataclasses.dataclass(frozen=True)
class Spec:
    hps: tuple[dict, ...] = ({},)
    ranks: tuple[int, int] = (0, 5)
    adjust: Callable[[tuple, dict], tuple] | None = None
    # Bounds (low, high) where the scheme has no `.stats`: constants and structured schemes.
    bounds: Callable[[dict], tuple[float, float]] | None = None


KERNEL = (2, 5)  # schemes that need fans: rank >= 2
VS_HPS = ({}, {"in_axis": 0, "out_axis": -1}, {"fan_in": 7.0, "fan_out": 3.0})

SPECS: dict[str, Spec] = {
    "constant": Spec(({"value": 0.5}, {"value": -3})),
    "delta_orthogonal": Spec(
        ({}, {"gain": -1.5}),
        (3, 5),
        _in_le_out,
        lambda hp: (-abs(hp.get("gain", 1.0)), abs(hp.get("gain", 1.0))),
    ),
    "dirac": Spec(
        ({}, {"groups": 2}),
        (3, 5),
        lambda s, hp: _last_times(hp.get("groups", 1))(s, hp),
        lambda hp: (0.0, 1.0),
    ),
    "eye": Spec(
        ({}, {"gain": -2.0}),
        (2, 2),
        None,
        lambda hp: (min(0.0, hp.get("gain", 1.0)), max(0.0, hp.get("gain", 1.0))),
    ),
    "glorot_normal": Spec(VS_HPS, KERNEL),
    "glorot_uniform": Spec(VS_HPS, KERNEL),
    "he_normal": Spec(VS_HPS, KERNEL),
    "he_uniform": Spec(VS_HPS, KERNEL),
    "jax_normal": Spec(({}, {"stddev": 2.0})),
    "jax_uniform": Spec(({}, {"scale": 3.0})),
    "keras_conv_glorot_uniform": Spec(({}, {"groups": 3}), (3, 5), _depthwise),
    "keras_truncated_normal": Spec(({}, {"mean": 1.0, "stddev": 0.3})),
    "keras_variance_scaling": Spec(
        (
            {},
            {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"},
            {"mode": "fan_out", "distribution": "normal"},
        )
    ),
    "lecun_normal": Spec(VS_HPS, KERNEL),
    "lecun_uniform": Spec(VS_HPS, KERNEL),
    "orthogonal": Spec(({}, {"gain": 0.5, "column_axis": 0}), KERNEL),
    "padded_normal": Spec(({"std": 0.5}, {"std": 2.0, "mean": -1.0}), KERNEL),
    "random_uniform": Spec(({}, {"minval": 1.0, "maxval": 1.5})),
    "sparse": Spec(({"sparsity": 0.5}, {"sparsity": 0.0, "std": 1.0}), (2, 2)),
    "symmetric_uniform": Spec(({}, {"bound": 0.01})),
    "torch_bias": Spec(({"fan_in": 16}, {"fan_in": 3, "terms": 2})),
    "torch_embedding": Spec(({}, {"padding_idx": -1}), KERNEL),
    "torch_kaiming_normal": Spec(
        ({}, {"a": 0.2, "mode": "fan_out", "nonlinearity": "relu"}), KERNEL
    ),
    "torch_kaiming_uniform": Spec(({}, {"nonlinearity": "tanh"}), KERNEL),
    "torch_normal": Spec(({}, {"mean": -1.0, "std": 0.25})),
    "torch_uniform": Spec(({}, {"low": -2.0, "high": -1.0})),
    "torch_kernel": Spec(({}, {"in_axis": -1, "out_axis": -2}), KERNEL),
    "torch_rnn": Spec(({"hidden_size": 8}, {"hidden_size": 5, "terms": (2, 2, 1)}), (0, 5), _rnn),
    "torch_xavier_normal": Spec(({}, {"gain": 2.0}), KERNEL),
    "torch_xavier_uniform": Spec(({}, {"gain": 0.5}), KERNEL),
    "trunc_normal": Spec(({}, {"mean": 0.5, "std": 2.0, "a": -0.5, "b": 0.75})),
    "truncated_normal": Spec(({}, {"stddev": 1.0, "lower": -0.5, "upper": 3.0})),
    "uniform_unit_scaling": Spec(({}, {"factor": 2.0})),
    "unit_forget_bias": Spec(
        ({}, {"gates": 3, "forget_gate": 2}),
        (1, 5),
        lambda s, hp: _last_times(hp.get("gates", 4))(s, hp),
        lambda hp: (0.0, 1.0),
    ),
    "variance_scaling": Spec(
        (
            {},
            {"scale": 0.5, "mode": "fan_geo_avg", "distribution": "uniform"},
            {"mode": "fan_out", "distribution": "truncated_normal_uncorrected"},
        ),
        KERNEL,
    ),
}


# Every scheme of the one table; those without a row in SPECS run with the default Spec().
TABLE: dict[str, Spec] = {name: SPECS.get(name, Spec()) for name in sorted(INITIALIZER_RECS)}


def test_specs_name_only_tabled_schemes():
    """A row here for a scheme the table does not have (renamed, removed) is a stale row."""
    assert set(SPECS) <= set(INITIALIZER_RECS)


DTYPES = (None, jnp.float32, jnp.bfloat16, jnp.float16)
SCHEME_EXAMPLES = 2  # per scheme, each with every dtype; an example compiles one program
POLICY_EXAMPLES = 25


# Shapes come from a small pool per rank, so that they recur across schemes and examples: XLA
# compiles one program per shape (random draws are shared between schemes), and compiles
# dominate the runtime. Any entry may be zeroed (zero-size arrays).
SHAPE_POOL = {
    0: ((),),
    1: ((3,), (5,)),
    2: ((2, 3), (5, 2), (1, 4)),
    3: ((2, 1, 3), (3, 2, 5)),
    4: ((1, 2, 3, 2), (3, 1, 1, 2)),
    5: ((2, 1, 2, 1, 3),),
}


@st.composite
def shapes(draw, spec: Spec, hp: dict) -> tuple[int, ...]:
    rank = draw(st.integers(*spec.ranks))
    shape = draw(st.sampled_from(SHAPE_POOL[rank]))
    if spec.adjust is not None:
        shape = spec.adjust(shape, hp)
    if shape and draw(st.integers(0, 4)) == 0:  # about one in five is zero-size
        i = draw(st.integers(0, len(shape) - 1))
        shape = shape[:i] + (0,) + shape[i + 1 :]
    return shape


_INITS: dict[tuple[str, int], Any] = {}
_PROGRAMS: dict[tuple, Any] = {}


def _init(name: str, i: int):
    if (name, i) not in _INITS:
        _INITS[name, i] = jaxinit.get(name, **TABLE[name].hps[i])
    return _INITS[name, i]


def _program(name: str, i: int, shape: tuple):
    """One compiled program per (scheme, shape) holding, for every dtype, the plain call and
    the call vmapped over a batch of keys: one compile instead of eight (the float32 draws that
    the dtypes share are computed once)."""
    k = (name, i, shape)
    if k not in _PROGRAMS:
        init = _init(name, i)

        def run(keys):
            return [
                (init(keys[0], shape, d), jax.vmap(lambda key, d=d: init(key, shape, d))(keys))
                for d in DTYPES
            ]

        _PROGRAMS[k] = jax.jit(run)
    return _PROGRAMS[k]


def _eps(dtype) -> float:
    return float(jnp.finfo(dtype).eps)


def _close(a, b, dtype, what: str) -> None:
    """Equal up to the rounding of `dtype` (jit fuses ops, so float32 results may differ in the
    last bit, which a cast to bfloat16 can turn into one bfloat16 ulp)."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    tol = 2 * _eps(dtype) + 2 * _eps(jnp.float32)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale, err_msg=what)


# torch's kaiming_*_ warn on zero-size shapes (checked in test_registry.py and tests/peers/).
@pytest.mark.filterwarnings("ignore:.*Initializing zero-element tensors is a no-op")
@pytest.mark.parametrize("name", sorted(TABLE))
@_runs_at_least(SCHEME_EXAMPLES)
@_settings(SCHEME_EXAMPLES)
@given(data=st.data())
def test_scheme_properties(name, data):
    """Every dtype of DTYPES is checked in every example (they share one compiled program)."""
    EXAMPLES["test_scheme_properties"] += 1
    spec = TABLE[name]
    i = data.draw(st.integers(0, len(spec.hps) - 1), label="hp")
    hp = spec.hps[i]
    shape = data.draw(shapes(spec, hp), label="shape")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    init = _init(name, i)
    keys = jax.random.split(jax.random.key(seed), 3)
    program = _program(name, i, shape)
    jitted, jitted_again = program(keys), program(keys)

    for dtype, (y, batched), (y2, batched2) in zip(DTYPES, jitted, jitted_again):
        want = jnp.dtype(jnp.float32 if dtype is None else dtype)
        where = f"{name} {hp} {shape} {want.name}"
        x = init(keys[0], shape, dtype)
        # Shape and dtype exact (bfloat16 stays bfloat16; None is the default float32).
        assert x.shape == shape and x.dtype == want, where
        assert y.shape == shape and y.dtype == want, where
        assert batched.shape == (3,) + shape and batched.dtype == want, where
        xf = np.asarray(x, np.float32)
        assert np.all(np.isfinite(xf)), f"NaN or Inf: {where}"
        assert np.all(np.isfinite(np.asarray(batched, np.float32))), f"NaN or Inf: {where}"
        # Bounds, with the rounding of the dtype (the sample is drawn in float32, then cast).
        stats = init.stats(shape) if math.prod(shape) else None
        if stats is not None:
            low, high = stats.low, stats.high
        elif spec.bounds is not None:
            low, high = spec.bounds(hp)
        else:
            low, high = -math.inf, math.inf
        if xf.size and (math.isfinite(low) or math.isfinite(high)):
            mag = max(abs(b) for b in (low, high) if math.isfinite(b))
            tol = mag * (_eps(want) + _eps(jnp.float32))
            assert xf.min() >= low - tol and xf.max() <= high + tol, (
                where,
                xf.min(),
                xf.max(),
                low,
                high,
            )
        # Same key, same array (bit for bit, eagerly and under jit).
        np.testing.assert_array_equal(np.asarray(init(keys[0], shape, dtype), np.float32), xf)
        np.testing.assert_array_equal(np.asarray(y2, np.float32), np.asarray(y, np.float32))
        np.testing.assert_array_equal(
            np.asarray(batched2, np.float32), np.asarray(batched, np.float32)
        )
        # jit equals eager.
        _close(y, x, want, f"jit != eager: {where}")
        # vmap over keys equals a loop (of eager calls).
        looped = np.stack([np.asarray(init(k, shape, dtype), np.float32) for k in keys])
        _close(batched, looped, want, f"vmap != loop: {where}")


# --------------------------------------------------------------------------------------------
# The policy engine: random trees and rule lists.

NAMES = ("a", "b", "kernel", "bias", "scale", "w")
LEAF_SHAPES = ((), (3,), (2, 3), (0, 3))
LEAF_DTYPES = (jnp.float32, jnp.bfloat16)
PATTERNS = (r".*", r".*kernel", r"(?:.*/)?bias", r"a/.*", r".*/b/.*", r"[^/]*", r".*(scale|w)")
# Schemes valid for every leaf shape above (any rank, zero size), with fixed hyperparameters;
# the rank-2 ones get `rank=2` on their rule.
RULE_SCHEMES = (
    ("normal_", {"std": 0.5}, None),
    ("zeros", {}, None),
    ("truncated_normal", {"stddev": 0.1}, None),
    ("torch_rnn", {"hidden_size": 4, "terms": 2}, None),
    ("glorot_uniform", {}, 2),
)


@st.composite
def trees(draw, max_depth: int = 3) -> dict:
    """A nested dict of leaf specs (shape, dtype); at least one leaf."""

    def node(depth: int) -> dict:
        keys = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
        out = {}
        for k in keys:
            if depth < max_depth and draw(st.booleans()):
                out[k] = node(depth + 1)
            else:
                out[k] = (draw(st.sampled_from(LEAF_SHAPES)), draw(st.sampled_from(LEAF_DTYPES)))
        return out

    return node(0)


@st.composite
def rule_lists(draw) -> list:
    n = draw(st.integers(0, 4))
    rules = []
    for _ in range(n):
        scheme, hp, rank = draw(st.sampled_from(RULE_SCHEMES))
        rules.append(jaxinit.Rule(draw(st.sampled_from(PATTERNS)), scheme, hp, rank=rank))
    return rules


def materialize(spec_tree, ordered: random.Random | None = None):
    """Arrays for a spec tree; with `ordered`, OrderedDicts in a shuffled insertion order (jax
    flattens OrderedDicts in insertion order, plain dicts sorted)."""
    if isinstance(spec_tree, tuple):
        shape, dtype = spec_tree
        return jnp.full(shape, 7.0, dtype)
    keys = list(spec_tree)
    if ordered is None:
        return {k: materialize(spec_tree[k]) for k in keys}
    ordered.shuffle(keys)
    return collections.OrderedDict((k, materialize(spec_tree[k], ordered)) for k in keys)


def flat(tree) -> dict[str, Any]:
    return {
        "/".join(str(getattr(k, "key", k)) for k in kp): leaf
        for kp, leaf in jax.tree_util.tree_leaves_with_path(tree)
    }


def _policy(rules) -> jaxinit.Policy:
    return jaxinit.Policy(rules, fallback="keep", unused="ignore")


@_runs_at_least(POLICY_EXAMPLES)
@_settings(POLICY_EXAMPLES)
@given(
    spec_tree=trees(),
    rules=rule_lists(),
    seed=st.integers(0, 2**32 - 1),
    shuffle_seed=st.integers(0, 2**16),
)
def test_policy_result_does_not_depend_on_tree_order(spec_tree, rules, seed, shuffle_seed):
    EXAMPLES["test_policy_result_does_not_depend_on_tree_order"] += 1
    policy, key = _policy(rules), jax.random.key(seed)
    plain = materialize(spec_tree)
    shuffled = materialize(spec_tree, random.Random(shuffle_seed))
    a, b = (
        flat(jaxinit.init(plain, key, policy=policy)),
        flat(jaxinit.init(shuffled, key, policy=policy)),
    )
    assert a.keys() == b.keys()
    for path in a:
        assert a[path].dtype == b[path].dtype
        np.testing.assert_array_equal(
            np.asarray(a[path], np.float32), np.asarray(b[path], np.float32), err_msg=path
        )
    # The decisions too: the same rule for every path, whatever the order of the specs.
    res_a = jaxinit.explain(plain, policy=policy).resolution
    specs = [d.spec for d in res_a.decisions]
    random.Random(shuffle_seed).shuffle(specs)
    res_b = policy.resolve(specs)
    assert {d.spec.path: d.rule_index for d in res_a.decisions} == {
        d.spec.path: d.rule_index for d in res_b.decisions
    }


def _remove_and_add(spec_tree, rng: random.Random):
    """A copy with some leaves removed (never all) and some new leaves added."""

    def walk(node, depth):
        out = {}
        for k, v in node.items():
            if isinstance(v, tuple):
                if rng.random() < 0.4:
                    continue
                out[k] = v
            else:
                sub = walk(v, depth + 1)
                if sub:
                    out[k] = sub
        if rng.random() < 0.5:
            out[f"extra{depth}_{rng.randrange(3)}"] = (rng.choice(LEAF_SHAPES), jnp.float32)
        return out

    return walk(spec_tree, 0) or {"extra": ((3,), jnp.float32)}


@_runs_at_least(POLICY_EXAMPLES)
@_settings(POLICY_EXAMPLES)
@given(
    spec_tree=trees(),
    rules=rule_lists(),
    seed=st.integers(0, 2**32 - 1),
    edit_seed=st.integers(0, 2**16),
)
def test_parameter_depends_only_on_root_key_and_path(spec_tree, rules, seed, edit_seed):
    EXAMPLES["test_parameter_depends_only_on_root_key_and_path"] += 1
    policy, key = _policy(rules), jax.random.key(seed)
    tree = materialize(spec_tree)
    edited = materialize(_remove_and_add(spec_tree, random.Random(edit_seed)))
    out = flat(jaxinit.init(tree, key, policy=policy))
    out_edited = flat(jaxinit.init(edited, key, policy=policy))
    before, before_edited = flat(tree), flat(edited)
    decisions = jaxinit.explain(tree, policy=policy).resolution.by_path()
    common = out.keys() & out_edited.keys()
    for path in common:
        if before[path].shape != before_edited[path].shape:
            continue  # a different parameter that happens to have the same path
        np.testing.assert_array_equal(
            np.asarray(out[path], np.float32),
            np.asarray(out_edited[path], np.float32),
            err_msg=path,
        )
    for path, x in out.items():
        d = decisions[path]
        if not d.covered:
            assert x is before[path], path  # kept: the very same array
            continue
        # The value is the scheme drawn with the path's own key: fold_in(root, hash(path)).
        want = d.initializer()(jaxinit.path_key(key, path), x.shape, x.dtype)
        assert x.dtype == want.dtype
        _close(x, want, x.dtype, path)
