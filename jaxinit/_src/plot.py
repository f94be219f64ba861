"""Per-layer histograms of drawn weights, several policies overlaid, theory drawn on top.

Needs matplotlib (the `examples` extra). One figure: a grid with one panel per parameter
(kernels and embeddings; constants are skipped), each with one histogram per policy and the
theoretical density (uniform, triangular, normal or +-2 sigma truncated normal, as read off the
explain row) and support bounds as lines.
"""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import jax
import numpy as np
from flax.traverse_util import flatten_dict

from jaxinit._src import api
from jaxinit._src.errors import JaxinitError

MAX_PANELS = 12  # panels per figure: the first 12 parameters of rank >= 2 with 16+ values


def theoretical_density(std: float, bound: float, x: np.ndarray) -> np.ndarray | None:
    """The density implied by (std, bound) for the families jaxinit schemes draw from.

    Uniform on [-b, b] when std = b/sqrt(3), the sum of two uniforms (triangular) when
    std = b/sqrt(6), else a normal truncated at +-2 sigma = +-b; a normal when the bound is
    infinite or None.

    Args:
      std: the theoretical standard deviation (an explain row's `std`).
      bound: the support bound (an explain row's `bound`), or None/inf for unbounded.
      x: the points to evaluate at.

    Returns:
      The density at `x`, or None when `std` is None or not positive (constants).

    >>> import numpy as np
    >>> from jaxinit._src.plot import theoretical_density
    >>> theoretical_density(1 / np.sqrt(3), 1.0, np.array([0.0, 0.5, 2.0])).round(3).tolist()
    [0.5, 0.5, 0.0]
    """
    if std is None or std <= 0:
        return None
    if bound is None or math.isinf(bound):
        return np.exp(-0.5 * (x / std) ** 2) / (std * math.sqrt(2 * math.pi))
    if abs(std - bound / math.sqrt(3)) < 1e-3 * bound:  # uniform on [-b, b]
        return np.where(np.abs(x) <= bound, 1.0 / (2 * bound), 0.0)
    if abs(std - bound / math.sqrt(6)) < 1e-3 * bound:  # sum of two uniforms (torch b_ih+b_hh)
        return np.clip(bound - np.abs(x), 0, None) / bound**2
    sigma = bound / 2.0  # truncated at +-2 sigma
    z = math.erf(2 / math.sqrt(2))
    pdf = np.exp(-0.5 * (x / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi) * z)
    return np.where(np.abs(x) <= bound, pdf, 0.0)


def _unbox(x: Any) -> Any:
    return x.unbox() if hasattr(x, "unbox") else x


def plot_policies(
    model: Any, inputs: Sequence[Any], policies: Sequence[Any], out: str, *, seed: int = 0
) -> str:
    """Draws `model`'s parameters under each policy and writes one PNG to `out`.

    Args:
      model: a Linen module.
      inputs: its example inputs.
      policies: the policies to overlay (`Policy` objects or preset names).
      out: the PNG path; its directory is created.
      seed: the root key is `jax.random.key(seed)`.

    Returns:
      `out`.
    """
    fig = policy_figure(model, inputs, policies, seed=seed)  # Checks that matplotlib is there.
    import matplotlib.pyplot as plt

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def policy_figure(model: Any, inputs: Sequence[Any], policies: Sequence[Any], *, seed: int = 0):
    """The figure `plot_policies` saves: one panel per parameter, one histogram per policy.

    Args:
      model: a Linen module.
      inputs: its example inputs.
      policies: the policies to overlay (`Policy` objects or preset names).
      seed: the root key is `jax.random.key(seed)`.

    Returns:
      A matplotlib figure (the caller closes it).

    Raises:
      JaxinitError: matplotlib is not installed, or the model has no parameter of rank >= 2.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise JaxinitError("plot needs matplotlib: pip install 'jaxinit[examples]'.") from e
    key = jax.random.key(seed)
    drawn, rows = [], []
    for p in policies:
        variables = api.init(model, key, *inputs, policy=p)
        flat = {k: np.asarray(_unbox(v)) for k, v in flatten_dict(variables, sep="/").items()}
        drawn.append(flat)
        rows.append({r.path: r for r in api.explain(model, *inputs, policy=p).rows})
    paths = [
        path
        for path, a in drawn[0].items()
        if path.startswith("params/")
        and a.ndim >= 2
        and a.size >= 16
        and any(np.std(d[path]) > 0 for d in drawn)
    ][:MAX_PANELS]
    if not paths:
        raise JaxinitError("plot: the model has no parameter of rank >= 2 to show.")
    ncols = min(3, len(paths))
    nrows = math.ceil(len(paths) / ncols)
    # A header band above the panels, in inches: the title on top, the legend below it.
    title_in, legend_in = 0.3, 0.25
    height = 3.4 * nrows + title_in + legend_in
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, height), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, path in zip(axes.flat, paths):
        lim = max(float(np.max(np.abs(d[path]))) for d in drawn) * 1.15 or 1.0
        x = np.linspace(-lim, lim, 400)
        for j, (p, d, r) in enumerate(zip(policies, drawn, rows)):
            c = colors[j % len(colors)]
            name = getattr(p, "name", None) or f"policy {j}"
            ax.hist(
                d[path].ravel(),
                bins=60,
                range=(-lim, lim),
                density=True,
                histtype="step",
                color=c,
                lw=1.4,
                label=name,
            )
            row = r.get(path)
            if row is not None and row.std:
                dens = theoretical_density(row.std, row.bound, x)
                if dens is not None:
                    ax.plot(x, dens, color=c, ls="--", lw=1)
                if row.bound is not None and math.isfinite(row.bound):
                    ax.axvline(row.bound, color=c, ls=":", lw=0.8)
                    ax.axvline(-row.bound, color=c, ls=":", lw=0.8)
        short = path.removeprefix("params/")
        ax.set_title(f"{short} {tuple(drawn[0][path].shape)}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(paths) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.suptitle(
        "drawn weights (solid) vs theory (dashed density, dotted bounds)",
        y=1 - 0.08 / height,
        va="top",
        fontsize=10,
    )
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - title_in / height),
        ncol=len(policies),
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - (title_in + legend_in) / height))
    return fig
