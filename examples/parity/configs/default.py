"""Default parity config: the digits MLP, CNN and LSTM, torch vs three Flax policies, 10 seeds.

Run from the repository root (what `make demo` runs after the main demo):

    python -m examples.parity.main --config=examples/parity/configs/default.py --workdir=out

Shrink it from the command line, e.g. `--config.num_seeds=2 --config.num_epochs=1
--config.max_train_examples=256` (what `tests/test_parity.py` does in-process).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    """Everything that is the same for torch and every Flax policy; only the init differs."""
    config = ml_collections.ConfigDict()
    config.models = ("mlp", "cnn", "lstm")  # Names of examples/parity/models.py.
    # "torch" is the torch twin with torch's own default init; the others are jaxinit presets
    # applied to the Flax twin. The first entry is the reference the others are tested against.
    config.inits = ("torch", "torch_like", "flax_default", "tf_like")
    config.num_seeds = 10  # Seeds 0..num_seeds-1: seed s fixes the init and the batch order.
    config.num_epochs = 5
    config.batch_size = 32
    # Adam, the same on both sides: torch.optim.Adam(lr, betas=(b1, b2), eps) and
    # optax.adam(lr, b1, b2, eps) (both add eps to sqrt(v_hat); tests/test_parity.py checks it).
    config.learning_rate = 3e-3
    config.b1 = 0.9
    config.b2 = 0.999
    config.eps = 1e-8
    # Train on the first this many training images when > 0 (tests shrink with it); -1: all 1347.
    config.max_train_examples = -1
    config.alpha = 0.05  # Family-wise level of the verdicts (Bonferroni over each policy's rows).
    config.torch_threads = 1  # Tiny models: one thread is faster than two fighting over 2 cores.
    return config
