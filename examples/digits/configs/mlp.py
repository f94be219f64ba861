"""The MLP on the 8x8 digits, initialized the way PyTorch would.

Run from the repository root:

    python -m examples.digits.main --config=examples/digits/configs/mlp.py \
        --workdir=out/digits/mlp_torch_like
"""

import ml_collections

from examples.digits.configs import default


def get_config() -> ml_collections.ConfigDict:
    """The default hyperparameters with the MLP."""
    config = default.get_config()
    config.model = "mlp"
    return config
