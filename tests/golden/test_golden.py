"""Golden values: every preset and registry scheme draws exactly what commit 8f47afc drew.

The hashes in golden.json were recorded by `golden_cases.py` from that commit (see its
docstring). A changed bit in any array fails here, naming the array.
"""

import json

import jax
import pytest

from . import golden_cases as gc

GOLDEN = json.loads(gc.GOLDEN.read_text())
KEY = 20261201


@pytest.fixture(scope="module")
def now():
    return gc.record(labels={k: set(v) for k, v in GOLDEN.items() if k in ("schemes", "engine")})


@pytest.mark.parametrize("section", ["presets", "pytree", "jit_torch_like", "schemes", "engine"])
def test_golden(now, section):
    want, got = GOLDEN[section], now[section]
    if section == "presets":
        want = {f"{p}:{k}": v for p, d in want.items() for k, v in d.items()}
        got = {f"{p}:{k}": v for p, d in got.items() for k, v in d.items()}
    assert set(got) == set(want), sorted(set(got) ^ set(want))[:10]  # every case still drawn
    changed = sorted(k for k in want if got[k] != want[k])
    assert not changed, f"{len(changed)} of {len(want)} arrays changed, e.g. {changed[:8]}"


def test_golden_covers_the_large_draw():
    big = [k for k in GOLDEN["schemes"] if str(gc.BIG_SHAPE) in k]
    assert len(big) == len(gc.BIG_SCHEMES) and all(GOLDEN["schemes"][k] for k in big)
    assert gc.BIG_SHAPE[0] * gc.BIG_SHAPE[1] > 2**24
    assert jax.random.key(KEY) is not None
