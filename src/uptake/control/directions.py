"""Refusal directions as differences of means of residual activations, per layer.

Political: targets minus their matched controls (same subject, same form, only the sensitive part differs)
on the direction topics; harm: harm requests minus neutral questions. The edit direction is the political
one with the harm subspace projected out, so that an edit along it leaves what carries harm refusal
(Arditi et al. 2024 find refusal mediated by one direction; category-specific work finds the categories'
directions differ but overlap, which is what the projection removes).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]


def mean_difference(positive: Array, negative: Array) -> Array:
    """(n, layers, width) and (m, layers, width) -> (layers, width): mean(positive) - mean(negative)."""
    if positive.ndim != 3 or negative.ndim != 3 or positive.shape[1:] != negative.shape[1:]:
        raise ValueError(
            f"activation stacks must be (n, layers, width) alike, not {positive.shape} and {negative.shape}"
        )
    if len(positive) == 0 or len(negative) == 0:
        raise ValueError("a direction needs at least one prompt on each side")
    return np.asarray(positive.mean(axis=0) - negative.mean(axis=0), dtype=np.float32)


def normalise(vectors: Array) -> Array:
    """Each row scaled to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def harm_subspace(harm: Array, neutral: Array, rank: int) -> Array:
    """Per layer, an orthonormal basis (layers, rank, width) of what separates harm requests from neutral
    questions: the mean difference first, then the main directions in which single harm requests differ
    from the neutral mean beyond it (SVD)."""
    if rank < 1:
        raise ValueError("the harm subspace needs rank 1 or more")
    layers, width = harm.shape[1], harm.shape[2]
    basis = np.zeros((layers, rank, width), dtype=np.float32)
    means = mean_difference(harm, neutral)
    offsets = harm - neutral.mean(axis=0, keepdims=True)  # (n, layers, width)
    for layer in range(layers):
        first = means[layer] / max(float(np.linalg.norm(means[layer])), 1e-12)
        basis[layer, 0] = first
        if rank > 1:
            rest = offsets[:, layer, :] - np.outer(offsets[:, layer, :] @ first, first)
            _, _, right = np.linalg.svd(rest, full_matrices=False)
            vectors = right[: rank - 1]
            basis[layer, 1 : 1 + len(vectors)] = vectors
        basis[layer] = _orthonormal_rows(basis[layer])
    return basis


def _orthonormal_rows(rows: Array) -> Array:
    """Gram-Schmidt on the rows, in order; a row that adds nothing new becomes zero."""
    result = np.zeros_like(rows)
    for index, row in enumerate(rows):
        vector = row - result[:index].T @ (result[:index] @ row)
        norm = float(np.linalg.norm(vector))
        if norm > 1e-6:
            result[index] = vector / norm
    return result


def project_out(directions: Array, subspace: Array) -> Array:
    """(layers, width) directions with each layer's (rank, width) orthonormal subspace removed."""
    inside = np.einsum("lkw,lw->lk", subspace, directions)
    return np.asarray(directions - np.einsum("lk,lkw->lw", inside, subspace), dtype=np.float32)


def direction_at(directions: Array, position: float) -> Array:
    """A unit direction at a fractional layer index, interpolated between the two nearest layers' unit
    directions (so a search can move smoothly along the depth)."""
    units = normalise(directions)
    position = min(max(position, 0.0), len(units) - 1.0)
    low = int(np.floor(position))
    high = min(low + 1, len(units) - 1)
    share = position - low
    mixed = (1 - share) * units[low] + share * units[high]
    return np.asarray(normalise(mixed[None, :])[0], dtype=np.float32)


def separation(directions: Array, positive: Array, negative: Array) -> npt.NDArray[np.float64]:
    """Per layer, how far apart two groups' projections on the unit direction lie, in pooled standard
    deviations (a d'): which layers carry the contrast on prompts the direction was not found on."""
    units = normalise(directions)
    on_positive = np.einsum("nlw,lw->nl", positive, units)
    on_negative = np.einsum("nlw,lw->nl", negative, units)
    spread = np.sqrt((on_positive.var(axis=0) + on_negative.var(axis=0)) / 2) + 1e-9
    return np.asarray((on_positive.mean(axis=0) - on_negative.mean(axis=0)) / spread, dtype=np.float64)
