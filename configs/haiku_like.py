"""Haiku module defaults (uncorrected truncated normals).

Use:
  python -m jaxinit explain --config configs/haiku_like.py --model examples.digits.models:cnn
"""

from jaxinit import presets


def get_config():
    return presets.haiku_like().to_config()
