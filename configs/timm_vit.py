"""timm `VisionTransformer` default init (`weight_init=''`: `init_weights` +
`init_weights_vit_timm`): every Linear (qkv, proj, fc1, fc2, head) trunc_normal_(std=.02)
with zero bias; `pos_embed` trunc_normal_(std=.02); `cls_token`/`reg_token` N(0, 1e-6);
the patch embedding Conv (`patch_embed/proj`, any Conv) and the LayerNorms keep torch's defaults
(timm's init skips them): U(+-1/sqrt(fan_in)) kernel and bias, ones/zeros.

Options (`configs/timm_vit.py:key=value,key=value`, values read as Python literals):
  cls_token = 'cls_token|reg_token', pos_embed = 'pos_embed'

Use:
  python -m jaxinit explain --config configs/timm_vit.py --model MODULE:FACTORY
"""

import jaxinit


def get_config(**options):
    return jaxinit.preset("timm_vit", **options).to_config()
