"""Anytime-valid bounds on a drift distance, from confidence sequences of the bucket shares.

A plug-in distance compared with a limit at every look rolls back candidates whose true drift is
inside the limit far more often than alpha. Here every bucket's share (for KS and Wasserstein,
every cumulative share at an edge) of each version gets a confidence sequence, alpha split over
them all; each distance is a sum or maximum of convex per-bucket terms, so its extremes over the
boxes of shares bound the true distance at every look at once.

Proof and measured figures: docs/statistics.md#drift-bounds

References
----------
Howard, Ramdas, McAuliffe, Sekhon (2021). Time-uniform, nonparametric, nonasymptotic confidence
sequences. Annals of Statistics 49(2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import special

from ...api.v1alpha1 import DriftStatistic
from ..histograms import PSI_FLOOR
from .mixtures import binomial_confidence_sequence

__all__ = ["drift_bounds"]

FloatArray = npt.NDArray[np.float64]
Term = Callable[[FloatArray, FloatArray], FloatArray]


def _psi_term(p: FloatArray, q: FloatArray) -> FloatArray:
    p, q = np.maximum(p, PSI_FLOOR), np.maximum(q, PSI_FLOOR)
    return np.asarray((q - p) * np.log(q / p), dtype=np.float64)


def _chi_square_term(p: FloatArray, q: FloatArray) -> FloatArray:
    total = p + q
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(total > 0, (p - q) ** 2 / total, 0.0) / 2, dtype=np.float64)


def _hellinger_term(p: FloatArray, q: FloatArray) -> FloatArray:
    return np.asarray((np.sqrt(p) - np.sqrt(q)) ** 2 / 2, dtype=np.float64)


def _jensen_shannon_term(p: FloatArray, q: FloatArray) -> FloatArray:
    middle = (p + q) / 2
    divergence = (special.rel_entr(p, middle) + special.rel_entr(q, middle)) / 2
    return np.asarray(divergence / math.log(2), dtype=np.float64)


def _gap_term(p: FloatArray, q: FloatArray) -> FloatArray:
    return np.asarray(np.abs(p - q), dtype=np.float64)


_BUCKET_TERMS: Final[dict[DriftStatistic, Term]] = {
    DriftStatistic.PSI: _psi_term,
    DriftStatistic.CHI_SQUARE: _chi_square_term,
    DriftStatistic.HELLINGER: _hellinger_term,
    DriftStatistic.JENSEN_SHANNON: _jensen_shannon_term,
}
_SQUARE_ROOTED: Final = (DriftStatistic.HELLINGER, DriftStatistic.JENSEN_SHANNON)
"""Distances that are the square root of the sum of their terms."""


def _box_extremes(
    term: Term, stable: tuple[FloatArray, FloatArray], candidate: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """Smallest and largest value of ``term`` over each bucket's box of shares."""
    (s_low, s_high), (c_low, c_high) = stable, candidate
    nearest_s = np.where(c_low > s_high, s_high, np.where(s_low > c_high, s_low, 0.0))
    nearest_c = np.where(c_low > s_high, c_low, np.where(s_low > c_high, c_high, 0.0))
    apart = (c_low > s_high) | (s_low > c_high)
    smallest = np.where(apart, term(nearest_s, nearest_c), 0.0)
    corners = [term(s, c) for s in (s_low, s_high) for c in (c_low, c_high)]
    largest = np.maximum.reduce(corners)
    return np.asarray(smallest, dtype=np.float64), np.asarray(largest, dtype=np.float64)


def _share_boxes(counts: FloatArray, alpha_each: float) -> tuple[FloatArray, FloatArray]:
    total = np.broadcast_to(counts.sum(axis=-1, keepdims=True), counts.shape)
    low, high = binomial_confidence_sequence(counts, total, alpha_each)
    return low, high


def drift_bounds(
    statistic: DriftStatistic,
    edges: Sequence[float] | FloatArray,
    stable_buckets: FloatArray,
    candidate_buckets: FloatArray,
    alpha: float,
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper ``1 - alpha`` confidence-sequence bounds of the true distance.

    ``*_buckets`` are per-bucket counts ``(..., buckets)`` (the +Inf bucket last), as in
    :func:`..histograms.distances.drift_distances`; vectorised over the leading axes so the benchmark runs the
    same code on every run and look. NaN where either histogram is empty.
    """
    stable = np.asarray(stable_buckets, dtype=np.float64)
    candidate = np.asarray(candidate_buckets, dtype=np.float64)
    empty = (stable.sum(axis=-1) <= 0) | (candidate.sum(axis=-1) <= 0)
    edge_array = np.asarray(edges, dtype=np.float64)
    if statistic in _BUCKET_TERMS:
        alpha_each = alpha / (2 * stable.shape[-1])
        low, high = _box_extremes(
            _BUCKET_TERMS[statistic], _share_boxes(stable, alpha_each), _share_boxes(candidate, alpha_each)
        )
        lower, upper = low.sum(axis=-1), high.sum(axis=-1)
        if statistic in _SQUARE_ROOTED:
            lower, upper = np.sqrt(lower), np.sqrt(np.minimum(upper, 1.0))
    else:
        # Cumulative shares at the finite edges, the quantities KS and Wasserstein-1 are made of.
        finite = edge_array.size - 1 if statistic == DriftStatistic.KS else edge_array.size - 2
        alpha_each = alpha / (2 * max(finite, 1))
        below_stable = np.cumsum(stable, axis=-1)[..., :finite]
        below_candidate = np.cumsum(candidate, axis=-1)[..., :finite]
        stable_total = np.broadcast_to(stable.sum(axis=-1, keepdims=True), below_stable.shape)
        candidate_total = np.broadcast_to(candidate.sum(axis=-1, keepdims=True), below_candidate.shape)
        low, high = _box_extremes(
            _gap_term,
            binomial_confidence_sequence(below_stable, stable_total, alpha_each),
            binomial_confidence_sequence(below_candidate, candidate_total, alpha_each),
        )
        if statistic == DriftStatistic.KS:
            lower, upper = low.max(axis=-1), high.max(axis=-1)
        else:
            widths = np.diff(edge_array[:-1])
            lower, upper = (low * widths).sum(axis=-1), (high * widths).sum(axis=-1)
    lower = np.where(empty, np.nan, lower)
    upper = np.where(empty, np.nan, upper)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
