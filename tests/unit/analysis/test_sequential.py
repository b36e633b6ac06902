"""The sequential tests: seeded A/A calibration under a look every interval, and their verdicts.

The calibration runs the same vectorised evidence functions `assess_rate` and `assess_latency` call,
over 60 looks of 30-second intervals, at 1 rps and 1000 rps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from modelrollout import analysis
from modelrollout.analysis import latency_log_evidence, rate_log_evidence
from modelrollout.analysis.types import AssessConfig, HistogramSample, Margin, RateSample
from modelrollout.api.v1alpha1 import AnalysisMethod, Verdict

ALPHA = 0.05
LOOKS = 60
RUNS = 250
INTERVAL = 30.0
EDGES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)


def _requests(rng: np.random.Generator, rps: float, weight: float) -> tuple[np.ndarray, np.ndarray]:
    stable = rng.poisson(rps * (1 - weight) * INTERVAL, (RUNS, LOOKS))
    candidate = rng.poisson(rps * weight * INTERVAL, (RUNS, LOOKS))
    return stable, candidate


def _false_fail_rate(margin: Margin, rps: float, weight: float, candidate_rate: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    n_s, n_c = _requests(rng, rps, weight)
    x_s, x_c = rng.binomial(n_s, 0.01), rng.binomial(n_c, candidate_rate)
    evidence = rate_log_evidence(x_s.cumsum(1), n_s.cumsum(1), x_c.cumsum(1), n_c.cumsum(1), margin, ALPHA)
    return float((evidence.fail_log_e >= evidence.log_threshold).any(axis=1).mean())


@pytest.mark.parametrize(("rps", "weight"), [(1.0, 0.05), (1.0, 0.5), (1000.0, 0.05), (1000.0, 0.5)])
def test_error_rate_a_a_false_fail_rate_stays_under_alpha(rps: float, weight: float) -> None:
    assert _false_fail_rate(Margin(absolute=0.005), rps, weight, 0.01, seed=11) <= ALPHA
    assert _false_fail_rate(Margin(relative=0.5), rps, weight, 0.01, seed=12) <= ALPHA


@pytest.mark.parametrize("rps", [1.0, 1000.0])
def test_false_fail_rate_at_the_margin_itself_stays_under_alpha(rps: float) -> None:
    """The hardest null: the candidate exactly as bad as the margin allows."""
    assert _false_fail_rate(Margin(absolute=0.005), rps, 0.25, 0.015, seed=13) <= ALPHA
    assert _false_fail_rate(Margin(relative=0.5), rps, 0.25, 0.015, seed=14) <= ALPHA


def _latency_buckets(rng: np.random.Generator, requests: np.ndarray, scale: float) -> np.ndarray:
    below = stats.norm.cdf((np.log(np.asarray(EDGES)) - math.log(0.1 * scale)) / 0.5)
    probabilities = np.diff(below, prepend=0.0)
    return np.asarray(rng.multinomial(requests, probabilities), dtype=float)


@pytest.mark.parametrize("weight", [0.05, 0.25, 0.5])
@pytest.mark.parametrize("rps", [1.0, 1000.0])
@pytest.mark.parametrize("scale", [1.0, 1.1])
def test_latency_false_fail_rate_stays_under_alpha(rps: float, scale: float, weight: float) -> None:
    """A/A and the margin itself (+10%): at a 5% canary the binned mean starts at 20 requests."""
    rng = np.random.default_rng(21)
    n_s, n_c = _requests(rng, rps, weight)
    stable = _latency_buckets(rng, n_s, 1.0).cumsum(axis=1)
    candidate = _latency_buckets(rng, n_c, scale).cumsum(axis=1)
    evidence = latency_log_evidence(
        np.asarray(EDGES[:-1]),
        stable.cumsum(axis=-1)[..., :-1],
        stable.sum(axis=-1),
        candidate.cumsum(axis=-1)[..., :-1],
        candidate.sum(axis=-1),
        Margin(relative=0.10),
    )
    assert float((evidence.fail_log_e >= -math.log(ALPHA)).any(axis=1).mean()) <= ALPHA


def test_latency_detects_a_clear_regression_at_high_traffic() -> None:
    rng = np.random.default_rng(22)
    n_s, n_c = _requests(rng, 1000.0, 0.05)
    stable = _latency_buckets(rng, n_s, 1.0).cumsum(axis=1)
    candidate = _latency_buckets(rng, n_c, 1.3).cumsum(axis=1)
    evidence = latency_log_evidence(
        np.asarray(EDGES[:-1]),
        stable.cumsum(axis=-1)[..., :-1],
        stable.sum(axis=-1),
        candidate.cumsum(axis=-1)[..., :-1],
        candidate.sum(axis=-1),
        Margin(relative=0.10),
    )
    assert (evidence.fail_log_e[:, 2] >= -math.log(ALPHA)).mean() > 0.95


@pytest.mark.parametrize("stable_rate", [0.001, 0.2])
def test_absolute_margin_holds_at_the_boundary_for_rare_and_common_events(stable_rate: float) -> None:
    """A common base rate makes the margin a ratio barely above 1, where it is hardest."""
    rng = np.random.default_rng(32)
    n_s, n_c = _requests(rng, 20.0, 0.25)
    x_s, x_c = rng.binomial(n_s, stable_rate), rng.binomial(n_c, stable_rate + 0.005)
    evidence = rate_log_evidence(
        x_s.cumsum(1), n_s.cumsum(1), x_c.cumsum(1), n_c.cumsum(1), Margin(absolute=0.005), ALPHA
    )
    assert float((evidence.fail_log_e >= evidence.log_threshold).any(axis=1).mean()) <= ALPHA
    x_c_worse = rng.binomial(n_c, stable_rate + 0.005)
    passed = rate_log_evidence(
        x_s.cumsum(1), n_s.cumsum(1), x_c_worse.cumsum(1), n_c.cumsum(1), Margin(absolute=0.005), ALPHA
    )
    assert float((passed.pass_log_e >= passed.log_threshold).any(axis=1).mean()) <= ALPHA


CONFIG = AssessConfig(min_samples=200)


@pytest.mark.parametrize(
    "sample",
    [
        RateSample(float("nan"), 1000, 5, 1000),
        RateSample(10, 1000, 5, 0),
        RateSample(10, 0, 5, 1000),
        RateSample(10, 1000, 2000, 1000),
    ],
)
def test_rate_without_usable_data_is_inconclusive(sample: RateSample) -> None:
    result = analysis.assess_rate(sample, Margin(absolute=0.005), CONFIG)
    assert result.verdict == Verdict.INCONCLUSIVE
    assert result.explanation


def test_rate_below_min_samples_is_inconclusive_even_when_terrible() -> None:
    result = analysis.assess_rate(RateSample(10, 10_000, 150, 150), Margin(absolute=0.005), CONFIG)
    assert result.verdict == Verdict.INCONCLUSIVE
    assert result.candidate == 1.0 and result.samples_candidate == 150
    assert "minSamples" in result.explanation


def test_rate_fails_a_clear_regression_and_fills_every_field() -> None:
    result = analysis.assess_rate(RateSample(100, 10_000, 60, 1_000), Margin(absolute=0.005), CONFIG)
    assert result.verdict == Verdict.FAIL
    assert result.stable == pytest.approx(0.01) and result.candidate == pytest.approx(0.06)
    assert result.effect == pytest.approx(0.05)
    assert result.interval is not None and result.interval[0] < 0.05 < result.interval[1]
    assert result.e_value is not None and result.e_value >= 1 / ALPHA
    assert (result.samples_stable, result.samples_candidate) == (10_000, 1_000)
    assert "worse than the margin" in result.explanation


def test_rate_passes_early_when_clearly_within_the_margin() -> None:
    result = analysis.assess_rate(RateSample(1_000, 100_000, 95, 10_000), Margin(absolute=0.005), CONFIG)
    assert result.verdict == Verdict.PASS
    assert result.e_value is not None and result.e_value < 1


def test_rate_inside_the_margin_never_fails() -> None:
    result = analysis.assess_rate(RateSample(1_000, 100_000, 130, 10_000), Margin(relative=0.5), CONFIG)
    assert result.verdict != Verdict.FAIL


def test_rate_fails_even_when_the_stable_has_seen_no_errors() -> None:
    result = analysis.assess_rate(RateSample(0, 300, 150, 300), Margin(absolute=0.005), CONFIG)
    assert result.verdict == Verdict.FAIL


def test_fixed_rate_decides_only_at_the_final_look() -> None:
    sample = RateSample(100, 10_000, 60, 1_000)
    early = analysis.assess_rate(sample, Margin(absolute=0.005), AssessConfig(method=AnalysisMethod.FIXED))
    final = analysis.assess_rate(
        sample, Margin(absolute=0.005), AssessConfig(method=AnalysisMethod.FIXED, final=True)
    )
    assert early.verdict == Verdict.INCONCLUSIVE and early.p_value is not None and early.p_value < 1e-6
    assert final.verdict == Verdict.FAIL and final.method == "two-proportion z"


def _histogram(scale: float, n: int, seed: int) -> tuple[tuple[float, ...], float]:
    latencies = np.exp(np.random.default_rng(seed).normal(math.log(0.1 * scale), 0.5, n))
    return tuple(float(np.sum(latencies <= edge)) for edge in EDGES), float(latencies.sum())


@pytest.mark.parametrize(("scale", "expected"), [(1.0, Verdict.PASS), (1.5, Verdict.FAIL)])
def test_latency_verdicts_and_fields(scale: float, expected: Verdict) -> None:
    stable, stable_sum = _histogram(1.0, 100_000, 1)
    candidate, candidate_sum = _histogram(scale, 10_000, 2)
    sample = HistogramSample(EDGES, stable, candidate, stable_sum, candidate_sum)
    result = analysis.assess_latency(sample, Margin(relative=0.1), CONFIG)
    assert result.verdict == expected
    assert result.stable == pytest.approx(0.1 * math.exp(1.645 * 0.5), rel=0.1)
    assert result.effect is not None and result.effect == pytest.approx(scale - 1, abs=0.03)
    assert result.interval is not None and result.interval[0] <= result.effect <= result.interval[1]
    assert result.e_value is not None and result.samples_candidate == 10_000
    assert "p95" in result.explanation


def test_fixed_latency_uses_the_binned_margin() -> None:
    stable, _ = _histogram(1.0, 100_000, 1)
    inside, _ = _histogram(1.05, 10_000, 3)
    outside, _ = _histogram(1.3, 10_000, 4)
    final = AssessConfig(method=AnalysisMethod.FIXED, final=True)
    assert (
        analysis.assess_latency(HistogramSample(EDGES, stable, inside), Margin(relative=0.1), final).verdict
        != Verdict.FAIL
    )
    assert (
        analysis.assess_latency(HistogramSample(EDGES, stable, outside), Margin(relative=0.1), final).verdict
        == Verdict.FAIL
    )


@pytest.mark.parametrize(
    "sample",
    [
        HistogramSample(EDGES, (0.0,) * 12, (0.0,) * 12),
        HistogramSample(EDGES, (float("nan"),) * 12, (1.0,) * 12),
        HistogramSample((0.1, 0.2), (1.0, 2.0), (1.0, 2.0)),
        HistogramSample(EDGES, tuple(range(12)), (1.0,) * 11),
    ],
)
def test_latency_without_usable_data_is_inconclusive(sample: HistogramSample) -> None:
    assert analysis.assess_latency(sample, Margin(relative=0.1), CONFIG).verdict == Verdict.INCONCLUSIVE


def test_threshold_checks_are_flagger_compatible_but_no_data_is_not_a_failure() -> None:
    assert analysis.check_threshold(0.95, 0.9, None).verdict == Verdict.PASS
    failed = analysis.check_threshold(0.5, 0.9, 1.0, samples=30)
    assert failed.verdict == Verdict.FAIL and failed.effect == pytest.approx(-0.4)
    assert analysis.check_threshold(2.0, None, 1.0).verdict == Verdict.FAIL
    assert analysis.check_threshold(None, 0.9, None).verdict == Verdict.INCONCLUSIVE
    assert analysis.check_threshold(float("nan"), 0.9, None).verdict == Verdict.INCONCLUSIVE


@pytest.mark.parametrize(("rps", "median"), [(1.0, 0.1), (1000.0, 0.1), (1000.0, 0.3)])
def test_the_p95_bounds_cover_the_true_p95_at_every_look(rps: float, median: float) -> None:
    """Over 250 runs of 60 looks, the share of runs whose bounds ever miss stays under alpha."""
    from modelrollout.analysis.histograms import Buckets
    from modelrollout.analysis.sequential import quantile_confidence_interval

    rng = np.random.default_rng(95)
    truth = median * math.exp(0.5 * stats.norm.ppf(0.95))
    finite = np.asarray(EDGES[:-1])
    shares = np.diff(stats.norm.cdf(np.log(np.asarray(EDGES)) - math.log(median), scale=0.5), prepend=0.0)
    counts = rng.multinomial(rng.poisson(rps * 0.5 * INTERVAL, (RUNS, LOOKS)), shares).cumsum(axis=1)
    missed = 0
    for run in counts:
        for look in run:
            buckets = Buckets(
                edges=finite, cumulative=np.cumsum(look)[:-1].astype(float), total=float(look.sum())
            )
            low, high = quantile_confidence_interval(buckets, 0.95, ALPHA)
            if not low <= truth <= high:
                missed += 1
                break
    assert missed / RUNS <= ALPHA
    # and the bounds are informative at high traffic: the edges either side of the truth
    if rps >= 1000:
        assert (low, high) == (finite[finite < truth][-1], finite[finite >= truth][0])
