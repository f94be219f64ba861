"""Train a model on the 8x8 digits from the init policy named in a config file.

Run from the repository root, for example:

    python -m examples.digits.main --config=examples/digits/configs/default.py \
        --workdir=out/digits/cnn_torch_like --config.init_policy=tf_like

This file only parses flags and loads the config; the logic is in `train.py`.
"""

from absl import app, flags, logging
from ml_collections import config_flags

from examples.digits import train

FLAGS = flags.FLAGS

flags.DEFINE_string("workdir", None, "Directory for results.json and loss.png.")
config_flags.DEFINE_config_file(
    "config",
    None,
    "File path to the training configuration (examples/digits/configs/*.py).",
    lock_config=True,
)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError("Too many command-line arguments.")
    logging.info("config:\n%s", FLAGS.config)
    train.train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
    flags.mark_flags_as_required(["config", "workdir"])
    app.run(main)
