"""Sharded initialization on 8 simulated CPU devices, in a subprocess (the device count is
fixed when JAX starts, so the rest of the suite keeps its single device)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    r"""
    import os, json
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    import jax, jax.numpy as jnp, numpy as np, flax.linen as nn, jaxinit
    from jax.sharding import Mesh, PartitionSpec as P
    from flax.traverse_util import flatten_dict

    class Layer(nn.Module):
        @nn.compact
        def __call__(self, x, _):
            return nn.Dense(32)(x), None

    class M(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Dense(64, kernel_init=nn.with_partitioning(
                nn.initializers.lecun_normal(), (None, "model")))(x)
            x = nn.Dense(32, kernel_init=nn.with_logical_partitioning(
                nn.initializers.lecun_normal(), ("mlp", "embed")))(x)
            x = nn.Embed(256, 32)(jnp.zeros((2,), jnp.int32)) + x
            x = nn.LayerNorm()(x)
            x, _ = nn.scan(Layer, variable_axes={"params": 0}, split_rngs={"params": True},
                           length=4)(name="layers")(x, None)  # stacked (4, 32, 32)
            x = nn.RNN(nn.LSTMCell(16))(x[:, None].repeat(3, 1))
            return nn.Dense(512, name="head")(x)

    mesh = Mesh(np.array(jax.devices()).reshape(2, 4), ("data", "model"))
    m, x, key = M(), jnp.ones((2, 16)), jax.random.key(0)
    rules = [(r".*/embedding", P("model", None)), (r".*/hi/kernel", P(None, "model")),
             (r"params/head/kernel", P("data", "model")),
             (r"params/layers/.*/kernel", P("data", None, "model"))]
    out = {"devices": jax.device_count(), "policies": {}}
    for pol in ["torch_like", "tf_like", "flax_default"]:
        ref = flatten_dict(jaxinit.init(m, key, x, policy=pol), sep="/")
        sh = flatten_dict(jaxinit.init(m, key, x, policy=pol, mesh=mesh, partition_rules=rules,
                                       logical_axis_rules=[("mlp", "model"), ("embed", None)]),
                          sep="/")
        res = {}
        for k in ref:
            a = ref[k].unbox() if hasattr(ref[k], "unbox") else ref[k]
            b = sh[k].unbox() if hasattr(sh[k], "unbox") else sh[k]
            res[k] = {
                "equal": bool(np.array_equal(np.asarray(a), np.asarray(b))),
                "boxed": hasattr(sh[k], "unbox"),
                "spec": [None if s is None else s for s in b.sharding.spec],
                "shard_shapes": sorted({tuple(s.data.shape) for s in b.addressable_shards}),
                "per_device_bytes": max(s.data.nbytes for s in b.addressable_shards),
                "bytes": int(b.nbytes),
            }
        out["policies"][pol] = res
    # A scheme with shard-local sampling compiles to a program whose per-device temporaries
    # are far below the full parameter (no device holds a full copy).
    from jaxinit._src.draw import _unit_program
    from jax.sharding import NamedSharding
    init_sh = NamedSharding(mesh, P("data", "model"))
    fn = _unit_program("torch_kernel", (), (4096, 1024), "float32",
                       (((4096, 1024), None, 0, 0),), (init_sh,), True)
    mem = fn.lower(key, np.uint32(1)).compile().memory_analysis()
    out["memory"] = {"temp": int(mem.temp_size_in_bytes), "output": int(mem.output_size_in_bytes),
                     "full": 4096 * 1024 * 4}
    # NNX and pytrees: a value that is sharded stays sharded (same sharding), bit-identical to
    # the single-device result; an abstract module under set_mesh lands sharded.
    from flax import nnx
    from jax.sharding import NamedSharding
    def linear(names=("data", "model")):
        init = nnx.initializers.lecun_normal()
        return nnx.Linear(16, 32, rngs=nnx.Rngs(0),
                          kernel_init=nnx.with_partitioning(init, names) if names else init)
    single = linear(None)
    jaxinit.init(single, key, policy="torch_like")
    with jax.set_mesh(mesh):
        eager = linear()
        before = str(eager.kernel.get_value().sharding.spec)
        jaxinit.init(eager, key, policy="torch_like")
        abstract = nnx.eval_shape(linear)
        jaxinit.init(abstract, key, policy="torch_like")
    w = jax.device_put(jnp.ones((8, 16)), NamedSharding(mesh, P("model", None)))
    glorot = jaxinit.Policy([jaxinit.Rule("w", "glorot_uniform")])
    tree = jaxinit.init({"w": w}, key, policy=glorot)
    ref = jaxinit.init({"w": jnp.ones((8, 16))}, key, policy=glorot)
    out["nnx"] = {
        "before": before,
        "eager": str(eager.kernel.get_value().sharding.spec),
        "abstract": str(abstract.kernel.get_value().sharding.spec),
        "eager_equal": bool(np.array_equal(eager.kernel.get_value(), single.kernel.get_value())),
        "abstract_equal": bool(np.array_equal(abstract.kernel.get_value(),
                                              single.kernel.get_value())),
        "pytree": str(tree["w"].sharding.spec),
        "pytree_equal": bool(np.array_equal(tree["w"], ref["w"])),
    }
    print("RESULT" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def result():
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    p = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600
    )
    assert p.returncode == 0, p.stderr[-3000:]
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def test_eight_devices(result):
    assert result["devices"] == 8


@pytest.mark.parametrize("policy", ["torch_like", "tf_like", "flax_default"])
def test_bit_identical_to_unsharded(result, policy):
    res = result["policies"][policy]
    assert res and all(r["equal"] for r in res.values()), [
        k for k, r in res.items() if not r["equal"]
    ]


@pytest.mark.parametrize("policy", ["torch_like", "tf_like", "flax_default"])
def test_shard_shapes_follow_rules_and_metadata(result, policy):
    res = result["policies"][policy]
    assert res["params/Embed_0/embedding"]["spec"] == ["model", None]
    assert res["params/Embed_0/embedding"]["shard_shapes"] == [[64, 32]]
    assert res["params/Dense_0/kernel"]["spec"] == [None, "model"]  # nn.with_partitioning
    assert res["params/Dense_0/kernel"]["boxed"]  # metadata preserved
    assert res["params/Dense_1/kernel"]["spec"] == ["model", None]  # logical rules
    assert res["params/head/kernel"]["shard_shapes"] == [[8, 128]]
    assert res["params/LSTMCell_0/hi/kernel"]["shard_shapes"] == [[16, 4]]
    assert res["params/LayerNorm_0/scale"]["spec"] == []  # replicated
    # A layer stack from nn.scan, sharded over its layer axis too.
    assert res["params/layers/Dense_0/kernel"]["shard_shapes"] == [[2, 32, 8]]
    head = res["params/head/kernel"]
    assert head["per_device_bytes"] * 8 == head["bytes"]


def test_no_device_holds_a_full_copy(result):
    mem = result["memory"]
    # Each of the 8 devices outputs 1/8 of the parameter and needs temporaries well under it.
    assert mem["output"] == mem["full"] // 8
    assert mem["temp"] < mem["full"] // 2


def test_nnx_and_pytree_values_keep_their_sharding(result):
    r = result["nnx"]
    assert r["before"] == "P('data', 'model')"
    assert r["eager"] == r["before"] and r["abstract"] == r["before"]
    assert r["eager_equal"] and r["abstract_equal"]
    assert r["pytree"] == "P('model', None)" and r["pytree_equal"]
