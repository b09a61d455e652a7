"""Direction maths: mean differences, the harm subspace, projection, interpolation and separation."""

from __future__ import annotations

import numpy as np
import pytest

from uptake.control.directions import (
    direction_at,
    harm_subspace,
    mean_difference,
    normalise,
    project_out,
    separation,
)
from uptake.control.edit import Kernel


def stack(rng: np.random.Generator, n: int, layers: int, width: int, shift: np.ndarray) -> np.ndarray:
    return (rng.standard_normal((n, layers, width)) * 0.1 + shift).astype(np.float32)


def test_mean_difference_recovers_a_planted_direction() -> None:
    rng = np.random.default_rng(0)
    planted = np.zeros((3, 16), dtype=np.float32)
    planted[:, 5] = 2.0
    found = mean_difference(stack(rng, 200, 3, 16, planted), stack(rng, 200, 3, 16, np.zeros(16)))
    assert found.shape == (3, 16)
    assert np.all(np.argmax(np.abs(found), axis=1) == 5)
    assert np.allclose(found[:, 5], 2.0, atol=0.05)


def test_mean_difference_refuses_mismatched_or_empty_stacks() -> None:
    with pytest.raises(ValueError):
        mean_difference(np.zeros((2, 3, 4), np.float32), np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError):
        mean_difference(np.zeros((0, 3, 4), np.float32), np.zeros((2, 3, 4), np.float32))


def test_the_harm_subspace_is_orthonormal_and_starts_with_the_mean_difference() -> None:
    rng = np.random.default_rng(1)
    shift = np.zeros(32, dtype=np.float32)
    shift[[2, 7]] = [3.0, 1.0]
    harm, neutral = stack(rng, 40, 4, 32, shift), stack(rng, 40, 4, 32, np.zeros(32))
    basis = harm_subspace(harm, neutral, rank=3)
    assert basis.shape == (4, 3, 32)
    for layer in range(4):
        gram = basis[layer] @ basis[layer].T
        assert np.allclose(gram, np.eye(3), atol=1e-4)
    first = normalise(mean_difference(harm, neutral))
    assert np.allclose(np.abs(np.einsum("lw,lw->l", basis[:, 0], first)), 1.0, atol=1e-5)


def test_projecting_out_the_harm_subspace_keeps_only_the_political_part() -> None:
    width = 8
    harm_axis = np.zeros(width, np.float32)
    harm_axis[0] = 1.0
    subspace = np.tile(harm_axis, (2, 1, 1))  # (layers=2, rank=1, width)
    political = np.tile(np.array([0.6, 0.8, 0, 0, 0, 0, 0, 0], np.float32), (2, 1))  # half harm, half its own
    edited = project_out(political, subspace)
    assert np.allclose(edited @ harm_axis, 0.0)
    assert np.allclose(edited[:, 1], 0.8)  # the part outside the harm subspace is untouched


def test_direction_at_interpolates_between_layers_and_clamps() -> None:
    directions = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    assert np.allclose(direction_at(directions, 1.0), [0, 1, 0])
    middle = direction_at(directions, 0.5)
    assert np.allclose(middle, [np.sqrt(0.5), np.sqrt(0.5), 0], atol=1e-6)
    assert np.allclose(direction_at(directions, 9.0), [0, 0, 1])
    assert np.allclose(direction_at(directions, -3.0), [1, 0, 0])


def test_separation_is_large_where_groups_differ_and_small_where_they_do_not() -> None:
    rng = np.random.default_rng(2)
    shift = np.zeros((2, 8), np.float32)
    shift[0, 3] = 1.0  # layer 0 separates the groups, layer 1 does not
    positive, negative = stack(rng, 100, 2, 8, shift), stack(rng, 100, 2, 8, np.zeros(8))
    axis = np.zeros((2, 8), np.float32)
    axis[:, 3] = 1.0
    scores = separation(axis, positive, negative)
    assert scores[0] > 5
    assert abs(scores[1]) < 1


def test_the_kernel_peaks_falls_linearly_and_stops_beyond_its_reach() -> None:
    kernel = Kernel(peak_weight=1.2, peak=4.0, floor_weight=0.2, reach=2.0)
    assert kernel.weight(4) == pytest.approx(1.2)
    assert kernel.weight(5) == pytest.approx(0.7)
    assert kernel.weight(6) == pytest.approx(0.2)
    assert kernel.weight(7) == 0.0
    assert kernel.weight(1) == 0.0
