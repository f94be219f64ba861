"""Stable per-parameter keys: `fold_in(root, blake2b32(path))`, so a parameter's values depend
only on the root key and its own path: not on the other parameters, not on jit, not on the
process."""

import os
import subprocess
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax.traverse_util import flatten_dict

import jaxinit
from jaxinit import Policy, Rule

KEY = jax.random.key(11)
POLICY = Policy([Rule(r".*kernel", "glorot_uniform"), Rule(r".*bias", "normal_", {"std": 0.1})])


class MLP(nn.Module):
    extra: bool = False

    @nn.compact
    def __call__(self, x):
        x = nn.Dense(8, name="a")(x)
        if self.extra:
            x = nn.Dense(8, name="inserted")(x)  # a new layer in the middle
        return nn.Dense(3, name="b")(x)


X = jnp.ones((1, 5))


def flat(tree):
    return {k: np.asarray(v) for k, v in flatten_dict(tree, sep="/").items()}


def test_adding_a_layer_changes_no_other_parameter():
    base = flat(jaxinit.init(MLP(), KEY, X, policy=POLICY))
    more = flat(jaxinit.init(MLP(extra=True), KEY, X, policy=POLICY))
    assert set(more) - set(base) == {"params/inserted/kernel", "params/inserted/bias"}
    for p, v in base.items():
        np.testing.assert_array_equal(more[p], v, err_msg=p)


def tree(names):
    return {n: jnp.zeros((6, 6)) for n in names}


P = Policy([Rule(r".*", "glorot_uniform")])


def test_renaming_one_parameter_changes_only_it():
    a = jaxinit.init(tree(["w0", "w1", "w2", "w3"]), KEY, policy=P)
    b = jaxinit.init(tree(["w0", "w1", "renamed", "w3"]), KEY, policy=P)
    for n in ("w0", "w1", "w3"):
        np.testing.assert_array_equal(a[n], b[n])
    assert not np.array_equal(a["w2"], b["renamed"])
    c = jaxinit.init(tree(["w0", "w3"]), KEY, policy=P)  # removing parameters
    np.testing.assert_array_equal(a["w3"], c["w3"])


def test_same_values_eagerly_and_under_jit():
    eager = jaxinit.init(tree(["w0", "w1"]), KEY, policy=P)
    jitted = jax.jit(lambda k: jaxinit.init(tree(["w0", "w1"]), k, policy=P))(KEY)
    for n in ("w0", "w1"):
        np.testing.assert_array_equal(eager[n], jitted[n])
    lin = jax.jit(lambda k: jaxinit.init(MLP(), k, X, policy=POLICY))(KEY)
    ref = flat(jaxinit.init(MLP(), KEY, X, policy=POLICY))
    for p, v in flat(lin).items():
        np.testing.assert_array_equal(v, ref[p], err_msg=p)


def test_path_key_reproduces_a_parameter_and_vmap_equals_per_key():
    names = [f"w{i}" for i in range(4)]
    out = jaxinit.init(
        tree(names), KEY, policy=P
    )  # batched: one program for the four (6, 6) leaves
    init = jaxinit.get("glorot_uniform")
    for n in names:
        np.testing.assert_array_equal(out[n], init(jaxinit.path_key(KEY, n), (6, 6), jnp.float32))
    params = jaxinit.init(MLP(), KEY, X, policy=POLICY)["params"]
    np.testing.assert_array_equal(
        params["b"]["bias"],
        jaxinit.get("normal_", std=0.1)(jaxinit.path_key(KEY, "params/b/bias"), (3,), jnp.float32),
    )
    # The key is the documented fold_in of a BLAKE2b hash, not Python's salted hash.
    import hashlib

    h = int.from_bytes(hashlib.blake2b(b"w1", digest_size=4).digest(), "little")
    assert jnp.array_equal(
        jax.random.key_data(jaxinit.path_key(KEY, "w1")),
        jax.random.key_data(jax.random.fold_in(KEY, np.uint32(h))),
    )


SCRIPT = """
import jax, jax.numpy as jnp, numpy as np, jaxinit
p = jaxinit.Policy([jaxinit.Rule(r".*", "glorot_uniform")])
out = jaxinit.init({n: jnp.zeros((6, 6)) for n in ["w0", "w1"]}, jax.random.key(11), policy=p)
np.save(__import__("sys").argv[1], np.stack([out["w0"], out["w1"]]))
"""


def test_same_values_in_a_fresh_process(tmp_path):
    here = jaxinit.init(tree(["w0", "w1"]), KEY, policy=P)
    path = tmp_path / "out.npy"
    env = dict(os.environ, PYTHONHASHSEED="12345")  # a different str-hash salt
    subprocess.run([sys.executable, "-c", SCRIPT, str(path)], check=True, env=env, timeout=300)
    there = np.load(path)
    np.testing.assert_array_equal(there[0], here["w0"])
    np.testing.assert_array_equal(there[1], here["w1"])
