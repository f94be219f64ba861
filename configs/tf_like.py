"""Keras 3 / tf.keras layer defaults: glorot_uniform kernels, zero biases,
whole-matrix RNN inits, forget bias 1.

Options: `configs/tf_like.py:rank3` reproduces tf.keras and Keras < 3.15, whose attention glorot
sees the rank-3 (E, H, D) kernels; the default (`2d`) is Keras >= 3.15.

Use:
  python -m jaxinit explain --config configs/tf_like.py --model examples.digits.models:cnn
  python -m jaxinit explain --config configs/tf_like.py:rank3 --model examples.digits.models:cnn
"""

import jaxinit


def get_config(attention_fans: str = "2d"):
    return jaxinit.preset("tf_like", attention_fans=attention_fans or "2d").to_config()
