"""The abstract trace's reuse of repeated layer calls (`linen.trace(..., reuse=True)`).

A call of one of Flax's leaf layers that repeats an earlier one (same class, attributes, method
and input types) is replayed from the first call's types instead of traced again. The trace
must be exactly what a full trace gives: the same abstract variables (shapes, dtypes, weak
types, shardings, metadata boxes), the same module descriptions and the same per-module shapes
(which find `nn.scan` stack axes), on every kind of model, and the same errors.
"""

import importlib
import os
import subprocess
import sys

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax.core import meta
from jax.sharding import AxisType

import jaxinit
from jaxinit._src import linen
from tests.golden import golden_cases

KEY = jax.random.key(0)


def both(model, *inputs, key=KEY, **kwargs):
    return (
        linen.trace(model, key, *inputs, reuse=True, **kwargs),
        linen.trace(model, key, *inputs, reuse=False, **kwargs),
    )


def assert_same_trace(model, *inputs, key=KEY, **kwargs):
    (a, ma, ia), (b, mb, ib) = both(model, *inputs, key=key, **kwargs)
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    assert ta == tb  # the same paths and the same metadata boxes (nn.Partitioned names)
    assert la == lb  # ShapeDtypeStruct equality: shape, dtype, weak type, sharding
    assert [x.weak_type for x in la] == [x.weak_type for x in lb]
    assert ma == mb
    assert ia == ib
    return a


class DeepNarrow(nn.Module):
    n: int = 12

    @nn.compact
    def __call__(self, x):
        for _ in range(self.n):
            x = nn.LayerNorm()(nn.Dense(16)(x))
        return x


class Mixed(nn.Module):
    """Repeats next to near-repeats: each differs from another in one thing the key holds."""

    @nn.compact
    def __call__(self, x, img, tokens, train: bool = True):
        part = nn.with_partitioning(nn.initializers.lecun_normal(), ("embed", "mlp"))
        for _ in range(3):
            x = nn.Dense(8, kernel_init=part)(x)  # boxed kernels
        x = nn.Dense(8, use_bias=False)(x)  # other attributes
        x = nn.Dense(8, param_dtype=jnp.bfloat16)(x)
        x = nn.Dense(8, param_dtype=jnp.bfloat16)(x)
        x = nn.Dense(8)(x.astype(jnp.bfloat16))  # other input dtype
        x = nn.Dense(8)(x.astype(jnp.float32))
        x = nn.Dense(8)(jnp.concatenate([x, x], -1))  # other input shape
        w = jax.lax.broadcast(1.0, (2, 8))  # a weak-typed input
        w = nn.LayerNorm()(nn.LayerNorm()(w))
        x = nn.DenseGeneral((2, 4), axis=-1)(x + w).reshape(2, 8)
        x = nn.DenseGeneral((2, 4), axis=-1)(x).reshape(2, 8)
        for _ in range(3):
            img = nn.BatchNorm(use_running_average=not train)(nn.Conv(4, (3, 3))(img))
            img = nn.Dropout(0.5, deterministic=not train)(img)
        img = nn.Conv(4, (3, 3), feature_group_count=2)(img)
        img = nn.Conv(4, (3, 3), feature_group_count=2)(img)
        img = nn.ConvLocal(4, (3, 3))(img)
        img = nn.GroupNorm(num_groups=2)(nn.GroupNorm(num_groups=2)(img))
        img = nn.ConvTranspose(4, (2, 2))(nn.ConvTranspose(4, (2, 2))(img))
        e = nn.Embed(11, 8)
        t = e(tokens)
        t = nn.RMSNorm()(nn.RMSNorm()(t))
        logits = e.attend(t)  # the tied embedding, a second method of one module
        shared = nn.Dense(8, name="shared")
        x = shared(shared(x))  # one module called twice at one path
        return x, img.mean(), logits


class Twice(nn.Module):
    """A first `nn.Dense(4)` call, then a shared one whose first call is a replay of it and
    whose second call sees another width: Flax's shape check must still fire."""

    @nn.compact
    def __call__(self, x, y):
        nn.Dense(4)(x)
        shared = nn.Dense(4)
        return shared(x), shared(y)


class MyDense(nn.Dense):
    """A subclass with its own `__call__`: never replayed as a Dense."""

    def __call__(self, x):
        y = super().__call__(x)
        return jnp.concatenate([y, y], -1)


class Subclassed(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.Dense(4)(x)
        x = MyDense(4)(x)
        x = MyDense(4)(x)
        return nn.Dense(4)(x)


class Block(nn.Module):
    @nn.compact
    def __call__(self, x, _):
        return nn.LayerNorm()(nn.Dense(8)(x)), None


class Lifted(nn.Module):
    """Layers inside lifted transforms (their own root scopes) beside the same layers outside."""

    @nn.compact
    def __call__(self, x):
        x = nn.LayerNorm()(nn.Dense(8)(x))
        x, _ = nn.scan(Block, variable_axes={"params": 0}, split_rngs={"params": True}, length=3)()(
            x, None
        )
        x = nn.remat(nn.Dense)(8)(x)
        x = nn.vmap(
            nn.Dense,
            in_axes=0,
            out_axes=0,
            variable_axes={"params": 0},
            split_rngs={"params": True},
        )(8)(x[None].repeat(2, 0))[0]
        return nn.LayerNorm()(nn.Dense(8)(x))


def _bench_model(name, monkeypatch):
    monkeypatch.syspath_prepend("benchmarks")
    monkeypatch.delitem(sys.modules, "specs", raising=False)
    monkeypatch.delitem(sys.modules, "models_flax", raising=False)
    return importlib.import_module("models_flax").build(name, "tiny")


def counting_init():
    """An initializer that records each call (a Python side effect, so it counts the calls
    the trace makes), and the list it records them in."""
    calls = []

    def counted(key, shape, dtype=jnp.float32):
        calls.append(shape)
        return jnp.zeros(shape, dtype)

    return counted, calls


def test_repeated_layers_are_traced_once():
    counted, calls = counting_init()

    class Counted(nn.Module):
        @nn.compact
        def __call__(self, x):
            for _ in range(10):
                x = nn.Dense(16, kernel_init=counted)(x)
            return x

    x = jnp.ones((2, 16))
    linen.trace(Counted(), KEY, x, reuse=False)
    assert len(calls) == 10
    calls.clear()
    assert_same_trace(Counted(), x)  # runs reuse=True first
    # With reuse: the first layer (it sees the concrete example input) and the second (a
    # traced input) are traced, the other eight replayed; then ten calls without reuse.
    assert len(calls) == 2 + 10


def test_reuse_starts_at_the_model_root_even_after_a_lifted_first_layer():
    counted, calls = counting_init()

    class ScanFirst(nn.Module):
        @nn.compact
        def __call__(self, x):
            x, _ = nn.scan(
                Block, variable_axes={"params": 0}, split_rngs={"params": True}, length=2
            )()(x, None)
            for _ in range(5):
                x = nn.Dense(8, kernel_init=counted)(x)
            return x

    assert_same_trace(ScanFirst(), jnp.ones((2, 8)))
    assert len(calls) == 1 + 5


def test_deep_stack_same_trace():
    abstract = assert_same_trace(DeepNarrow(), jnp.ones((1, 16)))
    assert len(abstract["params"]) == 24


@pytest.mark.parametrize("train", [True, False])
def test_mixed_layers_same_trace(train):
    inputs = (jnp.ones((2, 8)), jnp.ones((2, 6, 6, 3)), jnp.zeros((2, 5), jnp.int32))
    key = {"params": KEY, "dropout": jax.random.key(1)}
    abstract = assert_same_trace(Mixed(), *inputs, key=key, train=train)
    assert isinstance(abstract["params"]["Dense_2"]["kernel"], nn.Partitioned)


def test_capture_intermediates_same_trace():
    assert_same_trace(DeepNarrow(4), jnp.ones((1, 16)), capture_intermediates=True)


def test_subclass_and_lifted_same_trace():
    assert_same_trace(Subclassed(), jnp.ones((2, 3)))
    assert_same_trace(Lifted(), jnp.ones((2, 8)))


def test_flax_shape_errors_still_raised():
    for reuse in (True, False):
        with pytest.raises(flax.errors.ScopeParamShapeError, match=r"\(5, 4\).*\(3, 4\)"):
            linen.trace(Twice(), KEY, jnp.ones((2, 3)), jnp.ones((2, 5)), reuse=reuse)


def test_golden_zoo_same_trace():
    model, inputs = golden_cases.zoo_inputs()
    assert_same_trace(model, *inputs)


@pytest.mark.parametrize("name", ["gpt2", "resnet50", "deep_narrow"])
def test_benchmark_models_same_trace(name, monkeypatch):
    model, inputs = _bench_model(name, monkeypatch)
    assert_same_trace(model, *inputs)


def test_init_with_reuse_equals_flax_shapes_and_is_complete():
    model, x = DeepNarrow(), jnp.ones((1, 16))
    out = jaxinit.init(model, KEY, x, policy="torch_like")
    assert jax.tree.map(lambda a: (a.shape, a.dtype), out) == jax.tree.map(
        lambda a: (a.shape, a.dtype), model.init(KEY, x)
    )


EXPLICIT = """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
import jax, jax.numpy as jnp, flax.linen as nn
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
from jaxinit._src import linen

class M(nn.Module):
    @nn.compact
    def __call__(self, x):
        for _ in range(3):
            x = nn.LayerNorm()(nn.Dense(8)(x))
        return x

mesh = jax.make_mesh((4,), ("data",), axis_types=(AxisType.Explicit,))
with jax.set_mesh(mesh):
    x = jax.device_put(jnp.ones((4, 8)), NamedSharding(mesh, P("data", None)))
    a = linen.trace(M(), jax.random.key(0), x, reuse=True)
    b = linen.trace(M(), jax.random.key(0), x, reuse=False)
leaves = jax.tree.leaves(a[0])
assert leaves == jax.tree.leaves(b[0]) and a[1:] == b[1:], (leaves, jax.tree.leaves(b[0]))
assert all(not leaf.sharding.mesh.empty for leaf in leaves)
print("ok", len(leaves))
"""


def test_explicit_sharding_types_same_trace():
    """Under a mesh with explicit axes every type carries its sharding; a replay must not
    replace a sharded type by an unsharded one (4 simulated devices, in a subprocess)."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    proc = subprocess.run(
        [sys.executable, "-c", EXPLICIT], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["ok", "12"]


# Cases an adversarial review found where replaying differed from tracing; each must now give
# the full trace's result (the same variables, or the same error).


def both_outcomes(model, *inputs, **kwargs):
    """The flat {path: ShapeDtypeStruct} of each trace (shape, dtype, weak type, sharding), or
    the type of the error it raised."""
    out = []
    for reuse in (True, False):
        try:
            v = linen.trace(model, KEY, *inputs, reuse=reuse, **kwargs)[0]
            flat = jax.tree_util.tree_flatten_with_path(v)[0]
            out.append({jax.tree_util.keystr(p): x for p, x in flat})
        except Exception as e:  # the error is the outcome compared
            out.append(type(e))
    return out


def lora(next_fun, args, kwargs, context):
    """An interceptor that adds two parameters to the Dense named "q"."""
    m = context.module
    if isinstance(m, nn.Dense) and m.name == "q":
        a = m.param("lora_a", nn.initializers.zeros, (args[0].shape[-1], 2))
        b = m.param("lora_b", nn.initializers.zeros, (2, m.features))
        return next_fun(*args, **kwargs) + args[0] @ a @ b
    return next_fun(*args, **kwargs)


class LoRA(nn.Module):
    @nn.compact
    def __call__(self, x):
        with nn.intercept_methods(lora):  # installed by the model: it runs inside jaxinit's
            return nn.Dense(8, name="k")(x) + nn.Dense(8, name="q")(x)


def test_an_interceptor_the_model_installs_sees_every_call():
    x = jnp.ones((2, 8))
    assert_same_trace(LoRA(), x)
    got = jaxinit.init(LoRA(), KEY, x, policy="torch_like")["params"]["q"]
    assert (
        sorted(got)
        == sorted(LoRA().init(KEY, x)["params"]["q"])
        == [
            "bias",
            "kernel",
            "lora_a",
            "lora_b",
        ]
    )


class QBox(meta.AxisMetadata):
    """A box of its own: int8 storage and a scale; the module sees float32."""

    def __init__(self, value, scale):
        self.value, self.scale = value, scale

    def unbox(self):
        return self.value.astype(jnp.float32) * self.scale

    def replace_boxed(self, val):
        return QBox(val, self.scale)

    def add_axis(self, index, params):
        return self

    def remove_axis(self, index, params):
        return self


jax.tree_util.register_pytree_node(
    QBox, lambda q: ((q.value, q.scale), None), lambda _, c: QBox(*c)
)


def qinit(key, shape, dtype=jnp.float32):
    return QBox(jnp.zeros(shape, jnp.int8), jnp.ones((), jnp.float32))


class Collisions(nn.Module):
    """Calls that an earlier key took for repeats."""

    case: str

    @nn.compact
    def __call__(self, x, xnp):
        if self.case == "nested attribute types":  # (3, 3) == (3.0, 3.0) to Python
            return nn.Conv(3, (3.0, 3.0))(nn.Conv(3, (3, 3))(xnp[None, :, :, None].repeat(3, -1)))
        if self.case == "custom box":
            return nn.Dense(4, kernel_init=qinit)(nn.Dense(4, kernel_init=qinit)(x))
        if self.case == "pass-through of a concrete input":
            nn.Dropout(0.5, deterministic=True)(x)
            y = nn.Dropout(0.5, deterministic=True)(xnp)  # returns the NumPy array itself
            return nn.Dense(int(np.asarray(y).sum()))(x)
        if self.case == "concrete flag values":
            xi = x.astype(jnp.int32)
            nn.Dropout(0.5)(xi, deterministic=np.array(True))
            return nn.Dropout(0.5)(xi, deterministic=np.array(False))  # int input: an error
        if self.case == "dtype promotion context":
            xb = x.astype(jnp.bfloat16)
            nn.Dense(4)(xb)
            with jax.numpy_dtype_promotion("strict"):
                return nn.Dense(4)(xb)  # bf16 input, f32 kernel: an error under "strict"
        if self.case == "abstract mesh context":
            mesh = jax.make_mesh((1,), ("data",), axis_types=(AxisType.Explicit,))
            y = nn.Dense(8)(nn.Dense(8)(x))
            with jax.sharding.use_abstract_mesh(mesh.abstract_mesh):
                z = nn.Dense(8)(y)  # its variables are typed on the mesh
            return y, z
        if self.case == "identity of outputs":
            b = nn.Dense(4)(nn.Dense(4)(nn.Dense(4)(x)))
            d = nn.LayerNorm()(nn.LayerNorm()(b))
            return nn.Dense(3)(d) if d is b else d  # one shared zeros value made d be b
        if self.case == "identity of variables":
            for _ in range(4):
                x = nn.Dense(4)(x)
            p = self.variables["params"]
            return nn.Dense(3)(x) if p["Dense_2"]["kernel"] is p["Dense_3"]["kernel"] else x
        if self.case == "inside jax.vmap":
            nn.Dense(8)(x[0])
            d = nn.Dense(8)
            return jax.vmap(lambda r: d(r), out_axes=None)(x)  # batched output: an error
        raise ValueError(self.case)


@pytest.mark.parametrize(
    "case",
    [
        "nested attribute types",
        "custom box",
        "pass-through of a concrete input",
        "concrete flag values",
        "dtype promotion context",
        "inside jax.vmap",
        "abstract mesh context",
        "identity of outputs",
        "identity of variables",
    ],
)
def test_calls_that_only_look_repeated_are_traced(case):
    x, xnp = jnp.ones((4, 4)), np.ones((4, 4))
    with_reuse, without = both_outcomes(Collisions(case), x, xnp)
    assert with_reuse == without


class Stack3(nn.Module):
    @nn.compact
    def __call__(self, x):
        for _ in range(3):
            x = nn.Dense(8)(x)
        return x


def test_a_model_run_inside_jax_vmap_by_method_is_traced():
    """`method=` runs the whole model inside a `jax.vmap`: that is not the model's own trace,
    and with `out_axes=None` the full trace raises (the output is batched)."""

    def per_example(m, x):
        return jax.vmap(m, out_axes=None)(x)

    with_reuse, without = both_outcomes(Stack3(), jnp.ones((4, 8)), method=per_example)
    assert with_reuse is without is ValueError
