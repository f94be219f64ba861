"""Train the digits MLP, CNN and LSTM in PyTorch and in Flax under several inits; compare.

Run from the repository root (the second half of `make demo`):

    python -m examples.parity.main --config=examples/parity/configs/default.py --workdir=out

Prints the loss table and the verdict table and writes `<workdir>/parity.png`, `parity.txt` and
`parity.json`. This file only parses flags and loads the config; the logic is in `train.py`.
"""

from absl import app, flags, logging
from ml_collections import config_flags

from examples.parity import train

FLAGS = flags.FLAGS

flags.DEFINE_string("workdir", "out", "Directory for parity.png, parity.txt and parity.json.")
config_flags.DEFINE_config_file(
    "config",
    "examples/parity/configs/default.py",
    "File path to the parity configuration (examples/parity/configs/default.py).",
    lock_config=True,
)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError("Too many command-line arguments.")
    config = FLAGS.config
    logging.debug("config:\n%s", config)  # All of it is also in parity.json.
    print(
        f"== Parity: torch vs its Flax port under {', '.join(config.inits[1:])}: "
        f"{', '.join(config.models)}, {config.num_seeds} seeds, {config.num_epochs} epochs =="
    )
    summary = train.train_and_evaluate(config, FLAGS.workdir)
    print(summary["text"])
    print(f"wrote {summary['png']} ({summary['wall_time_s']:.1f} s)")


if __name__ == "__main__":
    app.run(main)
