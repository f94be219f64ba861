"""transformers `LlamaModel` / `LlamaForCausalLM` (the base `_init_weights`): q/k/v/o,
gate/up/down projections and an untied `lm_head` N(0, range) (biases, with
`attention_bias`/`mlp_bias`, zero); `embed_tokens` N(0, range) with the `pad_token_id`
row zeroed (LlamaConfig's default is None: no zero row); RMSNorms (`input_layernorm`,
`post_attention_layernorm`, `norm`) ones.

Options (`configs/hf_llama.py:key=value,key=value`, values read as Python literals):
  initializer_range = 0.02, pad_token_id = None, padded = 'embed_tokens'

Use:
  python -m jaxinit explain --config configs/hf_llama.py --model MODULE:FACTORY
"""

import jaxinit


def get_config(**options):
    return jaxinit.preset("hf_llama", **options).to_config()
