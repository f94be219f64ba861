"""The digits MLP, CNN and LSTM twice: in PyTorch and in Flax, with the same architecture.

The Flax twins are the models of `examples/digits/models.py` (what `make demo` trains); the
torch twins below compute the same function: `torch_to_flax` copies a torch model's weights into
the Flax layout and `tests/test_parity.py` checks that both then give the same logits. Layer
names match the Flax ones, so "the activation of `conv_1`" means the same thing on both sides.

    torch (NCHW; weights (out, in, ...))  Flax (NHWC; kernels (..., in, out))
    Linear(64, 128)                       Dense(128)                kernel = weight.T
    Conv2d(1, 16, 3, padding=1)           Conv(16, (3, 3), "SAME")  kernel = weight.permute(2,3,1,0)
    LSTM(8, 64, batch_first=True)         RNN(LSTMCell(64))         gate g of [i, f, g, o]:
                                                                    i{g}/kernel = W_ih[g].T
                                                                    h{g}/kernel = W_hh[g].T
                                                                    h{g}/bias = b_ih[g] + b_hh[g]
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import numpy as np
import torch
from torch import nn as tnn

from examples.digits import models as flax_models

MODELS = ("mlp", "cnn", "lstm")
NUM_CLASSES = flax_models.NUM_CLASSES
# The layers whose output is compared at initialization, by their (shared) names.
LAYERS: dict[str, tuple[str, ...]] = {
    "mlp": ("hidden_0", "hidden_1", "classifier"),
    "cnn": ("conv_0", "conv_1", "hidden", "classifier"),
    "lstm": ("rnn", "classifier"),
}
LSTM_GATES = ("i", "f", "g", "o")  # torch's order of the four blocks of W_ih, W_hh, b_ih, b_hh.


class TorchMLP(tnn.Module):
    """Flatten, `Linear -> relu` per hidden width, then a `Linear` classifier (= `MLP`)."""

    def __init__(self, features: tuple[int, ...] = (128, 64), num_classes: int = NUM_CLASSES):
        super().__init__()
        widths = (8 * 8, *features)
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
            self.add_module(f"hidden_{i}", tnn.Linear(n_in, n_out))
        self.num_hidden = len(features)
        self.classifier = tnn.Linear(widths[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, 8, 8, 1), as the Flax twin
        x = x.flatten(1)
        for i in range(self.num_hidden):
            x = torch.relu(getattr(self, f"hidden_{i}")(x))
        return self.classifier(x)


class TorchCNN(tnn.Module):
    """Two `Conv2d(3x3, padding=1) -> relu -> avg_pool2d(2)` blocks, then `Linear`s (= `CNN`)."""

    def __init__(
        self, features: tuple[int, ...] = (16, 32), hidden: int = 64, num_classes: int = NUM_CLASSES
    ):
        super().__init__()
        channels = (1, *features)
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
            self.add_module(f"conv_{i}", tnn.Conv2d(c_in, c_out, kernel_size=3, padding=1))
        self.num_convs = len(features)
        side = 8 // 2 ** len(features)
        self.hidden = tnn.Linear(features[-1] * side * side, hidden)
        self.classifier = tnn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2)  # NHWC (the digits arrays) -> NCHW (torch's layout)
        for i in range(self.num_convs):
            x = tnn.functional.avg_pool2d(torch.relu(getattr(self, f"conv_{i}")(x)), 2)
        # Flatten in NHWC order, as the Flax twin does, so one weight copy serves both.
        x = x.permute(0, 2, 3, 1).flatten(1)
        return self.classifier(torch.relu(self.hidden(x)))


class _LastStep(tnn.Module):
    """`nn.LSTM` returns `(outputs, (h, c))`; keep the outputs, as Flax's `nn.RNN` returns."""

    def __init__(self, lstm: tnn.LSTM):
        super().__init__()
        self.lstm = lstm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[0]


class TorchLSTM(tnn.Module):
    """Read each digit row by row (8 steps of 8 pixels), classify the last state (= `RowRNN`)."""

    def __init__(self, hidden: int = 64, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.rnn = _LastStep(tnn.LSTM(8, hidden, batch_first=True))
        self.classifier = tnn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.flatten(2)  # (batch, 8, 8, 1) -> (batch, time=8 rows, 8 pixels)
        return self.classifier(self.rnn(rows)[:, -1])


TORCH_FACTORIES: dict[str, Callable[[], tnn.Module]] = {
    "mlp": TorchMLP,
    "cnn": TorchCNN,
    "lstm": TorchLSTM,
}


def flax_model(name: str) -> tuple[nn.Module, jax.Array]:
    """The Flax twin of `name` and its example input: the digits example's own factory."""
    if name not in TORCH_FACTORIES:
        raise ValueError(f"Unknown parity model {name!r}; choose one of {list(MODELS)}.")
    return flax_models.get_factory(name)()


def torch_model(name: str) -> tnn.Module:
    """The torch twin of `name`, initialized by torch's own defaults from its global RNG."""
    if name not in TORCH_FACTORIES:
        raise ValueError(f"Unknown parity model {name!r}; choose one of {list(MODELS)}.")
    return TORCH_FACTORIES[name]()


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def _dense(layer: tnn.Linear) -> dict[str, np.ndarray]:
    return {"kernel": _np(layer.weight).T, "bias": _np(layer.bias)}


def torch_to_flax(name: str, module: tnn.Module) -> dict[str, dict]:
    """The Flax `params` that make the Flax twin compute what the torch `module` computes."""
    params: dict[str, dict] = {}
    for layer_name, layer in module.named_children():
        if isinstance(layer, tnn.Linear):
            params[layer_name] = _dense(layer)
        elif isinstance(layer, tnn.Conv2d):
            params[layer_name] = {
                "kernel": _np(layer.weight).transpose(2, 3, 1, 0),
                "bias": _np(layer.bias),
            }
        elif isinstance(layer, _LastStep):
            lstm = layer.lstm
            blocks = [np.split(_np(w), 4) for w in (lstm.weight_ih_l0, lstm.weight_hh_l0)]
            biases = np.split(_np(lstm.bias_ih_l0) + _np(lstm.bias_hh_l0), 4)
            cell = {}
            for g, gate in enumerate(LSTM_GATES):
                cell[f"i{gate}"] = {"kernel": blocks[0][g].T}
                cell[f"h{gate}"] = {"kernel": blocks[1][g].T, "bias": biases[g]}
            params["cell"] = cell  # Flax's nn.RNN keeps its cell's parameters at top level.
        else:
            raise TypeError(f"torch_to_flax({name!r}): no Flax counterpart for {type(layer)}.")
    return params
