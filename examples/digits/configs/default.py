"""Default config: the CNN on the 8x8 digits, initialized the way PyTorch would.

Run from the repository root:

    python -m examples.digits.main --config=examples/digits/configs/default.py \
        --workdir=out/digits/cnn_torch_like

Change the initialization with `--config.init_policy=tf_like` (or `flax_default`, `tf1_like`,
`haiku_like`, or the path of a policy config file).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    """The CNN hyperparameters; the other configs start from these."""
    config = ml_collections.ConfigDict()
    # A factory of examples/digits/models.py by name, or a "package.module:function" reference.
    config.model = "cnn"
    # A jaxinit preset name or the path of a policy config file: the only place the init is chosen.
    config.init_policy = "torch_like"
    config.optimizer = "adam"  # "adam" or "sgd" (with `momentum`).
    config.learning_rate = 3e-3
    config.momentum = 0.9  # Used by "sgd" only.
    config.batch_size = 32
    config.num_epochs = 5
    config.seed = 0  # Initialization and shuffling; the train/test split is fixed separately.
    # Shrinks an epoch to this many steps when > 0 (tests use it); -1 runs every batch.
    config.max_steps_per_epoch = -1
    config.progress_bar = True  # A text progress bar on stderr.
    return config
