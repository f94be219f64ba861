"""The row-by-row GRU on the 8x8 digits, initialized the way PyTorch would.

Run from the repository root:

    python -m examples.digits.main --config=examples/digits/configs/gru.py \
        --workdir=out/digits/gru_torch_like
"""

import ml_collections

from examples.digits.configs import default


def get_config() -> ml_collections.ConfigDict:
    """The default hyperparameters with `nn.RNN(nn.GRUCell(64))` reading 8 rows of 8 pixels."""
    config = default.get_config()
    config.model = "gru"
    config.num_epochs = 10
    return config
