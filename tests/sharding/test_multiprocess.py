"""Multi-process initialization: 2 processes x 2 CPU devices on loopback, coordinated by
`jax.distributed.initialize` with gloo collectives. Each process must hold only its own shards,
and every shard must equal the same slice of the single-process draw.

Loopback only (127.0.0.1, a free port chosen by the OS), bounded in time, and both processes
are killed if anything fails.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

WORKER = textwrap.dedent(
    r"""
    import json, os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    pid, port = int(sys.argv[1]), sys.argv[2]
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                               process_id=pid, initialization_timeout=60)
    import jax.numpy as jnp, numpy as np, flax.linen as nn, jaxinit
    from jax.sharding import Mesh, PartitionSpec as P
    from flax.traverse_util import flatten_dict

    class M(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Dense(64, name="a")(x)
            x = nn.Embed(128, 64, name="emb")(jnp.zeros((1,), jnp.int32)) + x
            x = nn.LayerNorm(name="ln")(x)
            return nn.Dense(256, name="head")(x)

    m, x, key = M(), jnp.ones((1, 16)), jax.random.key(3)
    mesh = Mesh(np.array(jax.devices()).reshape(2, 2), ("data", "model"))
    rules = [(r"params/a/kernel", P(None, "model")), (r".*/embedding", P("data", "model")),
             (r"params/head/kernel", P("data", "model")), (r"params/head/bias", P("model"))]
    out = {"process": pid, "devices": jax.device_count(), "local": jax.local_device_count(),
           "params": {}}
    for pol in ("torch_like", "tf_like"):
        # The single-process draw, on this process's first local device.
        with jax.default_device(jax.local_devices()[0]):
            ref = flatten_dict(jaxinit.init(m, key, x, policy=pol), sep="/")
        sh = flatten_dict(jaxinit.init(m, key, x, policy=pol, mesh=mesh,
                                       partition_rules=rules), sep="/")
        for k, v in sh.items():
            r = np.asarray(ref[k])
            shards = v.addressable_shards
            out["params"][f"{pol}:{k}"] = {
                "equal": all(np.array_equal(np.asarray(s.data), r[s.index]) for s in shards),
                "local_shards": len(shards),
                "local_bytes": sum(s.data.nbytes for s in shards),
                "bytes": int(r.nbytes),
                "fully_addressable": bool(v.is_fully_addressable),
            }
    print("RESULT " + json.dumps(out), flush=True)
    jax.distributed.shutdown()
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_hold_only_their_shards_and_equal_the_single_process_draw(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = str(_free_port())
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(i), port],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    outputs = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=240)
            assert p.returncode == 0, stderr[-3000:]
            line = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
            assert line, stderr[-3000:]
            outputs.append(json.loads(line[-1][len("RESULT ") :]))
    except subprocess.TimeoutExpired:
        pytest.fail("a worker did not finish within 240 s")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert sorted(o["process"] for o in outputs) == [0, 1]
    for o in outputs:
        assert o["devices"] == 4 and o["local"] == 2
        params = o["params"]
        assert len(params) == 2 * 7  # two presets x (a, emb, ln, head) parameters
        for k, r in params.items():
            assert r["equal"], (o["process"], k)
        # A fully sharded (data x model) array: this process holds half of it, never all.
        emb = params["torch_like:params/emb/embedding"]
        assert not emb["fully_addressable"] and emb["local_bytes"] == emb["bytes"] // 2
        head = params["tf_like:params/head/kernel"]
        assert head["local_shards"] == 2 and head["local_bytes"] == head["bytes"] // 2
