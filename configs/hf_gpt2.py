"""transformers `GPT2Model` / `GPT2LMHeadModel`: every Conv1D (`c_attn`, `c_fc`, `c_proj`,
already (in, out) like a Flax Dense kernel) and Linear N(0, range) with zero bias;
the residual projections (`residual`: `attn.c_proj` and `mlp.c_proj`) N(0, range /
sqrt(2 n_layer)); `wte`/`wpe` N(0, range); LayerNorms (`ln_1`, `ln_2`, `ln_f`) ones/zeros.
The head is tied to `wte` (a port calls `wte.attend`). `n_layer` defaults to
`GPT2Config()`'s 12: pass the model's.

Options (`configs/hf_gpt2.py:key=value,key=value`, values read as Python literals):
  n_layer = 12, initializer_range = 0.02, residual = 'c_proj', pad_token_id = None,
  padded = 'wte'

Use:
  python -m jaxinit explain --config configs/hf_gpt2.py --model MODULE:FACTORY
"""

import jaxinit


def get_config(**options):
    return jaxinit.preset("hf_gpt2", **options).to_config()
