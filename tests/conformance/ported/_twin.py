"""Flax Linen twins of reference PyTorch models, and the parameter-by-parameter comparison.

A twin is the Flax port of a reference model's module tree, made mechanically: every torch
module that owns parameters becomes Flax's own layer of the same role (Linear and HF's Conv1D
-> `nn.Dense`, Conv2d -> `nn.Conv`, Embedding -> `nn.Embed`, LayerNorm -> `nn.LayerNorm`,
RMSNorm/T5LayerNorm -> `nn.RMSNorm`, BatchNorm2d -> `nn.BatchNorm`; a bare `nn.Parameter`
such as a cls token -> `self.param`), under the reference's names (`encoder.layer.0.attention`
-> `encoder/layer_0/attention`), inside container modules whose class names are the
reference's (`BasicBlock`, `Bottleneck`, ...: the block-kind rules of torchvision_resnet read
them). So what a preset sees is what a hand-written port keeping the reference names for
weight loading gives it: Flax module types and those paths.

`tree_of(model)` reads the tree from a torch model (also recorded into the reference files
for timm/torchvision, which cannot be imported beside this venv's torch); `to_flax_layout`
maps a torch tensor into the layout of the Flax parameter.
"""

from __future__ import annotations

import math
import re
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

# One set of thresholds and one std tolerance for both conformance suites.
from ..presets._harness import BOUND_RTOL, P_MIN, STD_SIGMAS, _std_tol
from ._tree import flax_params, to_flax_layout, tree_of  # noqa: F401  (re-exported)


class _Container(nn.Module):
    tree: tuple = ()

    @nn.compact
    def __call__(self):
        for item in self.tree:
            if item[0] == "module":
                _, name, cls_name, sub = item
                _container_class(cls_name)(tree=sub, name=name)()
            else:
                _leaf(self, item)


_CLASSES: dict[str, type] = {}


def _container_class(name: str) -> type:
    """A container class named as the reference's class (`BasicBlock`, `BertLayer`, ...)."""
    if name not in _CLASSES:
        safe = re.sub(r"\W", "_", name)
        _CLASSES[name] = type(safe, (_Container,), {"__module__": __name__})
    return _CLASSES[name]


def _leaf(parent: nn.Module, item) -> None:
    _, name, kind, shape, opts = item
    opts = dict(opts)
    if kind == "param":
        parent.param(name, nn.initializers.zeros, tuple(shape))
    elif kind == "dense":
        if opts["conv1d"]:
            fin, fout = shape
        else:
            fout, fin = shape
        nn.Dense(fout, use_bias=opts["bias"], name=name)(jnp.zeros((1, fin)))
    elif kind == "conv":
        o, i, kh, kw = shape
        g = opts["groups"]
        nn.Conv(o, (kh, kw), feature_group_count=g, use_bias=opts["bias"], name=name)(
            jnp.zeros((1, kh, kw, i * g))
        )
    elif kind == "embed":
        nn.Embed(shape[0], shape[1], name=name)(jnp.zeros((1,), jnp.int32))
    elif kind == "layernorm":
        nn.LayerNorm(use_bias=opts["bias"], name=name)(jnp.zeros((1, shape[0])))
    elif kind == "rmsnorm":
        nn.RMSNorm(name=name)(jnp.zeros((1, shape[0])))
    elif kind == "batchnorm":
        nn.BatchNorm(use_running_average=True, name=name)(jnp.zeros((1, shape[0])))
    else:
        raise ValueError(f"unknown kind {kind!r}")


def twin(entries: list[dict[str, Any]], root_class: str = "Model") -> nn.Module:
    """The Linen twin of a recorded module tree."""
    root: dict = {}
    for e in entries:
        node = root
        for seg, cls in zip(e["segs"][:-1], e["classes"][:-1]):
            node = node.setdefault(seg, {"__class__": cls, "__children__": {}})["__children__"]
        leaf_name = e["segs"][-1] if e["segs"] else "root"
        opts = tuple(sorted((k, e[k]) for k in ("bias", "groups", "conv1d") if k in e))
        node[leaf_name] = ("leaf", leaf_name, e["kind"], tuple(e["shape"]), opts)

    def freeze(d: dict) -> tuple:
        out = []
        for name, v in d.items():
            if isinstance(v, tuple):
                out.append(v)
            else:
                out.append(("module", name, v["__class__"], freeze(v["__children__"])))
        return tuple(out)

    return _container_class(root_class)(tree=freeze(root))


def ours(model: nn.Module, policy, keys) -> list[dict[str, np.ndarray]]:
    """`jaxinit.init` of the twin for each key, flattened to {path: array}."""
    import flax.traverse_util as tu

    import jaxinit

    return [
        {
            k: np.asarray(v)
            for k, v in tu.flatten_dict(jaxinit.init(model, key, policy=policy), sep="/").items()
        }
        for key in keys
    ]


# ----------------------------------------------------------------------------------------------
# Comparisons.


def zero_rows(draws: list[np.ndarray]) -> np.ndarray:
    """Rows (axis 0) that are exactly zero in every draw."""
    return np.array([all(not np.any(d[i]) for d in draws) for i in range(draws[0].shape[0])])


def compare(path: str, theirs: list[np.ndarray], mine: list[np.ndarray], bound=None) -> list[str]:
    """Failures (empty: conforms) of our draws of one parameter against the reference's:
    equal shapes; constants equal exactly; the same zero rows (a padding row); std and mean
    within STD_SIGMAS standard errors; two-sample KS p >= P_MIN; every value within `bound`
    (the scheme's support, when finite) on both sides."""
    errs = []
    if {d.shape for d in theirs} != {d.shape for d in mine}:
        return [f"{path}: shapes {theirs[0].shape} (reference) vs {mine[0].shape} (ours)"]
    if all(np.ptp(d) == 0 for d in theirs) and len({float(d.flat[0]) for d in theirs}) == 1:
        want = float(theirs[0].flat[0])
        if not all(np.all(d == want) for d in mine):
            errs.append(f"{path}: the reference is the constant {want}, ours is not")
        return errs
    if theirs[0].ndim >= 2:
        zt, zo = zero_rows(theirs), zero_rows(mine)
        if not np.array_equal(zt, zo):
            errs.append(
                f"{path}: zero rows {np.flatnonzero(zt)} (reference) vs {np.flatnonzero(zo)}"
            )
        a = np.concatenate([d[~zt].ravel() for d in theirs]).astype(np.float64)
        b = np.concatenate([d[~zt].ravel() for d in mine]).astype(np.float64)
    else:
        a = np.concatenate([d.ravel() for d in theirs]).astype(np.float64)
        b = np.concatenate([d.ravel() for d in mine]).astype(np.float64)
    errs += compare_values(path, a, b, bound)
    return errs


def compare_values(path, a, b, bound=None, stats=None) -> list[str]:
    """`a`: the reference's values (or a sample of them, with `stats` = (n, mean, std, m4) of
    all of them); `b`: ours."""
    errs = []
    if stats is not None:
        n, mean_a, std_a, kurt = stats
        se = std_a * math.sqrt(max(kurt - 1.0, 0.0) / 4.0) * math.sqrt(1.0 / n + 1.0 / b.size)
        tol = STD_SIGMAS * se
        se_mean = STD_SIGMAS * std_a * math.sqrt(1.0 / n + 1.0 / b.size)
    else:
        mean_a, std_a = a.mean(), a.std()
        tol = _std_tol(a, b)
        se_mean = STD_SIGMAS * math.sqrt(a.var() / a.size + b.var() / b.size)
    if abs(b.std() - std_a) > tol:
        errs.append(f"{path}: std {b.std():.6g} (ours) vs {std_a:.6g} (reference), tol {tol:.3g}")
    if abs(b.mean() - mean_a) > se_mean:
        errs.append(f"{path}: mean {b.mean():.6g} vs {mean_a:.6g}, tol {se_mean:.3g}")
    p = scipy.stats.ks_2samp(a, b).pvalue
    if p < P_MIN:
        errs.append(f"{path}: two-sample KS p = {p:.3g} < {P_MIN}")
    if bound is not None and math.isfinite(bound):
        lim = bound * (1 + BOUND_RTOL)
        if np.abs(b).max() > lim or np.abs(a).max() > lim:
            errs.append(
                f"{path}: values beyond the support +-{bound:.6g}: ours {np.abs(b).max():.6g}, "
                f"reference {np.abs(a).max():.6g}"
            )
    return errs


def bounds(model, policy) -> dict[str, float | None]:
    """The support bound (|w| <= high) of each covered parameter, from its decision."""
    import jaxinit

    out = {}
    for d in jaxinit.explain(model, policy=policy).resolution.decisions:
        if not d.covered:
            out[d.spec.path] = None
            continue
        init = d.initializer()
        st = init.stats(d.sample_shape) if hasattr(init, "stats") else None
        out[d.spec.path] = None if st is None else max(abs(st.low), abs(st.high))
    return out


def uncovered(model, policy) -> list[str]:
    """Parameters the policy leaves to their module, as explain shows them."""
    import jaxinit

    return [
        d.spec.path
        for d in jaxinit.explain(model, policy=policy).resolution.decisions
        if not d.covered
    ]


def keys(seed: int, n: int):
    return list(jax.random.split(jax.random.key(seed), n))
