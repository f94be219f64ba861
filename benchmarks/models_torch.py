"""torch.nn definitions of the three benchmark architectures, with torch's default init.

They mirror `models_flax.py` layer for layer, so both sides have the same parameter count
(`check_param_counts` asserts it). Constructing a module *is* torch's initialization, which is
what the `torch` contender times.

Usage: `python benchmarks/models_torch.py` runs the tiny-size parameter-count self-check and
prints the counts as JSON.
"""

from __future__ import annotations

import json
import sys

import torch
import torch.nn.functional as F
from torch import nn

import specs

# Same epsilon as the Flax side (torch's own default).
_EPS = 1e-5


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_head: int):
        super().__init__()
        self.n_head = n_head
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.n_head

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, h, d // h).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, spec: specs.GPT2Spec):
        super().__init__()
        self.ln_1 = nn.LayerNorm(spec.d_model, eps=_EPS)
        self.attn = CausalSelfAttention(spec.d_model, spec.n_head)
        self.ln_2 = nn.LayerNorm(spec.d_model, eps=_EPS)
        self.fc = nn.Linear(spec.d_model, spec.d_mlp)
        self.proj = nn.Linear(spec.d_mlp, spec.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.proj(F.gelu(self.fc(self.ln_2(x))))


class GPT2(nn.Module):
    def __init__(self, spec: specs.GPT2Spec):
        super().__init__()
        self.wte = nn.Embedding(spec.vocab, spec.d_model)
        self.wpe = nn.Embedding(spec.context, spec.d_model)
        self.h = nn.ModuleList(Block(spec) for _ in range(spec.n_layer))
        self.ln_f = nn.LayerNorm(spec.d_model, eps=_EPS)
        self.lm_head = nn.Linear(spec.d_model, spec.vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(tokens.shape[-1], device=tokens.device)
        x = self.wte(tokens) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


class Bottleneck(nn.Module):
    def __init__(self, in_ch: int, filters: int, stride: int, project: bool):
        super().__init__()
        out_ch = filters * 4
        self.conv1 = nn.Conv2d(in_ch, filters, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters, eps=_EPS)
        self.conv2 = nn.Conv2d(filters, filters, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(filters, eps=_EPS)
        self.conv3 = nn.Conv2d(filters, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch, eps=_EPS)
        self.shortcut = (
            nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_ch, eps=_EPS),
            )
            if project
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(self.shortcut(x) + y)


class ResNet(nn.Module):
    def __init__(self, spec: specs.ResNetSpec):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, spec.width, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(spec.width, eps=_EPS),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        blocks, in_ch = [], spec.width
        for stage, n_blocks in enumerate(spec.stage_sizes):
            filters = spec.width * 2**stage
            for j in range(n_blocks):
                stride = 2 if (stage > 0 and j == 0) else 1
                blocks.append(Bottleneck(in_ch, filters, stride, project=j == 0))
                in_ch = filters * 4
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(in_ch, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(self.stem(x)).mean(dim=(2, 3)))


class DeepNarrow(nn.Sequential):
    def __init__(self, spec: specs.DeepNarrowSpec):
        layers = []
        for _ in range(spec.n_layer):
            layers += [nn.Linear(spec.width, spec.width), nn.LayerNorm(spec.width, eps=_EPS)]
        super().__init__(*layers)


def gpt2(size: specs.Size = "full") -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    specs.check_size(size)
    spec = specs.GPT2[size]
    return GPT2(spec), (torch.zeros((1, spec.init_seq), dtype=torch.long),)


def resnet50(size: specs.Size = "full") -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    specs.check_size(size)
    spec = specs.RESNET50[size]
    return ResNet(spec), (torch.zeros((1, 3, spec.image, spec.image)),)


def deep_narrow(size: specs.Size = "full") -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    specs.check_size(size)
    spec = specs.DEEP_NARROW[size]
    return DeepNarrow(spec), (torch.zeros((1, spec.width)),)


FACTORIES = {"gpt2": gpt2, "resnet50": resnet50, "deep_narrow": deep_narrow}


def build(name: str, size: specs.Size = "full") -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """`(module, example_inputs)` for one of `specs.MODELS`; construction runs torch's init."""
    if name not in FACTORIES:
        raise ValueError(f"Unknown model {name!r}; choose one of {sorted(FACTORIES)}.")
    return FACTORIES[name](size)


def param_count(module: nn.Module) -> int:
    """Trainable elements (`parameters()`; BatchNorm running statistics are buffers)."""
    return sum(p.numel() for p in module.parameters())


def check_param_counts(size: specs.Size = "tiny") -> dict[str, dict[str, int]]:
    """Assert that every torch model has the Flax model's parameter count; return the counts.

    Also runs each torch model forward once on its example input, so a shape slip shows here.
    """
    import models_flax  # imported here: the torch contender's process must not load jax

    counts = {}
    for name in specs.MODELS:
        module, inputs = build(name, size)
        with torch.no_grad():
            module.eval()(*inputs)
        counts[name] = {"torch": param_count(module), "flax": models_flax.param_count(name, size)}
        assert counts[name]["torch"] == counts[name]["flax"], (name, counts[name])
    return counts


if __name__ == "__main__":
    size = sys.argv[1] if len(sys.argv) > 1 else "tiny"
    print(json.dumps(check_param_counts(size)))
