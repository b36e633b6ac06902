"""Drift distances between the versions' histograms (predictions or one feature).

The distances work on the bucket counts Prometheus already holds, so no raw predictions leave
the model servers. All are zero for identical histograms and symmetric in the two versions (PSI
is symmetric too, being a symmetrised KL divergence); Jensen-Shannon, Hellinger, binned KS and
the chi-square distance are bounded by 1, PSI and Wasserstein-1 are not.

A distance computed from few requests is mostly noise (PSI of two samples of 100 from the same
distribution is about ``(buckets - 1) / 100`` on its own), hence the noise floor taken off here
and the minimum-count rule of the drift assessment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import special

from ...api.v1alpha1 import DriftStatistic
from .buckets import bucket_counts

__all__ = [
    "PSI_FLOOR",
    "corrected_distances",
    "drift_distance",
    "drift_distances",
    "noise_floor",
]

FloatArray = npt.NDArray[np.float64]

PSI_FLOOR: Final = 1e-4
"""Smallest bucket share PSI uses: an empty bucket would otherwise make it infinite."""
_ROUNDING: Final = 1e-14


def _shares(counts: FloatArray) -> FloatArray:
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(total > 0, counts / total, np.nan), dtype=np.float64)


def _psi(stable: FloatArray, candidate: FloatArray) -> FloatArray:
    floored_stable = np.maximum(stable, PSI_FLOOR)
    floored_candidate = np.maximum(candidate, PSI_FLOOR)
    floored_stable = floored_stable / floored_stable.sum(axis=-1, keepdims=True)
    floored_candidate = floored_candidate / floored_candidate.sum(axis=-1, keepdims=True)
    terms = (floored_candidate - floored_stable) * np.log(floored_candidate / floored_stable)
    return np.asarray(terms.sum(axis=-1), dtype=np.float64)


def _clear_rounding(squared: FloatArray) -> FloatArray:
    """Squared distances within rounding of zero are zero: their square roots would be ~1e-8."""
    return np.asarray(np.where(squared < _ROUNDING, 0.0, squared), dtype=np.float64)


def _jensen_shannon(stable: FloatArray, candidate: FloatArray) -> FloatArray:
    """The Jensen-Shannon distance (square root of the divergence, base 2): a metric in [0, 1]."""
    middle = (stable + candidate) / 2
    divergence = (special.rel_entr(stable, middle) + special.rel_entr(candidate, middle)).sum(axis=-1) / 2
    return np.asarray(np.sqrt(_clear_rounding(divergence / math.log(2))), dtype=np.float64)


def _hellinger(stable: FloatArray, candidate: FloatArray) -> FloatArray:
    overlap = np.sqrt(stable * candidate).sum(axis=-1)
    return np.asarray(np.sqrt(_clear_rounding(1 - overlap)), dtype=np.float64)


def _ks(stable: FloatArray, candidate: FloatArray) -> FloatArray:
    """Largest CDF gap at the bucket edges: a lower bound of the unbinned KS statistic."""
    gaps = np.abs(np.cumsum(stable, axis=-1) - np.cumsum(candidate, axis=-1))
    return np.asarray(gaps.max(axis=-1), dtype=np.float64)


def _wasserstein(edges: FloatArray, stable: FloatArray, candidate: FloatArray) -> FloatArray:
    """Area between the binned CDFs over the finite edges, in the histogram's own unit.

    Each bucket's mass sits at its upper edge; mass past the last finite edge sits at that edge,
    since nothing tells us how far out it is.
    """
    gaps = np.abs(np.cumsum(stable, axis=-1) - np.cumsum(candidate, axis=-1))[..., : edges.size - 2]
    widths = np.diff(edges[:-1])
    return np.asarray((gaps * widths).sum(axis=-1), dtype=np.float64)


def _chi_square_distance(stable: FloatArray, candidate: FloatArray) -> FloatArray:
    """Symmetric chi-square distance ``1/2 * sum (p - q)^2 / (p + q)``, in [0, 1]."""
    total = stable + candidate
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(total > 0, (stable - candidate) ** 2 / total, 0.0)
    return np.asarray(terms.sum(axis=-1) / 2, dtype=np.float64)


def noise_floor(
    statistic: DriftStatistic, stable_buckets: FloatArray, candidate_buckets: FloatArray
) -> FloatArray:
    """Expected distance between two samples of these sizes from one distribution.

    Plug-in divergences are biased upwards: with ``k`` buckets PSI of two samples from the same
    distribution averages about ``(k - 1) * (1/n_s + 1/n_c)``, which at 200 requests and ten
    buckets is already half of a typical limit of 0.2. The first-order (chi-square) expansion
    gives the bias of PSI, of the chi-square distance and of the squared Hellinger and
    Jensen-Shannon distances; KS and Wasserstein shrink like ``1/sqrt(n)``, have no such simple
    additive bias, and get none here (their limits are usually set with that noise in mind).
    """
    stable = np.asarray(stable_buckets, dtype=np.float64)
    candidate = np.asarray(candidate_buckets, dtype=np.float64)
    occupied = ((stable + candidate) > 0).sum(axis=-1)
    with np.errstate(divide="ignore"):
        spread = (np.maximum(occupied, 1) - 1) * (1 / stable.sum(axis=-1) + 1 / candidate.sum(axis=-1))
    factors = {
        DriftStatistic.PSI: 1.0,
        DriftStatistic.CHI_SQUARE: 0.25,
        DriftStatistic.HELLINGER: 0.125,
        DriftStatistic.JENSEN_SHANNON: 0.125 / math.log(2),
    }
    return np.asarray(spread * factors.get(statistic, 0.0), dtype=np.float64)


def corrected_distances(
    statistic: DriftStatistic,
    edges: Sequence[float] | FloatArray,
    stable_buckets: FloatArray,
    candidate_buckets: FloatArray,
) -> FloatArray:
    """:func:`drift_distances` less the :func:`noise_floor`, on the statistic's own scale.

    For the Hellinger and Jensen-Shannon distances (square roots of divergences) the floor is
    taken off the square. Never below zero.
    """
    distance = drift_distances(statistic, edges, stable_buckets, candidate_buckets)
    floor = noise_floor(statistic, stable_buckets, candidate_buckets)
    if statistic in (DriftStatistic.HELLINGER, DriftStatistic.JENSEN_SHANNON):
        return np.asarray(np.sqrt(np.maximum(distance**2 - floor, 0.0)), dtype=np.float64)
    return np.asarray(np.maximum(distance - floor, 0.0), dtype=np.float64)


def drift_distances(
    statistic: DriftStatistic,
    edges: Sequence[float] | FloatArray,
    stable_buckets: FloatArray,
    candidate_buckets: FloatArray,
) -> FloatArray:
    """Distances for many pairs of histograms given as per-bucket counts ``(..., buckets)``.

    NaN where either histogram is empty. The benchmark calls this on every run and look at once.
    """
    p = _shares(np.asarray(stable_buckets, dtype=np.float64))
    q = _shares(np.asarray(candidate_buckets, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        if statistic == DriftStatistic.PSI:
            return _psi(p, q)
        if statistic == DriftStatistic.JENSEN_SHANNON:
            return _jensen_shannon(p, q)
        if statistic == DriftStatistic.HELLINGER:
            return _hellinger(p, q)
        if statistic == DriftStatistic.KS:
            return _ks(p, q)
        if statistic == DriftStatistic.WASSERSTEIN:
            return _wasserstein(np.asarray(edges, dtype=np.float64), p, q)
        return _chi_square_distance(p, q)


def drift_distance(
    statistic: DriftStatistic,
    edges: Sequence[float],
    stable_counts: Sequence[float] | FloatArray,
    candidate_counts: Sequence[float] | FloatArray,
) -> float:
    """Distance between two histograms given as cumulative counts per ``le`` edge.

    The counts are cumulative, exactly as Prometheus' `_bucket` series hold them; ``edges`` end
    with +Inf. Returns NaN when either histogram is empty.
    """
    stable = bucket_counts(stable_counts)
    candidate = bucket_counts(candidate_counts)
    return float(drift_distances(statistic, edges, stable, candidate))
