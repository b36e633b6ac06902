"""Evidence that one version's mean is higher than the other's by more than a minimum effect.

An A/B test's `mean` goal (`<metric>_sum / <metric>_count`, e.g. order value) has no histogram:
Prometheus holds each version's sum and count per interval, nothing about the spread of single
values. The spread comes from the intervals themselves (batch means): with ``n_i`` values summing
to ``S_i`` in interval ``i``, ``sum_i n_i (S_i / n_i - mean)^2 / (k - 1)`` estimates the variance
of one value from ``k`` intervals, unbiased whatever the ``n_i``, and conservative when the mean
drifts over the day (the drift adds to it; the difference between the versions, served side by
side under one split, does not). The normal mixture SPRT of :mod:`.mixtures` on the difference of
means, with that variance plugged in, is then valid asymptotically, like the latency mean's; it
waits for ``MIN_INTERVALS`` intervals with values of each version before it counts at all.

Superiority (``mean_c > mean_s + d``) and its mirror, "not superior" (``mean_c < mean_s + d``),
are the two one-sided sides; the confidence sequence for the difference is the set neither side
rejects at ``alpha / 2``. Everything is a function of cumulative sums, so nothing is kept between
intervals. Proof sketch and measured calibration: docs/statistics.md#ab-test-superiority
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from .mixtures import Direction, as_float_arrays, gaussian_grid_log_evidence

__all__ = [
    "MIN_INTERVALS",
    "SCALE_IN_STANDARD_DEVIATIONS",
    "MeanEvidence",
    "mean_difference_interval",
    "mean_superiority_evidence",
]

FloatArray = npt.NDArray[np.float64]

MIN_INTERVALS: Final = 8
"""Intervals with values of each version before the evidence counts: the variance rests on them,
and below about eight its plug-in is too kind to an early lucky run (the t distribution's tails
at 7 degrees of freedom are already close enough to the normal's at the thresholds used)."""
SCALE_IN_STANDARD_DEVIATIONS: Final = 0.05
"""Base scale of the mixture's prior, in standard deviations of one value, when the minimum
effect is smaller: the prior grid (x1, x4, x16, x64) then covers effects from 5% to 3 standard
deviations, which is where A/B effects on a business mean lie."""


class MeanEvidence:
    """Both one-sided log e-values at every look and what they rest on (arrays, looks last)."""

    def __init__(
        self,
        superior: FloatArray,
        not_superior: FloatArray,
        difference: FloatArray,
        variance: FloatArray,
        scale: FloatArray,
        counted: npt.NDArray[np.bool_],
    ) -> None:
        self.superior = superior
        """Log e-value that the candidate's mean exceeds the stable's by more than the minimum effect."""
        self.not_superior = not_superior
        """Log e-value that it does not: below the stable's plus the minimum effect."""
        self.difference = difference
        """Candidate's mean minus the stable's."""
        self.variance = variance
        """Variance of that difference."""
        self.scale = scale
        """The prior's base scale, for the confidence sequence."""
        self.counted = counted
        """Looks at which the evidence counts (enough intervals of both versions)."""


def _moments(sums: FloatArray, counts: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Cumulative count, mean, variance of one value (batch means) and intervals with values."""
    filled = counts > 0
    total = np.cumsum(counts, axis=-1)
    summed = np.cumsum(sums, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        squares = np.cumsum(np.where(filled, sums**2 / np.where(filled, counts, 1.0), 0.0), axis=-1)
        mean = summed / total
        intervals = np.cumsum(filled, axis=-1).astype(np.float64)
        spread = np.maximum(squares - summed**2 / total, 0.0) / (intervals - 1)
    return total, mean, spread, intervals


def mean_superiority_evidence(
    stable_sums: npt.ArrayLike,
    stable_counts: npt.ArrayLike,
    candidate_sums: npt.ArrayLike,
    candidate_counts: npt.ArrayLike,
    min_effect: float,
) -> MeanEvidence:
    """The evidence at every look from per-interval sums and counts (not cumulative; looks last).

    A look where either version has fewer than ``MIN_INTERVALS`` intervals with values, or no
    spread at all, carries no evidence (log e-value 0).
    """
    s_s, n_s, s_c, n_c = as_float_arrays(stable_sums, stable_counts, candidate_sums, candidate_counts)
    total_s, mean_s, var_s, k_s = _moments(np.atleast_1d(s_s), np.atleast_1d(n_s))
    total_c, mean_c, var_c, k_c = _moments(np.atleast_1d(s_c), np.atleast_1d(n_c))
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = var_s / total_s + var_c / total_c
        pooled_sd = np.sqrt((var_s * (k_s - 1) + var_c * (k_c - 1)) / (k_s + k_c - 2))
    difference = mean_c - mean_s
    counted = (k_s >= MIN_INTERVALS) & (k_c >= MIN_INTERVALS) & np.isfinite(variance) & (variance > 0)
    scale = np.maximum(min_effect, SCALE_IN_STANDARD_DEVIATIONS * np.where(counted, pooled_sd, 1.0))
    excess = np.where(counted, difference - min_effect, 0.0)
    safe_variance = np.where(counted, variance, 1.0)

    def side(direction: Direction) -> FloatArray:
        log_e = gaussian_grid_log_evidence(excess, safe_variance, scale, direction)
        return np.asarray(np.where(counted, log_e, 0.0), dtype=np.float64)

    return MeanEvidence(side("greater"), side("less"), difference, variance, scale, counted)


def mean_difference_interval(evidence: MeanEvidence, alpha: float) -> tuple[float, float]:
    """The ``1 - alpha`` confidence sequence for the difference of means at the last look: every
    difference neither side rejects at ``alpha / 2``. The mixture's evidence depends on the
    distance from the estimate in standard errors only (at a fixed prior), so one search for
    that distance gives both ends. Unbounded (infinite) while the evidence does not count."""
    if not bool(evidence.counted[..., -1]):
        return -math.inf, math.inf
    variance = float(evidence.variance[..., -1])
    scale = float(evidence.scale[..., -1])
    threshold = math.log(2 / alpha)
    error = math.sqrt(variance)

    def rejects(distance: float) -> bool:
        log_e = gaussian_grid_log_evidence(distance * error, variance, scale, "greater")
        return float(log_e) >= threshold

    low, high = 0.0, 4.0
    while not rejects(high):
        low, high = high, 2 * high
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (low, middle) if rejects(middle) else (middle, high)
    estimate = float(evidence.difference[..., -1])
    return estimate - high * error, estimate + high * error
