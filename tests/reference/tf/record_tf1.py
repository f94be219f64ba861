"""Records TF1 (`tf.compat.v1`, graph mode) initial values for the tf1_like conformance rows.

Run by `make refs-tf` after record_tf.py, in the TensorFlow environment, with tf_keras as
Keras 2 (TF_USE_LEGACY_KERAS=1, which tf.compat.v1's layers and rnn_cell need). Writes
`tf1_layers.npz` (the first N_KEEP values of each variable, pooled over fresh initializations,
float32) and `tf1_layers.json` (shapes, the glorot bound TF1's fans give, how many values).
tests/conformance/tf1/test_tf1_rows.py compares tf1_like with them.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import math  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
N_KEEP = 20_000
FIN, H = 9, 11  # input features, hidden size


def _pooled(build, names):
    """Values of the variables whose names contain `names`, over fresh initializations."""
    import tensorflow as tf

    v1 = tf.compat.v1
    out = {k: [] for k in names}
    seed = 0
    while min(sum(a.size for a in v) for v in out.values()) < N_KEEP:
        g = tf.Graph()
        with g.as_default():
            v1.set_random_seed(seed)
            build(v1)
            with v1.Session() as sess:
                sess.run(v1.global_variables_initializer())
                for var in v1.global_variables():
                    for k in names:
                        if k in var.name:
                            out[k].append(sess.run(var))
        seed += 1
    shapes = {k: list(v[0].shape) for k, v in out.items()}
    return {k: np.concatenate([a.ravel() for a in v])[:N_KEEP] for k, v in out.items()}, shapes


def record() -> None:
    import tensorflow as tf

    v1 = tf.compat.v1
    v1.disable_eager_execution()
    cases, arrays = [], {}

    def cell(kind):
        def build(v1):
            x = v1.placeholder(tf.float32, (1, FIN))
            c = {
                "lstm": lambda: v1.nn.rnn_cell.LSTMCell(H),
                "gru": lambda: v1.nn.rnn_cell.GRUCell(H),
                "rnn": lambda: v1.nn.rnn_cell.BasicRNNCell(H),
            }[kind]()
            c(x, c.zero_state(1, tf.float32))

        return build

    def sep(v1):
        x = v1.placeholder(tf.float32, (1, 8, 8, 5))
        v1.layers.separable_conv2d(x, 4, 3, depth_multiplier=2)

    specs = [
        ("lstm", cell("lstm"), ["kernel", "bias"]),
        ("gru", cell("gru"), ["gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias"]),
        ("rnn", cell("rnn"), ["kernel", "bias"]),
        ("separable_conv2d", sep, ["depthwise_kernel", "pointwise_kernel"]),
    ]
    for layer, build, names in specs:
        vals, shapes = _pooled(build, names)
        for k, a in vals.items():
            sh = shapes[k]
            if len(sh) == 2:
                fi, fo = sh
            elif len(sh) == 4:
                rf = sh[0] * sh[1]
                fi, fo = sh[2] * rf, sh[3] * rf
            else:
                fi = fo = None
            bound = math.sqrt(6.0 / (fi + fo)) if fi else None
            name = f"{layer}/{k}"
            arrays[name] = a.astype(np.float32)
            cases.append(
                {
                    "layer": layer,
                    "variable": k,
                    "shape": sh,
                    "glorot_bound": bound,
                    "n": int(a.size),
                    "fin": FIN,
                    "hidden": H,
                }
            )
    meta = {"tensorflow": tf.__version__, "cases": cases}
    np.savez_compressed(os.path.join(HERE, "tf1_layers.npz"), **arrays)
    with open(os.path.join(HERE, "tf1_layers.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"recorded {len(cases)} TF1 variables (TF {tf.__version__})")


if __name__ == "__main__":
    record()
