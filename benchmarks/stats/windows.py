"""Array helpers over simulated streams: cumulative and windowed counts, quantiles, first looks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .simulate import LATENCY_EDGES

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NEVER = -1
"""Look index meaning "did not happen within the analysis"."""


def cumulative(per_interval: npt.NDArray[np.generic]) -> FloatArray:
    """Counts since the analysis started, at each look (axis 1 is the look)."""
    return np.asarray(np.cumsum(per_interval, axis=1), dtype=np.float64)


def windowed(per_interval: npt.NDArray[np.generic], intervals: int) -> FloatArray:
    """Counts over the last ``intervals`` intervals at each look, like a PromQL range of that length."""
    totals = cumulative(per_interval)
    shifted = np.zeros_like(totals)
    shifted[:, intervals:] = totals[:, :-intervals]
    return np.asarray(totals - shifted, dtype=np.float64)


def first_look(mask: BoolArray) -> IntArray:
    """Index of the first True along the looks axis, or NEVER."""
    hit = mask.any(axis=1)
    return np.asarray(np.where(hit, mask.argmax(axis=1), NEVER), dtype=np.int64)


def histogram_quantile(buckets: FloatArray, q: float) -> FloatArray:
    """Prometheus' `histogram_quantile` on per-bucket counts ``(..., buckets)`` (NaN when empty).

    Linear interpolation inside the bucket, 0 as the first bucket's lower edge, and the last
    finite edge when the quantile falls in the +Inf bucket, exactly as Prometheus answers.
    """
    edges = np.asarray(LATENCY_EDGES[:-1])
    totals = buckets.sum(axis=-1)
    cumulative_counts = np.cumsum(buckets, axis=-1)
    rank = q * totals
    index = np.argmax(cumulative_counts >= rank[..., None], axis=-1)
    in_finite = index < edges.size
    safe = np.minimum(index, edges.size - 1)
    upper = edges[safe]
    lower = np.where(safe > 0, edges[np.maximum(safe - 1, 0)], 0.0)
    below = np.where(
        index > 0,
        np.take_along_axis(cumulative_counts, np.maximum(index - 1, 0)[..., None], axis=-1)[..., 0],
        0.0,
    )
    inside = np.take_along_axis(buckets, index[..., None], axis=-1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = lower + (upper - lower) * np.where(inside > 0, (rank - below) / inside, 1.0)
    value = np.where(in_finite, value, edges[-1])
    return np.asarray(np.where(totals > 0, value, np.nan), dtype=np.float64)


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a proportion (95% by default)."""
    if trials == 0:
        return (0.0, 1.0)
    share = successes / trials
    denominator = 1 + z**2 / trials
    centre = (share + z**2 / (2 * trials)) / denominator
    half = z * np.sqrt(share * (1 - share) / trials + z**2 / (4 * trials**2)) / denominator
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))
