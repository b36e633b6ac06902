"""Drift distances: properties on arbitrary histograms, and the drift test's verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrollout import analysis
from modelrollout.analysis.types import HistogramSample
from modelrollout.api.v1alpha1 import DriftStatistic, Verdict

EDGES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, math.inf)
BOUNDED = (
    DriftStatistic.JENSEN_SHANNON,
    DriftStatistic.HELLINGER,
    DriftStatistic.KS,
    DriftStatistic.CHI_SQUARE,
)

bucket_counts = st.lists(
    st.integers(min_value=0, max_value=10_000), min_size=len(EDGES), max_size=len(EDGES)
).filter(lambda counts: sum(counts) > 0)


def _cumulative(counts: list[int]) -> list[float]:
    return [float(v) for v in np.cumsum(counts)]


@settings(max_examples=60, deadline=None)
@given(counts=bucket_counts, scale=st.integers(min_value=1, max_value=5))
def test_identical_histograms_are_at_distance_zero(counts: list[int], scale: int) -> None:
    for statistic in DriftStatistic:
        scaled = [scale * c for c in counts]
        distance = analysis.drift_distance(statistic, EDGES, _cumulative(counts), _cumulative(scaled))
        assert distance == pytest.approx(0.0, abs=1e-9), statistic


@settings(max_examples=60, deadline=None)
@given(first=bucket_counts, second=bucket_counts)
def test_distances_are_symmetric_non_negative_and_bounded(first: list[int], second: list[int]) -> None:
    for statistic in DriftStatistic:
        forward = analysis.drift_distance(statistic, EDGES, _cumulative(first), _cumulative(second))
        backward = analysis.drift_distance(statistic, EDGES, _cumulative(second), _cumulative(first))
        assert forward == pytest.approx(backward, rel=1e-9, abs=1e-12), statistic
        assert forward >= 0, statistic
        if statistic in BOUNDED:
            assert forward <= 1 + 1e-12, statistic


@settings(max_examples=30, deadline=None)
@given(first=bucket_counts, second=bucket_counts)
def test_disjoint_histograms_reach_the_bound(first: list[int], second: list[int]) -> None:
    low = [0] * len(EDGES)
    high = [0] * len(EDGES)
    low[0], high[-2] = max(1, first[0]), max(1, second[0])
    for statistic in (DriftStatistic.JENSEN_SHANNON, DriftStatistic.HELLINGER, DriftStatistic.KS):
        assert analysis.drift_distance(
            statistic, EDGES, _cumulative(low), _cumulative(high)
        ) == pytest.approx(1.0)


def test_wasserstein_of_a_shift_by_one_bucket_is_the_bucket_width() -> None:
    stable = [0, 100, 0, 0, 0, 0, 0, 0, 0, 0]
    candidate = [0, 0, 100, 0, 0, 0, 0, 0, 0, 0]
    distance = analysis.drift_distance(
        DriftStatistic.WASSERSTEIN, EDGES, _cumulative(stable), _cumulative(candidate)
    )
    assert distance == pytest.approx(0.1)


def test_empty_histogram_has_no_distance() -> None:
    assert math.isnan(analysis.drift_distance(DriftStatistic.PSI, EDGES, [0.0] * 10, _cumulative([1] * 10)))


def _normal_histogram(shift: float, n: int, seed: int) -> tuple[float, ...]:
    values = np.random.default_rng(seed).normal(0.5 + shift, 0.2, n)
    return tuple(float(np.sum(values <= edge)) for edge in EDGES)


def test_drift_fails_beyond_the_limit_and_passes_within() -> None:
    stable = _normal_histogram(0.0, 20_000, 1)
    same = analysis.assess_drift(
        HistogramSample(EDGES, stable, _normal_histogram(0.0, 2_000, 2)), DriftStatistic.PSI, 0.2, 200
    )
    shifted = analysis.assess_drift(
        HistogramSample(EDGES, stable, _normal_histogram(0.2, 2_000, 3)), DriftStatistic.PSI, 0.2, 200
    )
    assert same.verdict == Verdict.PASS
    assert shifted.verdict == Verdict.FAIL
    assert shifted.effect is not None and shifted.effect > 0.2
    assert shifted.interval is not None and shifted.samples_candidate == 2_000
    assert "limit" in shifted.explanation


def test_an_estimate_above_the_limit_needs_certain_drift_to_fail() -> None:
    """A noisy estimate over the limit, with no anytime-valid evidence of any drift, is not a Fail."""
    edges = (0.2, 0.4, 0.6, 0.8, math.inf)
    stable = (40.0, 80.0, 120.0, 160.0, 200.0)
    # Shares 0.2 each for the stable; the candidate's tilt gives PSI about 0.4, on 200 requests each.
    candidate = (10.0, 30.0, 70.0, 130.0, 200.0)
    few = analysis.assess_drift(HistogramSample(edges, stable, candidate), DriftStatistic.PSI, 0.2, 100)
    assert few.effect is not None and few.effect > 0.2
    assert few.interval is not None and few.interval[0] == 0.0
    assert few.verdict == Verdict.INCONCLUSIVE
    assert "still collecting" in few.explanation
    scaled = tuple(100 * c for c in candidate)
    many = analysis.assess_drift(
        HistogramSample(edges, tuple(100 * c for c in stable), scaled), DriftStatistic.PSI, 0.2, 100
    )
    assert many.interval is not None and many.interval[0] > 0
    assert many.verdict == Verdict.FAIL


def test_drift_with_too_few_observations_is_inconclusive_not_fail() -> None:
    stable = _normal_histogram(0.0, 20_000, 1)
    tiny = _normal_histogram(0.4, 50, 4)
    result = analysis.assess_drift(HistogramSample(EDGES, stable, tiny), DriftStatistic.PSI, 0.2, 200)
    assert result.verdict == Verdict.INCONCLUSIVE
    assert result.samples_candidate == 50


def test_noise_floor_keeps_small_identical_samples_under_the_limit() -> None:
    rng = np.random.default_rng(5)
    probabilities = np.full(10, 0.1)
    stable = rng.multinomial(200, probabilities, size=2000).astype(float)
    candidate = rng.multinomial(200, probabilities, size=2000).astype(float)
    raw = analysis.drift_distances(DriftStatistic.PSI, EDGES, stable, candidate)
    corrected = analysis.corrected_distances(DriftStatistic.PSI, EDGES, stable, candidate)
    assert np.mean(raw) == pytest.approx(9 * (2 / 200), rel=0.15)
    assert np.mean(corrected) < 0.03
    assert np.mean(corrected > 0.2) < 0.01
    assert np.mean(raw > 0.2) > np.mean(corrected > 0.2)


def test_unusable_histograms_are_inconclusive() -> None:
    nan_counts = (float("nan"),) * len(EDGES)
    result = analysis.assess_drift(HistogramSample(EDGES, nan_counts, nan_counts), DriftStatistic.KS, 0.1, 10)
    assert result.verdict == Verdict.INCONCLUSIVE
    bad_edges = analysis.assess_drift(
        HistogramSample((1.0, 0.5, math.inf), (1, 2, 3), (1, 2, 3)), DriftStatistic.KS, 0.1, 1
    )
    assert bad_edges.verdict == Verdict.INCONCLUSIVE


@settings(max_examples=60, deadline=None)
@given(first=bucket_counts, second=bucket_counts)
def test_jensen_shannon_and_wasserstein_agree_with_scipy(first: list[int], second: list[int]) -> None:
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import wasserstein_distance

    p, q = np.asarray(first, float) / sum(first), np.asarray(second, float) / sum(second)
    # Our Wasserstein puts a bucket's mass at its upper edge, the +Inf bucket's at the last edge.
    points = np.asarray([*EDGES[:-1], EDGES[-2]])

    js = analysis.drift_distance(
        DriftStatistic.JENSEN_SHANNON, EDGES, _cumulative(first), _cumulative(second)
    )
    w1 = analysis.drift_distance(DriftStatistic.WASSERSTEIN, EDGES, _cumulative(first), _cumulative(second))

    assert js == pytest.approx(jensenshannon(p, q, base=2), abs=1e-7)
    assert w1 == pytest.approx(wasserstein_distance(points, points, p, q), abs=1e-12)
