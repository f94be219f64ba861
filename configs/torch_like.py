"""PyTorch 2.x module defaults (torch.nn Linear, Conv, ConvTranspose, Embedding,
RNN, MultiheadAttention, norms).

Use:
  python -m jaxinit explain --config configs/torch_like.py --model examples.digits.models:cnn
"""

import jaxinit


def get_config():
    return jaxinit.preset("torch_like").to_config()
