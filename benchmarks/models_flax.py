"""Flax (linen) definitions of the three benchmark architectures.

Every factory takes `size` ("full" or "tiny", see `specs.py`) and returns
`(module, example_inputs)`, ready for `module.init(key, *example_inputs)`. Initializers are Flax's
own defaults: the benchmark measures how fast the parameters appear, and the `jaxinit_*`
contenders re-decide the schemes through a policy.

Usage: `module, inputs = build("gpt2", "tiny")`.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

import specs

# torch's LayerNorm / BatchNorm epsilon, so both frameworks define the same function.
_TORCH_EPS = 1e-5


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with explicit q/k/v/out Dense layers (torch nn.Linear)."""

    d_model: int
    n_head: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b, t, d = x.shape
        h, hd = self.n_head, self.d_model // self.n_head
        q = nn.Dense(d, name="query")(x).reshape(b, t, h, hd)
        k = nn.Dense(d, name="key")(x).reshape(b, t, h, hd)
        v = nn.Dense(d, name="value")(x).reshape(b, t, h, hd)
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(hd).astype(x.dtype)
        causal = jnp.tril(jnp.ones((t, t), dtype=bool))
        logits = jnp.where(causal, logits, jnp.finfo(logits.dtype).min)
        y = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(logits, axis=-1), v)
        return nn.Dense(d, name="out")(y.reshape(b, t, d))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    spec: specs.GPT2Spec

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        s = self.spec
        x = x + CausalSelfAttention(s.d_model, s.n_head, name="attn")(
            nn.LayerNorm(epsilon=_TORCH_EPS, name="ln_1")(x)
        )
        y = nn.LayerNorm(epsilon=_TORCH_EPS, name="ln_2")(x)
        y = nn.Dense(s.d_mlp, name="fc")(y)
        y = nn.Dense(s.d_model, name="proj")(nn.gelu(y, approximate=False))
        return x + y


class GPT2(nn.Module):
    """GPT-2-small-style decoder: token + learned position embeddings, untied LM head."""

    spec: specs.GPT2Spec

    @nn.compact
    def __call__(self, tokens: jax.Array) -> jax.Array:
        s = self.spec
        t = tokens.shape[-1]
        x = nn.Embed(s.vocab, s.d_model, name="wte")(tokens)
        x = x + nn.Embed(s.context, s.d_model, name="wpe")(jnp.arange(t))
        for i in range(s.n_layer):
            x = Block(s, name=f"h_{i}")(x)
        x = nn.LayerNorm(epsilon=_TORCH_EPS, name="ln_f")(x)
        return nn.Dense(s.vocab, use_bias=False, name="lm_head")(x)


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck: 1x1, 3x3 (strided), 1x1 x4, projection shortcut when needed."""

    filters: int
    strides: int
    project: bool
    train: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        conv = functools.partial(nn.Conv, use_bias=False)
        norm = functools.partial(
            nn.BatchNorm, use_running_average=not self.train, momentum=0.9, epsilon=_TORCH_EPS
        )
        s = (self.strides, self.strides)
        y = nn.relu(norm()(conv(self.filters, (1, 1))(x)))
        y = nn.relu(norm()(conv(self.filters, (3, 3), strides=s, padding=((1, 1), (1, 1)))(y)))
        y = norm()(conv(self.filters * 4, (1, 1))(y))
        if self.project:
            x = norm()(conv(self.filters * 4, (1, 1), strides=s)(x))
        return nn.relu(x + y)


class ResNet(nn.Module):
    """ResNet-50 layout: 7x7 stem, max-pool, bottleneck stages, global average pool, Dense."""

    spec: specs.ResNetSpec
    train: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        s = self.spec
        x = nn.Conv(s.width, (7, 7), strides=(2, 2), padding=((3, 3), (3, 3)), use_bias=False)(x)
        x = nn.BatchNorm(use_running_average=not self.train, momentum=0.9, epsilon=_TORCH_EPS)(x)
        x = nn.max_pool(nn.relu(x), (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        for stage, n_blocks in enumerate(s.stage_sizes):
            for j in range(n_blocks):
                x = Bottleneck(
                    filters=s.width * 2**stage,
                    strides=2 if (stage > 0 and j == 0) else 1,
                    project=j == 0,
                    train=self.train,
                )(x)
        return nn.Dense(s.num_classes)(jnp.mean(x, axis=(1, 2)))


class DeepNarrow(nn.Module):
    """`n_layer` x (Dense(width) + LayerNorm): thousands of small parameters."""

    spec: specs.DeepNarrowSpec

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for _ in range(self.spec.n_layer):
            x = nn.LayerNorm(epsilon=_TORCH_EPS)(nn.Dense(self.spec.width)(x))
        return x


def gpt2(size: specs.Size = "full") -> tuple[nn.Module, tuple[jax.Array, ...]]:
    specs.check_size(size)
    spec = specs.GPT2[size]
    return GPT2(spec), (jnp.zeros((1, spec.init_seq), jnp.int32),)


def resnet50(size: specs.Size = "full") -> tuple[nn.Module, tuple[jax.Array, ...]]:
    specs.check_size(size)
    spec = specs.RESNET50[size]
    return ResNet(spec), (jnp.zeros((1, spec.image, spec.image, 3), jnp.float32),)


def deep_narrow(size: specs.Size = "full") -> tuple[nn.Module, tuple[jax.Array, ...]]:
    specs.check_size(size)
    spec = specs.DEEP_NARROW[size]
    return DeepNarrow(spec), (jnp.zeros((1, spec.width), jnp.float32),)


FACTORIES = {"gpt2": gpt2, "resnet50": resnet50, "deep_narrow": deep_narrow}


def build(name: str, size: specs.Size = "full") -> tuple[nn.Module, tuple[jax.Array, ...]]:
    """`(module, example_inputs)` for one of `specs.MODELS`."""
    if name not in FACTORIES:
        raise ValueError(f"Unknown model {name!r}; choose one of {sorted(FACTORIES)}.")
    return FACTORIES[name](size)


def param_count(name: str, size: specs.Size = "full") -> int:
    """Number of elements in the `params` collection (shapes only: nothing is sampled)."""
    module, inputs = build(name, size)
    shapes = jax.eval_shape(module.init, jax.random.key(0), *inputs)
    return sum(x.size for x in jax.tree.leaves(shapes["params"]))
