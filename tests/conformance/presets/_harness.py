"""Draws and statistical comparisons for the preset conformance suite.

Our side: the preset is resolved once for a Flax model (Linen or NNX) and drawn for many keys
with one `jit(vmap(...))` of the same `draw` that `jaxinit.init` runs (`test_public_api.py`
checks, on a model with every covered layer, that `jaxinit.init` gives exactly these values).

Their side: the real layer is built (Keras 3 on JAX) or reset (`reset_parameters()` in PyTorch,
i.e. exactly what its constructor runs) many times from one fixed seed, and every parameter is
mapped into the Flax layout by the test.

Every comparison is recorded (see `conftest.py`) before it is asserted, so the printed table
shows failures with their figures.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Callable

os.environ["KERAS_BACKEND"] = "jax"

import jax  # noqa: E402
import numpy as np  # noqa: E402
import scipy.stats  # noqa: E402
from flax import nnx  # noqa: E402

import jaxinit  # noqa: E402
from jaxinit._src.draw import draw  # noqa: E402

N_MIN = 20_000  # values per side for a KS test
P_MIN = 1e-4  # KS p-value threshold (fixed seeds: deterministic)
BOUND_RTOL = 1e-6  # float tolerance on support bounds
KS_MAX = 400_000  # values per side fed to KS (the first draws); std uses all
STD_SIGMAS = 6.0  # std agreement, in standard errors of the difference
COLLECTIONS = ("params", "batch_stats")


def draws_needed(sizes) -> int:
    """Independent inits so that the smallest random parameter reaches N_MIN values."""
    return max(2, math.ceil(N_MIN / min(sizes)))


# ----------------------------------------------------------------------------------------------
# Our side.


@dataclasses.dataclass
class Ours:
    values: dict[str, np.ndarray]  # path -> (n, *shape)
    decisions: dict[str, Any]  # path -> Decision

    def __getitem__(self, path: str) -> np.ndarray:
        return self.values[path]

    def bound(self, path: str) -> float | None:
        d = self.decisions[path]
        init = d.initializer()
        st = init.stats(d.sample_shape) if hasattr(init, "stats") else None
        return None if st is None or st.high is None else float(st.high)


# XLA's CPU backend optimizes tiny random programs for seconds on a loaded machine; these
# draws are integer bit generation plus a few float ops, for which the optimizer buys nothing.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def batched_draw(decisions, keys) -> dict:
    """`draw(decisions, key)` (what `jaxinit.init` runs) for every key, in one program."""
    f = jax.jit(jax.vmap(lambda k: draw(decisions, k, jit=False)), compiler_options=FAST_COMPILE)
    return {p: np.asarray(v) for p, v in f(keys).items()}


_DRAWN: dict = {}


def _signature(decisions) -> tuple:
    return tuple(
        (
            d.spec.path,
            d.scheme,
            repr(sorted(d.hyperparameters.items())),
            d.sample_shape,
            d.spec.shape,
            str(d.spec.dtype),
            d.group,
            d.group_slice,
        )
        for d in sorted(decisions, key=lambda d: d.spec.path)
        if d.covered
    )


def _batched(decisions, n: int, seed: int):
    """Cached on the decisions: a Linen and an NNX module that resolve to the same decisions
    (same paths, schemes, shapes) get the same values, drawn once."""
    sig = (_signature(decisions), n, seed)
    if sig not in _DRAWN:
        _DRAWN[sig] = batched_draw(decisions, jax.random.split(jax.random.key(seed), n))
    return _DRAWN[sig]


def _check_all_covered(decisions) -> None:
    missing = [
        d.spec.path
        for d in decisions
        if not d.covered and d.spec.path.split("/", 1)[0] in COLLECTIONS
    ]
    assert not missing, f"the preset leaves these parameters to Flax: {missing}"


def linen_draws(model, inputs: tuple, policy, n: int, seed: int) -> Ours:
    res = jaxinit.explain(model, *inputs, policy=policy).resolution
    _check_all_covered(res.decisions)
    return Ours(_batched(res.decisions, n, seed), res.by_path())


def nnx_draws(factory: Callable[[], nnx.Module], policy, n: int, seed: int) -> Ours:
    res = jaxinit.explain(
        nnx.eval_shape(factory), policy=policy
    ).resolution  # abstract: nothing drawn
    _check_all_covered(res.decisions)
    return Ours(_batched(res.decisions, n, seed), res.by_path())


# ----------------------------------------------------------------------------------------------
# Their side.


def torch_draws(module, n: int, seed: int, reset: Callable[[], Any] | None = None) -> dict:
    """`module.reset_parameters()` (or `reset()`) n times from `torch.manual_seed(seed)` (one
    stream, consecutive draws: each reset consumes the global generator as the constructor
    does)."""
    import torch

    reset = reset or module.reset_parameters
    torch.manual_seed(seed)
    out: dict[str, list] = {}
    with torch.no_grad():
        for _ in range(n):
            reset()
            for name, t in list(module.named_parameters()) + list(module.named_buffers()):
                out.setdefault(name, []).append(t.detach().cpu().numpy().copy())
    return {k: np.stack(v) for k, v in out.items()}


def keras_draws(build: Callable[[], Any], n: int, seed: int) -> dict:
    """n freshly built Keras layers (each layer's initializers get their own default seed,
    taken from the stream that `keras.utils.set_random_seed(seed)` fixes)."""
    import keras

    keras.utils.set_random_seed(seed)
    out: dict[str, list] = {}
    for _ in range(n):
        layer = build()
        for w in layer.weights:
            out.setdefault(w.path.split("/", 1)[1], []).append(np.asarray(w.value))
    return {k: np.stack(v) for k, v in out.items()}


# ----------------------------------------------------------------------------------------------
# Comparisons.


@dataclasses.dataclass
class Row:
    layer: str
    size: str
    preset: str
    api: str
    param: str
    check: str
    ok: bool
    bound_ours: float | None = None
    bound_theirs: float | None = None
    std_ours: float | None = None
    std_theirs: float | None = None
    p: float | None = None
    n_ours: int = 0
    n_theirs: int = 0
    note: str = ""


class Recorder:
    def __init__(self, rows: list):
        self.rows = rows

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row


def _std_tol(a: np.ndarray, b: np.ndarray) -> float:
    """STD_SIGMAS standard errors of std(a) - std(b) (kurtosis-aware, from the pooled data)."""
    pooled = np.concatenate([a, b])
    s = pooled.std()
    if s == 0:
        return 0.0
    kurt = np.mean(((pooled - pooled.mean()) / s) ** 4)
    se = s * math.sqrt(max(kurt - 1.0, 0.0) / 4.0) * math.sqrt(1.0 / a.size + 1.0 / b.size)
    return STD_SIGMAS * se


def compare(
    rec: Recorder,
    where: dict,
    param: str,
    ours: np.ndarray,
    theirs: np.ndarray,
    *,
    bound: float | None = None,
    bound_ours: float | None = None,
    near: float | None = 1e-3,
    note: str = "",
) -> Row:
    """Distributional comparison of one parameter (values pooled over all draws).

    bound: the support bound of the real framework's formula. Checked: both sides stay within
    bound*(1+1e-6); the theirs side reaches within `near` (relative) of it, so the formula is
    the real one; our scheme's declared bound equals it to float tolerance; our side also
    reaches it. near=None: no reach check (unbounded or triangular tails).
    """
    a = np.asarray(ours, np.float64).ravel()
    b = np.asarray(theirs, np.float64).ravel()
    problems = []
    ma, mb = float(np.abs(a).max()), float(np.abs(b).max())
    if bound is not None:
        top = bound * (1 + BOUND_RTOL)
        if ma > top:
            problems.append(f"ours max {ma:.6g} > bound {bound:.6g}")
        if mb > top:
            problems.append(f"theirs max {mb:.6g} > bound {bound:.6g}")
        if near is not None:
            if mb < bound * (1 - near):
                problems.append(f"theirs max {mb:.6g} does not reach bound {bound:.6g}")
            if ma < bound * (1 - near):
                problems.append(f"ours max {ma:.6g} does not reach bound {bound:.6g}")
        if bound_ours is not None and abs(bound_ours - bound) > BOUND_RTOL * bound:
            problems.append(f"declared bound {bound_ours:.8g} != {bound:.8g}")
    sa, sb = float(a.std()), float(b.std())
    if abs(sa - sb) > _std_tol(a, b):
        problems.append(f"std {sa:.6g} vs {sb:.6g}")
    if min(a.size, b.size) < N_MIN:
        problems.append(f"too few values ({a.size}, {b.size}) for a decisive KS test")
    p = float(scipy.stats.ks_2samp(a[:KS_MAX], b[:KS_MAX]).pvalue)
    if p < P_MIN:
        problems.append(f"KS p={p:.3g}")
    row = Row(
        **where,
        param=param,
        check="distribution",
        ok=not problems,
        bound_ours=bound_ours if bound_ours is not None else (ma if bound is not None else None),
        bound_theirs=bound,
        std_ours=sa,
        std_theirs=sb,
        p=p,
        n_ours=a.size,
        n_theirs=b.size,
        note="; ".join(problems + ([note] if note else [])),
    )
    rec.add(row)
    assert row.ok, f"{where} {param}: {row.note}"
    return row


def compare_const(
    rec: Recorder, where: dict, param: str, ours: np.ndarray, theirs: np.ndarray, note: str = ""
) -> Row:
    """Deterministic parameters: every draw on both sides equal, element for element."""
    a, b = np.asarray(ours), np.asarray(theirs)
    a0, b0 = a[0], b[0]
    problems = []
    if not np.all(a == a0):
        problems.append("ours varies between draws")
    if not np.all(b == b0):
        problems.append("theirs varies between draws")
    if a0.size != b0.size or not np.array_equal(a0.ravel(), b0.ravel()):
        problems.append(f"values differ: ours {a0.ravel()[:4]} theirs {b0.ravel()[:4]}")
    vals = np.unique(b0)
    row = Row(
        **where,
        param=param,
        check="constant " + ",".join(f"{v:g}" for v in vals[:3]),
        ok=not problems,
        std_ours=float(a.std()),
        std_theirs=float(b.std()),
        n_ours=a.size,
        n_theirs=b.size,
        note="; ".join(problems + ([note] if note else [])),
    )
    rec.add(row)
    assert row.ok, f"{where} {param}: {row.note}"
    return row


def compare_torch_default(
    rec: Recorder, where: dict, ours: Ours, theirs: dict, fan_in: int, *, prefix="", note=""
) -> None:
    """torch's default Linear/Conv init (`reset_parameters`: kaiming_uniform_(a=sqrt(5)) on the
    weight, the bias from the weight's fan_in): kernel and bias both U(+-1/sqrt(fan_in)); ours
    at `params/{prefix}kernel` and `.../bias`, with their declared bounds."""
    for p in ("kernel", "bias"):
        path = f"params/{prefix}{p}"
        compare(
            rec,
            where,
            p,
            ours[path],
            theirs[p],
            bound=1 / math.sqrt(fan_in),
            bound_ours=ours.bound(path),
            note=note,
        )


def compare_keras_default(
    rec: Recorder, where: dict, ours: Ours, theirs: dict, fan_in: int, fan_out: int, *, note=""
) -> None:
    """Keras's default Dense/Conv init: a glorot_uniform kernel U(+-sqrt(6 / (fan_in +
    fan_out))) with our declared bound, and a zero bias, equal draw for draw."""
    compare(
        rec,
        where,
        "kernel",
        ours["params/kernel"],
        theirs["kernel"],
        bound=math.sqrt(6 / (fan_in + fan_out)),
        bound_ours=ours.bound("params/kernel"),
        note=note,
    )
    compare_const(rec, where, "bias", ours["params/bias"], theirs["bias"])


def check_structure(rec: Recorder, where: dict, param: str, what: str, ok: bool, note: str = ""):
    row = Row(**where, param=param, check=what, ok=bool(ok), note=note)
    rec.add(row)
    assert row.ok, f"{where} {param}: {what} failed ({note})"
    return row


def orthonormal_rows(m: np.ndarray, atol: float = 1e-4) -> bool:
    """Every draw (leading axis) has orthonormal rows."""
    g = np.einsum("nij,nkj->nik", m, m)
    return bool(np.allclose(g, np.eye(m.shape[1])[None], atol=atol))


def orthonormal_cols(m: np.ndarray, atol: float = 1e-4) -> bool:
    g = np.einsum("nji,njk->nik", m, m)
    return bool(np.allclose(g, np.eye(m.shape[2])[None], atol=atol))


def t(x: np.ndarray, axes) -> np.ndarray:
    """Transpose the non-batch axes of a (n, *shape) stack."""
    return np.transpose(x, (0,) + tuple(a + 1 for a in axes))
