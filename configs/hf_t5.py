"""transformers `T5Model` (`T5PreTrainedModel._init_weights`, `factor` =
`initializer_factor`): `shared` and `embed_tokens` N(0, factor); attention q N(0, factor
(d_model d_kv)^-1/2), k and v factor d_model^-1/2, o factor (num_heads d_kv)^-1/2;
feed-forward `wi` (`wi_0`/`wi_1` gated) factor d_model^-1/2, `wo` factor d_ff^-1/2;
`relative_attention_bias` (block 0 of each stack) factor d_model^-1/2; the layer norms'
scale = factor (not 1). T5's Linears have no bias. The sizes cannot all be read from the
shapes (q's kernel is (d_model, heads d_kv), the bias table (buckets, heads)): pass the
model's; the defaults are `T5Config()`'s (t5-small). In transformers 5 `lm_head` is tied
to `shared`.

Options (`configs/hf_t5.py:key=value,key=value`, values read as Python literals):
  d_model = 512, d_kv = 64, num_heads = 8, d_ff = 2048, factor = 1.0, q = 'q', kv = 'k|v',
  o = 'o', wi = 'wi|wi_0|wi_1', wo = 'wo', relative_bias = 'relative_attention_bias'

Use:
  python -m jaxinit explain --config configs/hf_t5.py --model MODULE:FACTORY
"""

import jaxinit


def get_config(**options):
    return jaxinit.preset("hf_t5", **options).to_config()
