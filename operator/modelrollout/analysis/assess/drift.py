"""Drift of the candidate's histogram (predictions or one feature) against the stable's.

The spec's limit applies to the distance less its sampling noise; a rollback also needs
anytime-valid evidence that the histograms differ at all, so looking every interval does not
roll back a candidate identical to the stable more often than alpha.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ...api.v1alpha1 import DriftStatistic, Verdict
from ..fixed import g_test
from ..histograms import bucket_counts, corrected_distances, drift_distance, valid_histogram
from ..sequential import drift_bounds
from ..types import HistogramSample, MetricTest
from ._results import as_count, format_number, inconclusive

__all__ = ["assess_drift"]

FloatArray = npt.NDArray[np.float64]


def _binned_mean(edges: Sequence[float], counts: FloatArray) -> float:
    """Mean with each bucket at its midpoint (first bucket at its edge, +Inf at the last edge)."""
    finite = np.asarray(edges[:-1], dtype=np.float64)
    lower = np.concatenate(([finite[0]], finite[:-1]))
    points = np.concatenate(((lower + finite) / 2, [finite[-1]]))
    return float(np.dot(points, counts) / counts.sum())


def assess_drift(
    sample: HistogramSample,
    statistic: DriftStatistic,
    max_distance: float,
    min_count: int,
    alpha: float = 0.05,
) -> MetricTest:
    """Fail when the distance, less its sampling noise, exceeds the limit and drift is certain.

    Inconclusive (never Fail) while either version has fewer than ``min_count`` observations.
    ``stable``/``candidate`` are the binned means, ``effect`` the noise-corrected distance and
    ``interval`` a ``1 - alpha`` confidence sequence of the true distance
    (:func:`..sequential.drift_bounds.drift_bounds`), valid at every look.

    The limit is the spec's, applied to the point estimate; but a rollback also needs the
    confidence sequence to exclude zero, i.e. anytime-valid evidence that the versions' histograms
    differ at all, so a candidate identical to the stable is rolled back with probability at most
    alpha however often the operator looks. An estimate above the limit without that evidence is
    Inconclusive (why this gate, and what it cost without it: docs/statistics.md#drift-gate).
    A G-test of homogeneity is quoted in the explanation for context; it is not put in
    ``p_value`` because the verdict is the limit's, not the test's (the judge corrects p-values).
    """
    method = f"{statistic.value} drift"
    problem = valid_histogram(sample.edges, sample.stable_counts) or valid_histogram(
        sample.edges, sample.candidate_counts
    )
    if problem is not None:
        return inconclusive(method, f"No usable histogram: {problem}.")
    stable = bucket_counts(sample.stable_counts)
    candidate = bucket_counts(sample.candidate_counts)
    samples_stable, samples_candidate = as_count(stable.sum()), as_count(candidate.sum())
    if min(stable.sum(), candidate.sum()) < max(min_count, 1):
        return inconclusive(
            method,
            f"{min(samples_stable, samples_candidate)} observations in the smaller version, fewer than"
            f" the {min_count} needed for a stable distance: still collecting.",
            samples_stable,
            samples_candidate,
        )
    raw = drift_distance(statistic, sample.edges, sample.stable_counts, sample.candidate_counts)
    distance = float(corrected_distances(statistic, sample.edges, stable, candidate))
    homogeneity = g_test(np.stack([stable, candidate]))
    lower, upper = drift_bounds(statistic, sample.edges, stable, candidate, alpha)
    verdict, comparison, gate = Verdict.PASS, "within", ""
    if distance > max_distance and lower > 0:
        verdict, comparison, gate = Verdict.FAIL, "above", "; the versions differ beyond doubt"
    elif distance > max_distance:
        verdict, comparison = Verdict.INCONCLUSIVE, "above"
        gate = "; not yet beyond doubt that the versions differ at all: still collecting"
    stable_mean = _binned_mean(sample.edges, stable)
    candidate_mean = _binned_mean(sample.edges, candidate)
    return MetricTest(
        verdict=verdict,
        method=method,
        stable=stable_mean,
        candidate=candidate_mean,
        effect=distance,
        interval=(float(lower), float(upper)),
        samples_stable=samples_stable,
        samples_candidate=samples_candidate,
        explanation=(
            f"{statistic.value} {format_number(distance)} after sampling noise ({format_number(raw)} raw)"
            f" {comparison} the limit {format_number(max_distance)}; true distance between"
            f" {format_number(float(lower))} and {format_number(float(upper))} with {100 * (1 - alpha):g}%"
            f" confidence at any look{gate} (binned mean {format_number(candidate_mean)} vs"
            f" {format_number(stable_mean)}, G-test p = {homogeneity.pvalue:.3g})."
        ),
    )
