"""Model sizes shared by the Flax and torch definitions (stdlib only, so either side imports it).

Each architecture has a "full" size (what the benchmark measures) and a "tiny" size (what the
smoke test and the parameter-count self-check build in a few seconds).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Size = Literal["full", "tiny"]
MODELS = ("gpt2", "resnet50", "deep_narrow")


@dataclasses.dataclass(frozen=True)
class GPT2Spec:
    """A GPT-2-style decoder: learned positions, pre-LayerNorm blocks, untied LM head."""

    n_layer: int
    d_model: int
    n_head: int
    d_mlp: int
    vocab: int
    context: int
    # Length of the dummy token batch handed to `model.init`. The Flax idiom is a small dummy
    # batch; under `jax.jit` the forward pass is dead code (only the variables are returned) and
    # XLA removes it, but eager `model.init` pays for it, so a full 1024-token forward would
    # charge eager with ~0.3 TFLOP that has nothing to do with initialization.
    init_seq: int


@dataclasses.dataclass(frozen=True)
class ResNetSpec:
    """A ResNet with bottleneck blocks (torchvision's v1.5 layout: stride on the 3x3 conv)."""

    stage_sizes: tuple[int, ...]
    width: int
    image: int
    num_classes: int


@dataclasses.dataclass(frozen=True)
class DeepNarrowSpec:
    """`n_layer` x (Dense(width) + LayerNorm): thousands of tiny parameters (policy overhead)."""

    n_layer: int
    width: int


GPT2 = {
    "full": GPT2Spec(
        n_layer=12, d_model=768, n_head=12, d_mlp=3072, vocab=50257, context=1024, init_seq=16
    ),
    "tiny": GPT2Spec(
        n_layer=2, d_model=64, n_head=4, d_mlp=256, vocab=1000, context=64, init_seq=8
    ),
}
RESNET50 = {
    "full": ResNetSpec(stage_sizes=(3, 4, 6, 3), width=64, image=224, num_classes=1000),
    "tiny": ResNetSpec(stage_sizes=(1, 1, 1, 1), width=8, image=32, num_classes=10),
}
DEEP_NARROW = {
    "full": DeepNarrowSpec(n_layer=1000, width=16),
    "tiny": DeepNarrowSpec(n_layer=8, width=16),
}


def check_size(size: str) -> None:
    if size not in ("full", "tiny"):
        raise ValueError(f"size must be 'full' or 'tiny', got {size!r}.")
