"""The module tree of a torch model, as the Flax twin needs it (torch and numpy only: the
reference recorder runs it in a venv without JAX)."""

from __future__ import annotations

from typing import Any

import numpy as np

RMS_NAMES = ("RMSNorm", "T5LayerNorm")


def _flax_name(torch_path: str) -> list[str]:
    """`encoder.layer.0.attention` -> ["encoder", "layer_0", "attention"]."""
    out: list[str] = []
    for seg in torch_path.split(".") if torch_path else []:
        if seg.isdigit() and out:
            out[-1] = f"{out[-1]}_{seg}"
        else:
            out.append(seg)
    return out


def _kind(mod) -> str | None:
    name = type(mod).__name__
    if name in ("Linear", "Conv1D"):
        return "dense"
    if name == "Conv2d":
        return "conv"
    if name == "Embedding":
        return "embed"
    if name == "LayerNorm":
        return "layernorm"
    if any(r in name for r in RMS_NAMES):
        return "rmsnorm"
    if name.startswith("BatchNorm"):
        return "batchnorm"
    return None


def tree_of(model) -> list[dict[str, Any]]:
    """One entry per torch module that directly owns parameters (or a bare parameter):
    kind, torch name, Flax path segments, the classes of the enclosing modules, shapes."""
    entries, seen = [], set()
    for mname, mod in model.named_modules():
        own = dict(mod.named_parameters(recurse=False))
        if not own or all(id(p) in seen for p in own.values()):
            # A tied module (GPT-2's lm_head is wte, T5's embed_tokens are shared): a port
            # calls the embedding (`wte.attend`) and has no parameter of its own.
            continue
        seen.update(id(p) for p in own.values())
        names = mname.split(".") if mname else []
        # Enclosing classes per Flax path segment (the module at each segment's torch path).
        segs = _flax_name(mname)
        classes, k, acc = [], 0, []
        for seg in names:
            acc.append(seg)
            if seg.isdigit() and k > 0:
                classes[-1] = type(model.get_submodule(".".join(acc))).__name__
            else:
                classes.append(type(model.get_submodule(".".join(acc))).__name__)
                k += 1
        kind = _kind(mod)
        if kind is None:  # bare parameters of a custom module: self.param each
            for pname, p in own.items():
                entries.append(
                    dict(
                        kind="param",
                        torch=f"{mname}.{pname}" if mname else pname,
                        segs=segs + [pname],
                        classes=classes + ["param"],
                        shape=list(p.shape),
                    )
                )
            continue
        e = dict(
            kind=kind,
            torch=mname,
            segs=segs,
            classes=classes,
            shape=list(mod.weight.shape),
            bias=getattr(mod, "bias", None) is not None,
        )
        if kind == "conv":
            e["groups"] = mod.groups
        if kind == "dense":
            e["conv1d"] = type(mod).__name__ == "Conv1D"
        entries.append(e)
    return entries


def flax_params(entry) -> dict[str, tuple[str, str]]:
    """Flax path -> (torch name, layout) for one entry's variables."""
    base = "/".join(entry["segs"])
    t = entry["torch"]
    k = entry["kind"]
    if k == "param":
        return {"params/" + base: (t, "same")}
    out = {}
    if k in ("dense", "conv"):
        layout = "same" if entry.get("conv1d") else ("linear" if k == "dense" else "conv")
        out["params/" + base + "/kernel"] = (t + ".weight", layout)
    elif k == "embed":
        out["params/" + base + "/embedding"] = (t + ".weight", "same")
    else:
        out["params/" + base + "/scale"] = (t + ".weight", "same")
    if entry.get("bias"):
        out["params/" + base + "/bias"] = (t + ".bias", "same")
    if k == "batchnorm":
        out["batch_stats/" + base + "/mean"] = (t + ".running_mean", "same")
        out["batch_stats/" + base + "/var"] = (t + ".running_var", "same")
    return out


def to_flax_layout(x: np.ndarray, layout: str) -> np.ndarray:
    if layout == "linear":
        return x.T
    if layout == "conv":
        return x.transpose(2, 3, 1, 0)
    return x
