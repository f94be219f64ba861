"""The shipped presets, also available as config files under `configs/`.

>>> import jaxinit
>>> jaxinit.presets.torch_like().name
'torch_like'
"""

from jaxinit._src.presets import flax_default as flax_default
from jaxinit._src.presets import get as get
from jaxinit._src.presets import haiku_like as haiku_like
from jaxinit._src.presets import names as names
from jaxinit._src.presets import tf1_like as tf1_like
from jaxinit._src.presets import tf_like as tf_like
from jaxinit._src.presets import torch_like as torch_like

__all__ = ("flax_default", "get", "haiku_like", "names", "tf1_like", "tf_like", "torch_like")
