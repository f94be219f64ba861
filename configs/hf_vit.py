"""transformers `ViTModel` (`ViTPreTrainedModel._init_weights`, 5.x): Linear and the
patch Conv N(0, range) (a plain normal; 4.x used a truncated normal with absolute bounds
+-2, the same distribution at these stds) with zero bias; `cls_token` and
`position_embeddings` (`self.param`s, `tokens`) trunc_normal_(std=range) (bounds +-2);
`mask_token` zero; LayerNorm ones/zeros.

Options (`configs/hf_vit.py:key=value,key=value`, values read as Python literals):
  initializer_range = 0.02, tokens = 'cls_token|position_embeddings', mask_token = 'mask_token'

Use:
  python -m jaxinit explain --config configs/hf_vit.py --model MODULE:FACTORY
"""

from jaxinit._src.ported_presets import from_arg


def get_config(arg: str | None = None):
    return from_arg("hf_vit", arg).to_config()
