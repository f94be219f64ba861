"""The shipped presets, also available as config files under `configs/`.

>>> import jaxinit
>>> jaxinit.presets.torch_like().name
'torch_like'
"""

from jaxinit._src import presets as _presets  # noqa: F401  (first: it registers the ported ones)
from jaxinit._src.ported_presets import hf_bert as hf_bert
from jaxinit._src.ported_presets import hf_gpt2 as hf_gpt2
from jaxinit._src.ported_presets import hf_llama as hf_llama
from jaxinit._src.ported_presets import hf_t5 as hf_t5
from jaxinit._src.ported_presets import hf_vit as hf_vit
from jaxinit._src.ported_presets import timm_vit as timm_vit
from jaxinit._src.ported_presets import torchvision_resnet as torchvision_resnet
from jaxinit._src.presets import flax_default as flax_default
from jaxinit._src.presets import get as get
from jaxinit._src.presets import haiku_like as haiku_like
from jaxinit._src.presets import names as names
from jaxinit._src.presets import tf1_like as tf1_like
from jaxinit._src.presets import tf_like as tf_like
from jaxinit._src.presets import torch_like as torch_like

__all__ = (
    "flax_default",
    "get",
    "haiku_like",
    "hf_bert",
    "hf_gpt2",
    "hf_llama",
    "hf_t5",
    "hf_vit",
    "names",
    "tf1_like",
    "tf_like",
    "timm_vit",
    "torch_like",
    "torchvision_resnet",
)
