"""The building blocks of preset rules, shared by `presets` and `ported_presets`.

Module-type regexes over the class names Linen and NNX use, the any-prefix path regex `ANY`,
and `R`, the constructor of a preset rule.
"""

from __future__ import annotations

from typing import Any

from jaxinit._src.rules import Rule

# Module-type regexes over class names (Linen and NNX share most). Preset rules match only
# Flax's own classes (flax.linen / flax.nnx, and their subclasses): `R` prefixes "flax:", so
# a user class that is merely called RMSNorm or Dense (big_vision's RMSNorm computes
# x * (1 + scale) with a zeros scale) is left to its module.
DENSE = r"Dense|DenseGeneral|Linear|LinearGeneral|Einsum"
CONV = r"Conv|ConvLocal"
CONV_T = r"ConvTranspose"
EMBED = r"Embed"
LSTM = r"LSTMCell|OptimizedLSTMCell"
GRU = r"GRUCell"
SIMPLE = r"SimpleCell"
CELLS = r"LSTMCell|OptimizedLSTMCell|GRUCell|SimpleCell|MGUCell|ConvLSTMCell"
MHA = r"MultiHeadDotProductAttention|MultiHeadAttention|SelfAttention"
NORMS = r"LayerNorm|RMSNorm|GroupNorm|BatchNorm|InstanceNorm"

ANY = r"(?:.*/)?"  # any prefix (collection and module path), possibly empty


def R(pattern: str, scheme: str, module: str | None = None, **kw: Any) -> Rule:
    """A preset rule: optional, `module` means Flax's own classes, explicit inits stand.

    Args:
      pattern: the path regex.
      scheme: the registry scheme.
      module: a class-name regex; "flax:" is prefixed (only Flax's own classes and their
        subclasses match) unless it already names a Flax namespace.
      **kw: `hp` (the hyperparameters) and any other `Rule` field; `explicit_init` defaults
        to "keep" (an initializer the model code passed explicitly stands).

    Returns:
      An optional Rule.

    >>> r = R(ANY + "bias", "zeros", DENSE)
    >>> r.module, r.optional, r.explicit_init
    ('flax:Dense|DenseGeneral|Linear|LinearGeneral|Einsum', True, 'keep')
    """
    hp = kw.pop("hp", {})
    if module is not None and not module.startswith("flax"):
        module = "flax:" + module
    kw.setdefault("explicit_init", "keep")
    return Rule(pattern, scheme, hp, module=module, optional=True, **kw)
