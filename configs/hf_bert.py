"""transformers `BertModel` / `BertForMaskedLM` (`BertPreTrainedModel._init_weights`):
every Linear (query/key/value/dense, pooler) N(0, range) with zero bias; the embeddings
(`word_embeddings`, `position_embeddings`, `token_type_embeddings`) N(0, range), the
`pad_token_id` row of `padded` zeroed (0 for BERT, 1 for RoBERTa, None: no zero row);
LayerNorm ones/zeros; the MLM head's own bias (`lm_bias`, a `self.param`) zero.

Options (`configs/hf_bert.py:key=value,key=value`, values read as Python literals):
  initializer_range = 0.02, pad_token_id = 0, padded = 'word_embeddings',
  lm_bias = 'predictions/bias'

Use:
  python -m jaxinit explain --config configs/hf_bert.py --model MODULE:FACTORY
"""

import jaxinit


def get_config(**options):
    return jaxinit.preset("hf_bert", **options).to_config()
