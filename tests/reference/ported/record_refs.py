"""Records reference initializations of timm's VisionTransformer and torchvision's ResNets.

timm and torchvision cannot be installed beside the test venv's torch 2.13.0 (PyPI's
torchvision needs its own torch build: "operator torchvision::nms does not exist"), so this
runs in a separate venv (`make refs-ported`: .venv-refs with torch 2.14.1, torchvision 0.29.1,
timm) and writes, per model, the module tree (names, Flax kinds, shapes, enclosing classes)
and per parameter: constants exactly, or n / mean / std / kurtosis / max |w| over every value
drawn plus a fixed random sample of values (compressed npz), for the two-sample tests.

  refs.json  models -> {"tree": [...], "params": {torch name: stats}}, versions, seeds
  refs.npz   "model|torch name" -> sample (float32)

Models: timm `VisionTransformer` (default init) at two sizes; torchvision `resnet18` and
`resnet50` (weights=None) with zero_init_residual False and True.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "conformance", "ported"))

from _tree import flax_params, to_flax_layout, tree_of  # noqa: E402

SAMPLE = 3000  # values kept per random parameter
SEED = 1234


def builders():
    import timm.models.vision_transformer as vt
    import torchvision

    def vit(embed, depth, heads, reg):
        return lambda: vt.VisionTransformer(
            img_size=32,
            patch_size=4,
            num_classes=10,
            embed_dim=embed,
            depth=depth,
            num_heads=heads,
            mlp_ratio=2.0,
            reg_tokens=reg,
        )

    return {
        # (build, draws): tiny ViTs are drawn several times, the ResNets once (millions of values)
        "timm_vit_48x2": (vit(48, 2, 4, 0), 6),
        "timm_vit_64x4_reg2": (vit(64, 4, 4, 2), 4),
        "resnet18": (lambda: torchvision.models.resnet18(weights=None), 1),
        "resnet18_zero_init_residual": (
            lambda: torchvision.models.resnet18(weights=None, zero_init_residual=True),
            1,
        ),
        "resnet50": (lambda: torchvision.models.resnet50(weights=None), 1),
        "resnet50_zero_init_residual": (
            lambda: torchvision.models.resnet50(weights=None, zero_init_residual=True),
            1,
        ),
    }


def record(out_dir: str = HERE) -> None:
    import timm
    import torchvision

    rng = np.random.default_rng(SEED)
    models, samples = {}, {}
    for k, (name, (build, draws)) in enumerate(builders().items()):
        torch.manual_seed(SEED + k)
        values: dict[str, list] = {}
        tree = None
        for _ in range(draws):
            m = build()
            tree = tree or tree_of(m)
            state = dict(m.named_parameters()) | dict(m.named_buffers())
            for e in tree:
                for _fpath, (tname, layout) in flax_params(e).items():
                    x = state[tname].detach().numpy().astype(np.float32)
                    values.setdefault(tname, []).append(to_flax_layout(x, layout))
        params = {}
        for tname, xs in values.items():
            allv = np.stack(xs).astype(np.float64)
            flat = allv.ravel()
            st = {"shape": list(xs[0].shape), "draws": len(xs)}
            if np.ptp(flat) == 0:
                st["constant"] = float(flat[0])
            else:
                s = flat.std()
                st.update(
                    n=int(flat.size),
                    mean=float(flat.mean()),
                    std=float(s),
                    kurt=float(np.mean(((flat - flat.mean()) / s) ** 4)),
                    absmax=float(np.abs(flat).max()),
                )
                keep = rng.choice(flat.size, size=min(SAMPLE, flat.size), replace=False)
                samples[f"{name}|{tname}"] = flat[np.sort(keep)].astype(np.float32)
            params[tname] = st
        models[name] = {"tree": tree, "params": params, "draws": draws}
        print(f"{name}: {len(params)} parameters", flush=True)
    meta = {
        "versions": {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "timm": timm.__version__,
        },
        "seed": SEED,
        "sample": SAMPLE,
        "models": models,
    }
    with open(os.path.join(out_dir, "refs.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    np.savez_compressed(os.path.join(out_dir, "refs.npz"), **samples)


if __name__ == "__main__":
    record()
