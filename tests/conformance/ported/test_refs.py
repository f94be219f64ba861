"""timm_vit and torchvision_resnet against recorded draws of the real timm and torchvision.

timm and torchvision cannot be imported beside this venv's torch 2.13.0, so their models were
drawn in a separate venv (torch 2.14.1, torchvision 0.29.1, timm 1.0.31) by
`tests/reference/ported/record_refs.py` (`make refs-ported`); `refs.json` holds each model's
module tree and per-parameter constants or n / mean / std / kurtosis / max |w| of every value
drawn, `refs.npz` a fixed random sample of each random parameter's values.

Sources read: timm `timm/models/vision_transformer.py` at huggingface/pytorch-image-models
commit aa4b5850c1543fa488abf260f18390eda46cf85d (`VisionTransformer.init_weights`,
`init_weights_vit_timm`; the same code in the 1.0.31 wheel recorded), torchvision 0.29.1
`torchvision/models/resnet.py` (`ResNet.__init__`, lines 208-223 of the wheel).

The Flax twin of each recorded tree (`_twin.py`) is drawn under the preset with
`jaxinit.init` and compared parameter by parameter: constants exactly (zero_init_residual's
zero BN scales included), std and mean within 6 standard errors of the reference's (from its
recorded moments), a two-sample KS test against the recorded sample, support bounds on both
sides.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import jaxinit

from . import _twin

REFS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "reference", "ported")
with open(os.path.join(REFS_DIR, "refs.json")) as f:
    REFS = json.load(f)
SAMPLES = dict(np.load(os.path.join(REFS_DIR, "refs.npz")))


def _errors(name: str, policy, seed: int = 0):
    ref = REFS["models"][name]
    model = _twin.twin(ref["tree"])
    assert _twin.uncovered(model, policy) == [], "every parameter needs a named rule"
    res = jaxinit.explain(model, policy=policy).resolution
    rules = {d.spec.path: d.rule.name for d in res.decisions}
    assert all(rules.values()), rules
    mine = _twin.ours(model, policy, _twin.keys(seed, ref["draws"]))
    bounds = _twin.bounds(model, policy)
    errs, compared = [], set()
    for e in ref["tree"]:
        for fpath, (tname, _layout) in _twin.flax_params(e).items():
            st = ref["params"][tname]
            compared.add(tname)
            got = [m[fpath] for m in mine]
            if any(list(g.shape) != st["shape"] for g in got):
                errs.append(f"{fpath}: shape {got[0].shape} vs {st['shape']} (reference)")
                continue
            if "constant" in st:
                if not all(np.all(g == st["constant"]) for g in got):
                    errs.append(f"{fpath}: the reference is the constant {st['constant']}")
                continue
            b = np.concatenate([g.ravel() for g in got]).astype(np.float64)
            a = SAMPLES[f"{name}|{tname}"].astype(np.float64)
            bound = bounds.get(fpath)
            errs += _twin.compare_values(
                fpath, a, b, bound, stats=(st["n"], st["mean"], st["std"], st["kurt"])
            )
            if (
                bound is not None
                and np.isfinite(bound)
                and st["absmax"] > bound * (1 + _twin.BOUND_RTOL)
            ):
                errs.append(f"{fpath}: reference max |w| {st['absmax']} beyond {bound}")
    assert compared == set(ref["params"]), sorted(set(ref["params"]) ^ compared)
    return errs, rules


@pytest.mark.parametrize("name", ["timm_vit_48x2", "timm_vit_64x4_reg2"])
def test_timm_vit(name):
    errs, rules = _errors(name, jaxinit.preset("timm_vit"), seed=3)
    assert not errs, "\n".join(errs)
    assert rules["params/cls_token"] == "cls/reg token N(0, 1e-6)"
    assert rules["params/pos_embed"] == "pos_embed"
    assert rules["params/patch_embed/proj/kernel"] == "conv kernel (patch_embed/proj): torch"
    assert rules["params/blocks_0/attn/qkv/kernel"] == "linear kernel"
    assert rules["params/head/bias"] == "linear bias"


@pytest.mark.parametrize(
    "name, zero",
    [
        ("resnet18_zero_init_residual", True),
        ("resnet50_zero_init_residual", True),
    ],
)
def test_torchvision_resnet(name, zero):
    errs, rules = _errors(name, jaxinit.preset("torchvision_resnet", zero_init_residual=zero))
    assert not errs, "\n".join(errs)
    block = "layer1_0/bn3" if name.startswith("resnet50") else "layer1_0/bn2"
    kind = "Bottleneck" if name.startswith("resnet50") else "BasicBlock"
    last = f"params/{block}/scale"
    assert rules[last] == (
        f"zero_init_residual: {block[-3:]} of a {kind}" if zero else "norm scale"
    )
    assert rules["params/fc/kernel"] == "fc kernel (torch Linear default)"
    assert rules["params/layer2_0/downsample_0/kernel"].startswith("conv kernel kaiming_normal_")


@pytest.mark.parametrize("name, last, blocks", [("resnet18", "bn2", 8), ("resnet50", "bn3", 16)])
def test_resnet_without_zero_init_residual_resolves_like_torchvision(name, last, blocks):
    """Without zero_init_residual the draws are those above but for the last BN of each block
    (keys come from paths, so the random values are the same): the decisions differ exactly
    there, ones where the recorded reference has ones, zeros where it has zeros."""
    ref = REFS["models"][name]
    model = _twin.twin(ref["tree"])
    plain = jaxinit.explain(model, policy=jaxinit.preset("torchvision_resnet")).resolution.by_path()
    zero = jaxinit.explain(
        model, policy=jaxinit.preset("torchvision_resnet", zero_init_residual=True)
    ).resolution.by_path()
    differ = sorted(p for p in plain if plain[p].scheme != zero[p].scheme)
    bn3 = sorted(p for p in plain if p.startswith("params/layer") and p.endswith(last + "/scale"))
    assert differ == bn3 and len(bn3) == blocks
    assert all(plain[p].scheme == "ones" and zero[p].scheme == "zeros" for p in bn3)
    for p in bn3:
        tname = p[len("params/") :].replace("/scale", ".weight").replace("/", ".")
        tname = tname.replace("_", ".", 1) if tname.startswith("layer") else tname
        assert REFS["models"][name]["params"][tname]["constant"] == 1.0
        assert REFS["models"][name + "_zero_init_residual"]["params"][tname]["constant"] == 0.0


def test_the_comparison_catches_a_wrong_preset():
    """hf_vit on timm's ViT: its cls token N(0, .02) is not timm's N(0, 1e-6), its patch conv
    N(0, .02) not torch's uniform; the Linears (normal vs trunc_normal at std .02: the same
    distribution) pass."""
    wrong = jaxinit.preset("hf_vit", tokens="cls_token|pos_embed")  # its roles, timm's names
    errs, _ = _errors("timm_vit_48x2", wrong, seed=3)
    assert any(e.startswith("params/cls_token: std") for e in errs), errs
    assert any(e.startswith("params/patch_embed/proj/kernel") for e in errs), errs
    assert not any("/qkv/" in e or "/fc1/" in e for e in errs), errs


def test_refs_record_what_the_presets_say():
    assert REFS["versions"]["timm"].startswith("1.0.")
    assert REFS["versions"]["torchvision"].startswith("0.29")
    size = sum(os.path.getsize(os.path.join(REFS_DIR, f)) for f in ("refs.json", "refs.npz"))
    assert size < 5 * 2**20
    vit = REFS["models"]["timm_vit_48x2"]["params"]
    assert abs(vit["cls_token"]["std"] - 1e-6) < 2e-7  # timm: N(0, 1e-6)


def test_torchvision_config_files():
    p = jaxinit.load_policy("configs/torchvision_resnet.py:zero_init_residual=True")
    assert p == jaxinit.preset("torchvision_resnet", zero_init_residual=True)
    assert jaxinit.load_policy("configs/timm_vit.py") == jaxinit.preset("timm_vit")
    with pytest.raises(jaxinit.JaxinitError, match="zero_init_residual='yes'"):
        jaxinit.preset("torchvision_resnet", zero_init_residual="yes")
