"""Small Flax (linen) models for the 8x8 digits, and the factories that build them.

Every model takes images of shape `(batch, 8, 8, 1)` with pixels in [0, 1] and returns logits of
shape `(batch, 10)`. Each factory returns `(module, example_input)`, the pair the training script
and the `jaxinit` command line (`--model examples.digits.models:cnn`) initialize from.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Literal

import flax.linen as nn
import jax
import jax.numpy as jnp

NUM_CLASSES = 10
IMAGE_SHAPE = (8, 8, 1)  # scikit-learn's load_digits(): 8x8 grey images, one channel.


class MLP(nn.Module):
    """Flatten, then `Dense -> relu` per hidden width, then a `Dense` classifier."""

    features: Sequence[int] = (128, 64)
    num_classes: int = NUM_CLASSES

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.reshape((x.shape[0], -1))
        for i, width in enumerate(self.features):
            x = nn.relu(nn.Dense(width, name=f"hidden_{i}")(x))
        return nn.Dense(self.num_classes, name="classifier")(x)


class CNN(nn.Module):
    """Two `Conv -> relu -> avg_pool` blocks (8x8 -> 4x4 -> 2x2), then `Dense` layers."""

    features: Sequence[int] = (16, 32)
    hidden: int = 64
    num_classes: int = NUM_CLASSES

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i, width in enumerate(self.features):
            x = nn.Conv(width, kernel_size=(3, 3), name=f"conv_{i}")(x)
            x = nn.avg_pool(nn.relu(x), window_shape=(2, 2), strides=(2, 2))
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(self.hidden, name="hidden")(x))
        return nn.Dense(self.num_classes, name="classifier")(x)


class RowRNN(nn.Module):
    """Read each digit row by row (8 steps of 8 features) with an LSTM or GRU cell.

    The classifier reads the last hidden state.
    """

    cell: Literal["lstm", "gru"] = "lstm"
    hidden: int = 64
    num_classes: int = NUM_CLASSES

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        rows = x.reshape((x.shape[0], x.shape[1], -1))  # (batch, time=8 rows, 8 pixels)
        if self.cell == "lstm":
            cell = nn.LSTMCell(self.hidden, name="cell")
        else:
            cell = nn.GRUCell(self.hidden, name="cell")
        outputs = nn.RNN(cell, name="rnn")(rows)
        return nn.Dense(self.num_classes, name="classifier")(outputs[:, -1])


def example_input(batch_size: int = 1) -> jax.Array:
    """A zeros batch of digits, what `model.init` (and `jaxinit.init`) trace the model on."""
    return jnp.zeros((batch_size, *IMAGE_SHAPE), jnp.float32)


def mlp(*, features: Sequence[int] = (128, 64)) -> tuple[nn.Module, jax.Array]:
    """The MLP and an example input."""
    return MLP(features=tuple(features)), example_input()


def cnn(*, features: Sequence[int] = (16, 32), hidden: int = 64) -> tuple[nn.Module, jax.Array]:
    """The CNN and an example input."""
    return CNN(features=tuple(features), hidden=hidden), example_input()


def lstm(*, hidden: int = 64) -> tuple[nn.Module, jax.Array]:
    """The row-by-row LSTM (`nn.RNN(nn.LSTMCell(hidden))`) and an example input."""
    return RowRNN(cell="lstm", hidden=hidden), example_input()


def gru(*, hidden: int = 64) -> tuple[nn.Module, jax.Array]:
    """The row-by-row GRU (`nn.RNN(nn.GRUCell(hidden))`) and an example input."""
    return RowRNN(cell="gru", hidden=hidden), example_input()


FACTORIES: dict[str, Callable[[], tuple[nn.Module, jax.Array]]] = {
    "mlp": mlp,
    "cnn": cnn,
    "lstm": lstm,
    "gru": gru,
}


def get_factory(name: str) -> Callable[[], tuple[nn.Module, jax.Array]]:
    """A factory by short name (`"cnn"`) or by `"package.module:function"` reference."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        return getattr(importlib.import_module(module_name), attr)
    if name not in FACTORIES:
        raise ValueError(
            f"Unknown model {name!r}; choose one of {sorted(FACTORIES)} "
            "or give a 'package.module:function' reference."
        )
    return FACTORIES[name]
