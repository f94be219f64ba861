"""Each covered parameter is drawn exactly once, and the model's own default initializers
are only ever traced for parameters a rule covers: to learn shapes, and (when some variables
are left to the module) inside the completion program, where XLA drops their values as dead
code. Peak-memory figures belong to the benchmarks, not here."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxinit
from jaxinit import Policy, Rule
from jaxinit._src.draw import draw  # the engine's sampler, to count its traces alone

SCHEME = "_test_draw_once_counted"
TRACES = []  # (shape, dtype) each time the scheme's sampling code is traced or called
RUNS = []  # one entry per concrete execution of one draw (a host callback, vmap per element)


def _counted(scale: float = 1.0):
    """A uniform that counts how often it is traced and how often it really runs."""

    def init(key, shape, dtype=None):
        dtype = jnp.float32 if dtype is None else dtype
        TRACES.append((tuple(shape), jnp.dtype(dtype).name, isinstance(key, jax.core.Tracer)))
        jax.debug.callback(lambda: RUNS.append(tuple(shape)))
        return scale * jax.random.uniform(key, shape, dtype, -1.0, 1.0)

    return init


@pytest.fixture(autouse=True, scope="module")
def _registered_for_this_module():
    """Registers the counting scheme only while this module runs, so the registry-wide tables
    of other modules (every registered name must have a row) never see it."""
    from jaxinit._src import registry

    jaxinit.register(SCHEME)(_counted)
    yield
    registry.unregister(SCHEME)


DEFAULT_CALLS = {}  # kernel name -> [is the key a Tracer, ...] for every call
DEFAULT_RUNS = {}  # kernel name -> number of concrete executions


def recording_init(name):
    def init(key, shape, dtype=jnp.float32):
        DEFAULT_CALLS.setdefault(name, []).append(isinstance(key, jax.core.Tracer))
        jax.debug.callback(lambda: DEFAULT_RUNS.__setitem__(name, DEFAULT_RUNS.get(name, 0) + 1))
        return jax.random.normal(key, shape, dtype)

    return init


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        for i, n in enumerate((8, 8, 8, 4)):  # d1, d2 share the (8, 8) kernel shape
            x = nn.Dense(n, kernel_init=recording_init(f"d{i}"), name=f"d{i}")(x)
        return x


def test_each_covered_parameter_drawn_once_and_defaults_never_run():
    TRACES.clear(), RUNS.clear(), DEFAULT_CALLS.clear(), DEFAULT_RUNS.clear()
    m, x, key = MLP(), jnp.ones((2, 3)), jax.random.key(0)
    # d0..d2 kernels covered by the counted scheme, d3's kernel and every bias kept.
    policy = Policy([Rule(r"params/d[012]/kernel", SCHEME)])
    res = jaxinit.explain(m, x, policy=policy).resolution
    covered = [d.spec.path for d in res.decisions if d.covered]
    assert covered == ["params/d0/kernel", "params/d1/kernel", "params/d2/kernel"]
    # Resolving checks shapes abstractly (possibly from JAX's trace cache) and runs nothing.
    assert all(t for *_, t in TRACES) and RUNS == []
    # Drawing traces the scheme twice per distinct (shape, dtype), never per parameter (d1 and
    # d2 share a program): once when the fast path plans it (refused here: a host callback is
    # not elementwise), once for its exact-shape program.
    TRACES.clear()
    drawn = draw(res.decisions, key)
    jax.block_until_ready(drawn)
    jax.effects_barrier()
    assert sorted(s for s, *_ in TRACES) == [(3, 8), (3, 8), (8, 8), (8, 8)]
    assert sorted(RUNS) == [(3, 8), (8, 8), (8, 8)]  # each covered parameter runs once
    TRACES.clear(), RUNS.clear(), DEFAULT_CALLS.clear()

    out = jaxinit.init(m, key, x, policy=policy)
    jax.block_until_ready(out)
    jax.effects_barrier()
    assert all(t for *_, t in TRACES)  # never called with a concrete key
    for p in covered:  # the same values as the sampler's own draw
        np.testing.assert_array_equal(out["params"][p.split("/")[1]]["kernel"], drawn[p])
    # Executed: exactly once per covered parameter.
    assert sorted(RUNS) == sorted([(3, 8), (8, 8), (8, 8)])
    # The module's own kernel_init is only ever traced (shape discovery under eval_shape, and
    # the completion program for d3, which is Flax's own `model.init` under jit). Its values
    # for d0..d2 never reach the output: XLA drops them as dead code. A side effect is not
    # dead code, so this instrumentation's callback does fire there, once per kernel ...
    for name in ("d0", "d1", "d2"):
        assert DEFAULT_CALLS[name] and all(DEFAULT_CALLS[name]), name
    assert DEFAULT_RUNS == {"d0": 1, "d1": 1, "d2": 1, "d3": 1}
    np.testing.assert_array_equal(
        out["params"]["d3"]["kernel"], m.init(key, x)["params"]["d3"]["kernel"]
    )
    for p in ("d0", "d1", "d2"):
        assert np.abs(np.asarray(out["params"][p]["kernel"])).max() <= 1.0  # the counted uniform
    # ... and with every variable covered there is no completion: no default runs at all.
    DEFAULT_CALLS.clear(), DEFAULT_RUNS.clear()
    full = Policy([Rule(r".*kernel", SCHEME), Rule(r".*bias", "zeros")])
    jax.block_until_ready(jaxinit.init(m, key, x, policy=full))
    jax.effects_barrier()
    assert DEFAULT_CALLS and all(all(c) for c in DEFAULT_CALLS.values())
    assert DEFAULT_RUNS == {}


def test_fused_group_is_drawn_once_as_one_matrix():
    TRACES.clear(), RUNS.clear()
    tree = {f"g{i}": jnp.zeros((4, 3)) for i in range(3)}
    rule = Rule(r"g(\d)", SCHEME, group="all", group_member=r"\1", group_order=("0", "1", "2"))
    out = jaxinit.init(tree, jax.random.key(1), policy=Policy([rule]))
    jax.block_until_ready(out)
    jax.effects_barrier()
    assert RUNS == [(4, 9)]  # one (4, 9) draw, split in three
    assert {s for s, *_ in TRACES} == {(4, 9)}  # never traced in a member's (4, 3) shape
    whole = np.concatenate([np.asarray(out[f"g{i}"]) for i in range(3)], axis=1)
    assert len(np.unique(whole)) == whole.size  # three different slices of one draw
