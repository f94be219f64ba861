"""TF1 defaults: every floating tf.get_variable is glorot_uniform whatever the
layer; tf.layers biases zero.

Use:
  python -m jaxinit explain --config configs/tf1_like.py --model examples.digits.models:cnn
"""

import jaxinit


def get_config():
    return jaxinit.preset("tf1_like").to_config()
