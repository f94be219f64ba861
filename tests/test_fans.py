"""Fans: `compute_fans` is JAX's `_compute_fans`, `torch_fans` is torch's, `keras_fans` Keras's.

The three disagree on purpose (that is the point of the layout-aware names): torch reads fan_in
from dim 1 of `(out, in, *k)`, JAX and Keras from dim -2 of `(*k, in, out)`; torch and JAX raise
for rank < 2, Keras returns (1, 1) for rank 0 and (n, n) for rank 1.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from jax._src.nn.initializers import _compute_fans as jax_compute_fans
from keras.src.initializers.random_initializers import compute_fans as keras_compute_fans

import jaxinit

SHAPES = [
    (3, 5),
    (5, 3),
    (1, 7),
    (16, 32),
    (3, 4, 5),
    (3, 3, 16, 32),
    (2, 3, 4, 5, 6),
    (7, 1, 2, 1, 3, 2),
]

AXES = [
    {},
    {"in_axis": 0, "out_axis": 1},
    {"in_axis": 1, "out_axis": 0},  # torch's (out, in, *k) read with JAX's function
    {"in_axis": -1, "out_axis": -2},  # torch ConvTranspose-like: fan_in from output channels
    {"in_axis": (0, 1), "out_axis": -1},
    {"in_axis": -2, "out_axis": -1, "batch_axis": 0},
    {"in_axis": -2, "out_axis": (-1,), "batch_axis": (0, 1)},
    {"in_axis": -2, "out_axis": 0},  # Flax Embed: in and out may coincide (fan_in = F)
]


def _as_set(a, nd):
    return {x % nd for x in ((a,) if isinstance(a, int) else a)}


def _valid(shape, axes):
    """A row applies to a shape when its axes exist and batch does not overlap in/out."""
    nd = len(shape)
    spec = {"in_axis": -2, "out_axis": -1, "batch_axis": (), **axes}
    flat = [x for v in spec.values() for x in ((v,) if isinstance(v, int) else v)]
    if any(not -nd <= x < nd for x in flat):
        return False
    batch = _as_set(spec["batch_axis"], nd)
    return not batch & (_as_set(spec["in_axis"], nd) | _as_set(spec["out_axis"], nd))


FAN_CASES = [(s, a) for s in SHAPES for a in AXES if _valid(s, a)]


@pytest.mark.parametrize("shape,axes", FAN_CASES, ids=[f"{s}-{a}" for s, a in FAN_CASES])
def test_compute_fans_matches_jax(shape, axes):
    fi, fo = jaxinit.compute_fans(shape, **axes)
    jfi, jfo = jax_compute_fans(shape, **axes)
    assert (fi, fo) == pytest.approx((float(jfi), float(jfo)), rel=1e-12)
    assert isinstance(fi, float) and isinstance(fo, float)


def test_fan_table_is_broad():
    assert len(FAN_CASES) >= 50


@pytest.mark.parametrize("shape", SHAPES + [(4, 0), (0, 3, 3)], ids=str)
def test_torch_fans_matches_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert jaxinit.torch_fans(shape) == pytest.approx(tuple(map(float, expected)))


def test_torch_fans_is_compute_fans_on_the_transposed_layout():
    # torch (out, in, *k) == Flax (*k, in, out) after permuting: same fans
    for shape in SHAPES:
        flax_shape = tuple(shape[2:]) + (shape[1], shape[0])
        assert jaxinit.torch_fans(shape) == jaxinit.compute_fans(flax_shape)


@pytest.mark.parametrize("rank", range(0, 6))
def test_keras_fans_matches_keras(rank):
    for shape in itertools.product((1, 2, 3, 7), repeat=rank):
        if len({*shape}) < min(rank, 2) and rank > 3:
            continue  # keep the product small; every rank still sees mixed sizes
        expected = keras_compute_fans(shape)
        assert jaxinit.keras_fans(shape) == pytest.approx(tuple(map(float, expected))), shape


@pytest.mark.parametrize("shape", [(), (5,)])
def test_low_rank_raises_like_torch_and_jax(shape):
    with pytest.raises(jaxinit.ShapeError, match="rank"):
        jaxinit.compute_fans(shape)
    with pytest.raises(ValueError):
        jax_compute_fans(shape)
    with pytest.raises(jaxinit.ShapeError):
        jaxinit.torch_fans(shape)
    with pytest.raises(ValueError):
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    # Keras semantics on request
    n = float(shape[0]) if shape else 1.0
    assert jaxinit.compute_fans(shape, low_rank="keras") == (n, n)


def test_compute_fans_errors():
    with pytest.raises(jaxinit.ShapeError, match="in_axis=2 is out of range"):
        jaxinit.compute_fans((3, 4), in_axis=2)
    with pytest.raises(jaxinit.ShapeError, match="out_axis"):
        jaxinit.compute_fans((3, 4), out_axis=-3)
    with pytest.raises(jaxinit.HyperparameterError, match="low_rank"):
        jaxinit.compute_fans((3, 4), low_rank="haiku")


def test_zero_size_fans():
    assert jaxinit.compute_fans((0, 4)) == (0.0, 0.0)
    assert jaxinit.compute_fans((3, 3, 0, 4)) == (0.0, 0.0)
    assert jaxinit.torch_fans((4, 0)) == (0.0, 4.0)  # torch: fan_in = size(1), fan_out = size(0)
