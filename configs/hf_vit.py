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

import jaxinit


def get_config(**options):
    return jaxinit.preset("hf_vit", **options).to_config()
