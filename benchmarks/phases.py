"""Where one jaxinit init of a benchmark model spends its time, by phase.

    .venv/bin/python benchmarks/phases.py deep_narrow torch_like

One cold process, one init: the abstract trace of `model.init` (`linen.trace`), building the
parameter specs and resolving the policy, then drawing every covered parameter (compiles
included). Run it once per model in a fresh process; the sum is close to `run.py`'s time for
`jaxinit_<preset>` (which also counts the completion of uncovered variables, none here).
"""

from __future__ import annotations

import sys
import time

import jax
import jaxinit
from jaxinit._src import linen
from jaxinit._src.draw import draw

import models_flax


def main(argv: list[str]) -> None:
    name = argv[0] if argv else "deep_narrow"
    preset = argv[1] if len(argv) > 1 else "torch_like"
    size = argv[2] if len(argv) > 2 else "full"
    model, inputs = models_flax.build(name, size)
    key = jax.random.key(0)
    policy = jaxinit.preset(preset)
    t0 = time.perf_counter()
    abstract, modules, inner = linen.trace(model, key, *inputs)
    t1 = time.perf_counter()
    specs, _, _ = linen.specs_from_abstract(abstract, modules, inner)
    res = policy.resolve(specs)
    t2 = time.perf_counter()
    jax.block_until_ready(draw(res.decisions, key))
    t3 = time.perf_counter()
    uncovered = sum(not d.covered for d in res.decisions)
    print(
        f"{name} {preset}: trace {t1 - t0:.2f} s, specs+resolve {t2 - t1:.2f} s, "
        f"draw {t3 - t2:.2f} s, total {t3 - t0:.2f} s; {len(res.decisions)} parameters, "
        f"{uncovered} left to the module"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
