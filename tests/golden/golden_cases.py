"""The cases the golden-values test guards, and how each is hashed.

Run as a script to (re)record `golden.json` from the code in the working tree:

    .venv/bin/python tests/golden/golden_cases.py            # writes tests/golden/golden.json

The committed file was recorded from commit 8f47afc (before the draw engine of issue 10), with
the test suite's XLA flags (tests/conftest.py); `test_golden.py` recomputes every hash and fails
on any changed bit. Re-record only for a change that is meant to move values, and say which
entries moved in the commit message.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
)

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax.traverse_util import flatten_dict  # noqa: E402

import jaxinit  # noqa: E402

GOLDEN = pathlib.Path(__file__).with_name("golden.json")
PRESETS = ("torch_like", "tf_like", "tf1_like", "flax_default", "haiku_like")


def digest(x) -> str:
    """sha256 over dtype, shape and the raw bytes: any changed bit changes it."""
    a = np.asarray(x.unbox() if hasattr(x, "unbox") else x)
    h = hashlib.sha256(f"{a.dtype}|{a.shape}|".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:32]


class _Layer(nn.Module):
    @nn.compact
    def __call__(self, x, _):
        return nn.Dense(24, name="fc")(x), None


class Zoo(nn.Module):
    """One of every layer kind the presets have rules for."""

    @nn.compact
    def __call__(self, img, tokens):
        x = nn.Conv(16, (3, 3), name="conv")(img)
        x = nn.BatchNorm(use_running_average=False, name="bn")(x)
        x = nn.Conv(16, (3, 3), feature_group_count=4, name="grouped")(x)
        x = nn.Conv(32, (3, 3), feature_group_count=16, name="depthwise")(x)
        x = nn.ConvTranspose(8, (2, 2), strides=(2, 2), name="deconv")(x)
        x = nn.ConvTranspose(8, (3, 3), transpose_kernel=True, name="deconv_t")(x)
        x = nn.LayerNorm(name="ln")(x.mean(axis=(1, 2)))
        e = nn.Embed(97, 24, name="embed")(tokens)
        e = nn.MultiHeadDotProductAttention(num_heads=4, name="attn")(e, e)
        e = nn.RNN(nn.LSTMCell(20), name="lstm")(e)
        e = nn.RNN(nn.GRUCell(12), name="gru")(e)
        e = nn.RNN(nn.OptimizedLSTMCell(10), name="olstm")(e)
        h = nn.Dense(24, name="proj")(jnp.concatenate([x, e.mean(axis=1)], axis=-1))
        h, _ = nn.scan(_Layer, variable_axes={"params": 0}, split_rngs={"params": True}, length=3)(
            name="stack"
        )(h, None)
        return nn.Dense(10, name="head")(h)


def PYTREE_POLICY():
    return jaxinit.Policy(
        [
            jaxinit.Rule(r"dense/kernel", "kaiming_uniform_", {"a": 5**0.5}),
            jaxinit.Rule(r"dense/bias", "torch_bias", {"fan_in": "ctx:kernel_fan_in"}),
        ]
    )


def zoo_inputs():
    return Zoo(), (jnp.ones((2, 8, 8, 3)), jnp.zeros((2, 5), jnp.int32))


# Registry draws: every scheme's default hyperparameters (those with required ones get the
# values listed here), at shapes around the sizes where a drawing engine may switch strategy
# (powers of two, 2**20, 2**22) and one draw of more than 2**24 values.
REQUIRED_HP = {
    "torch_bias": {"fan_in": 7},
    "torch_rnn": {"hidden_size": 16},
    "constant": {"value": 0.5},
    "variance_scaling": {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"},
    "VarianceScaling": {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"},
}
SHAPES = [
    (7, 5),
    (64, 33),
    (3, 3, 4, 8),
    (1023,),
    (32, 32),
    (1025, 1),
    (512, 2048),
    (1024, 1025),
    (2048, 2049),
]
BIG_SCHEMES = ("normal_", "uniform_", "kaiming_uniform_", "trunc_normal_", "glorot_normal")
BIG_SHAPE = (4097, 4097)  # 16_785_409 values > 2**24
DTYPES = ("float32", "bfloat16")
SKIP = {"orthogonal", "delta_orthogonal", "Orthogonal", "orthogonal_", "sparse", "sparse_"}


def scheme_cases():
    """(label, scheme, hp, shape, dtype) for every registry case."""
    out = []
    for name in sorted(set(jaxinit.names()) | set(RENAMED)):
        hp = REQUIRED_HP.get(name, {})
        try:
            init = jaxinit.get(RENAMED.get(name, name), **hp)
        except Exception:  # noqa: BLE001 - schemes that need hyperparameters we did not list
            continue
        del init
        shapes = SHAPES if name not in SKIP else [(7, 5), (64, 33), (3, 3, 4, 8)]
        for shape in shapes:
            for dt in DTYPES if shape == (64, 33) else ("float32",):
                out.append((f"{name}|{shape}|{dt}", name, hp, shape, dt))
    for name in BIG_SCHEMES:
        out.append((f"{name}|{BIG_SHAPE}|float32", name, {}, BIG_SHAPE, "float32"))
    return out


# Through the draw engine (a one-rule policy on a pytree): every scheme at two shapes, and the
# common ones at sizes on both sides of the engine's size classes and chunk (2**10 ... 2**22)
# and above 2**24.
ENGINE_SHAPES = [(64, 33), (3, 3, 4, 8)]
BOUNDARY_SCHEMES = (
    ("uniform_", {}),
    ("normal_", {"std": 0.02}),
    ("torch_kernel", {}),
    ("torch_bias", {"fan_in": 3}),
    ("glorot_normal", {}),
    ("trunc_normal_", {"std": 0.02}),
)
BOUNDARY_SIZES = [1000, 1024, 1025, 8193, 2**19 + 1, 2**22 - 1, 2**22, 2**22 + 1, 2**24 + 2**22 + 7]


def engine_cases():
    out = []
    for name in sorted(set(jaxinit.names()) | set(RENAMED)):
        hp = REQUIRED_HP.get(name, {})
        try:
            jaxinit.get(RENAMED.get(name, name), **hp)
        except Exception:  # noqa: BLE001
            continue
        for shape in ENGINE_SHAPES:
            out.append((f"{name}|{shape}|float32", name, hp, shape, "float32"))
    for name, hp in BOUNDARY_SCHEMES:
        for n in BOUNDARY_SIZES:
            shape = (n // 8, 8) if n % 8 == 0 else (n,)
            out.append((f"{name}{hp}|{shape}|float32", name, hp, shape, "float32"))
        out.append((f"{name}{hp}|(1025, 7)|bfloat16", name, hp, (1025, 7), "bfloat16"))
    return out


def engine_digest(name, hp, shape, dtype, key) -> str | None:
    policy = jaxinit.Policy([jaxinit.Rule("w", RENAMED.get(name, name), hp)])
    try:
        out = jaxinit.init({"w": jnp.zeros(shape, dtype)}, key, policy=policy)
    except jaxinit.JaxinitError:
        return None
    return digest(out["w"])


def scheme_digest(name, hp, shape, dtype, key) -> str | None:
    try:
        x = jaxinit.get(name, **hp)(key, shape, jnp.dtype(dtype))
    except jaxinit.JaxinitError:
        return None  # a shape the scheme refuses (rank limits): recorded as refused
    return digest(x)


# Names whose meaning changed on purpose after the recording (issue 13: unprefixed names mean
# what JAX/Flax mean by them): their recorded draws are reproduced by the name that kept the
# old meaning.
RENAMED = {"normal": "normal_", "uniform": "uniform_"}


def record(labels: dict | None = None) -> dict:
    """Every digest; with `labels` ({section: labels}), only those cases of the scheme
    sections (the recorded ones: names registered later are not golden)."""
    key = jax.random.key(20261201)
    model, args = zoo_inputs()
    out: dict = {"recorded_from": os.environ.get("GOLDEN_COMMIT", "working tree")}
    presets = {}
    for p in PRESETS:
        eager = flatten_dict(jaxinit.init(model, key, *args, policy=p), sep="/")
        presets[p] = {k: digest(v) for k, v in eager.items()}
    out["presets"] = presets
    # A plain pytree through the pytree path.
    tree = {"dense": {"kernel": jnp.zeros((33, 17)), "bias": jnp.zeros((17,))}}
    out["pytree"] = {
        k: digest(v)
        for k, v in flatten_dict(jaxinit.init(tree, key, policy=PYTREE_POLICY()), sep="/").items()
    }
    # Under an outer jax.jit (the key is a tracer: every program is inlined).
    jitted = jax.jit(lambda k: jaxinit.init(model, k, *args, policy="torch_like"))
    out["jit_torch_like"] = {k: digest(v) for k, v in flatten_dict(jitted(key), sep="/").items()}

    def pick(section, cases):
        keep = None if labels is None else labels[section]
        return [c for c in cases if keep is None or c[0] in keep]

    out["schemes"] = {
        label: scheme_digest(RENAMED.get(name, name), hp, shape, dt, key)
        for label, name, hp, shape, dt in pick("schemes", scheme_cases())
    }
    out["engine"] = {
        label: engine_digest(name, hp, shape, dt, key)
        for label, name, hp, shape, dt in pick("engine", engine_cases())
    }
    return out


if __name__ == "__main__":
    res = record()
    path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN
    path.write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    print(
        f"wrote {path}: {sum(len(v) for v in res['presets'].values())} preset arrays, "
        f"{len(res['schemes'])} scheme draws"
    )
