"""Records TensorFlow's seeded initializer outputs for jaxinit's `tf_seed=` tests.

Run with the separate TensorFlow environment (TF and jaxinit's jax/keras do not share one):

    make refs-tf      # builds .venv-tf (tensorflow-cpu 2.21, tf-keras 2.21) and runs this

It writes `keras_seeded.npz` (the draws) and `keras_seeded.json` (what each draw is) next to
itself. tests/test_tf_seed.py compares jaxinit's `tf_seed=` draws with them; it needs only
these committed files, not TensorFlow.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"  # the Makefile exports jax for the test suite
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # TF's CPU kernels define the numbers

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# Keras classes (jaxinit registers the same names) and non-default hyperparameters.
SCHEMES = [
    ("GlorotUniform", {}),
    ("GlorotNormal", {}),
    ("HeUniform", {}),
    ("HeNormal", {}),
    ("LecunUniform", {}),
    ("LecunNormal", {}),
    ("RandomUniform", {}),
    ("RandomUniform", {"minval": -1.0, "maxval": 3.0}),
    ("RandomNormal", {}),
    ("RandomNormal", {"mean": 1.0, "stddev": 2.0}),
    ("TruncatedNormal", {}),
    ("TruncatedNormal", {"mean": -1.0, "stddev": 0.5}),
    ("VarianceScaling", {}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal"}),
    ("VarianceScaling", {"scale": 0.5, "mode": "fan_avg", "distribution": "uniform"}),
]
SEEDS = [0, 1, 42, -1, 2**31 - 3, 2**31 - 2, 2**40 + 5]
SHAPES = [(2, 2), (3, 5), (7,), (), (0, 3), (3, 3, 4, 6)]
DTYPE_SHAPE = (13, 11)
DTYPES = ["float16", "bfloat16", "float64"]
BIG_SHAPES = [(4099,), (129, 65)]
# Raw tf.random.stateless_* seeds (tf_keras 2.x passes [seed, 0] unreduced).
PAIRS = [(0, 0), (-1, 0), (1, -1), (2**40, 3), (-(2**63), 2**63 - 1), (123, 456)]
RAW_SHAPES = [(5,), (2, 3), (1031,)]


def record() -> None:
    import keras
    import tensorflow as tf

    assert keras.backend.backend() == "tensorflow", keras.backend.backend()
    cases, arrays = [], {}

    def add(kind, out, **meta):
        name = f"c{len(cases)}"
        out = np.asarray(out)
        if out.dtype.name == "bfloat16":  # npz has no bfloat16: store the bits
            out = out.view(np.uint16)
        arrays[name] = out
        cases.append({"id": name, "kind": kind, **meta})

    for cls, kw in SCHEMES:
        for seed in SEEDS:
            for shape in SHAPES:
                init = getattr(keras.initializers, cls)(seed=seed, **kw)
                add(
                    "keras",
                    init(shape, dtype="float32"),
                    scheme=cls,
                    kwargs=kw,
                    seed=seed,
                    shape=list(shape),
                    dtype="float32",
                )
        for dtype in DTYPES:
            init = getattr(keras.initializers, cls)(seed=3, **kw)
            add(
                "keras",
                init(DTYPE_SHAPE, dtype=dtype),
                scheme=cls,
                kwargs=kw,
                seed=3,
                shape=list(DTYPE_SHAPE),
                dtype=dtype,
            )
        if not kw:
            for shape in BIG_SHAPES:
                init = getattr(keras.initializers, cls)(seed=5)
                add(
                    "keras",
                    init(shape, dtype="float32"),
                    scheme=cls,
                    kwargs=kw,
                    seed=5,
                    shape=list(shape),
                    dtype="float32",
                )

    ops = {
        "uniform": lambda sh, s, dt: tf.random.stateless_uniform(sh, s, -2.0, 3.0, dtype=dt),
        "normal": lambda sh, s, dt: tf.random.stateless_normal(sh, s, 0.5, 1.5, dtype=dt),
        "truncated": lambda sh, s, dt: tf.random.stateless_truncated_normal(
            sh, s, 0.5, 1.5, dtype=dt
        ),
    }
    for op, fn in ops.items():
        for pair in PAIRS:
            for shape in RAW_SHAPES:
                for dtype in ("float32", "float16", "float64"):
                    seed = tf.constant(pair, tf.int64)
                    add(
                        "raw",
                        fn(shape, seed, dtype),
                        op=op,
                        seed=list(pair),
                        shape=list(shape),
                        dtype=dtype,
                    )

    # tf_keras 2.x (TF_USE_LEGACY_KERAS / TF <= 2.15's tf.keras) draws with [seed, 0].
    import tf_keras

    for cls in ("GlorotUniform", "HeNormal", "TruncatedNormal"):
        for seed in (0, 7, -1, 2**40):
            init = getattr(tf_keras.initializers, cls)(seed=seed)
            add(
                "tf_keras",
                init((3, 5), dtype="float32"),
                scheme=cls,
                kwargs={},
                seed=seed,
                shape=[3, 5],
                dtype="float32",
            )

    meta = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf_keras": tf_keras.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    np.savez_compressed(os.path.join(HERE, "keras_seeded.npz"), **arrays)
    with open(os.path.join(HERE, "keras_seeded.json"), "w") as f:
        json.dump(meta, f, indent=0)
        f.write("\n")
    print(f"recorded {len(cases)} TF draws (TF {tf.__version__}, Keras {keras.__version__})")


if __name__ == "__main__":
    what = sys.argv[1:] or ["keras"]
    if "keras" in what:
        record()
