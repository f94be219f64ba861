"""Haiku module defaults (uncorrected truncated normals).

Use:
  python -m jaxinit explain --config configs/haiku_like.py --model examples.digits.models:cnn
"""

import jaxinit


def get_config():
    return jaxinit.preset("haiku_like").to_config()
