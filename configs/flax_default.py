"""Exactly the distributions Flax's own modules use (the baseline to compare against).

Use:
  python -m jaxinit explain --config configs/flax_default.py --model examples.digits.models:cnn
"""

import jaxinit


def get_config():
    return jaxinit.preset("flax_default").to_config()
