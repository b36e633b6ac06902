"""The A/B test's goal: superiority tests for a rate and a mean, looked at every interval.

A/A streams (no difference, or a candidate exactly at the minimum effect, the least favourable
null) must rarely ever cross into "superior" however often they are looked at; a real effect
must be found, at 1, 10 and 1000 requests per second.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelrollout.analysis import AssessConfig, MeanSample, RateSample, assess_goal_mean, assess_goal_rate
from modelrollout.analysis.sequential.mean_superiority import mean_superiority_evidence
from modelrollout.analysis.sequential.risk_difference import risk_difference_log_evidence
from modelrollout.api.v1alpha1 import Verdict

ALPHA = 0.05
THRESHOLD = math.log(1 / ALPHA)
INTERVAL = 30.0


def _rate_decisions(
    rps: float, stable_rate: float, candidate_rate: float, min_effect: float, seed: int, looks: int = 60
) -> tuple[float, float]:
    """Share of 100 runs (50/50 split, one look per 30 s interval) that are ever shown superior,
    and ever shown not superior."""
    rng = np.random.default_rng(seed)
    n_s, n_c = rng.poisson(rps * 0.5 * INTERVAL, (2, 100, looks))
    x_s, x_c = rng.binomial(n_s, stable_rate), rng.binomial(n_c, candidate_rate)
    path = (x_s.cumsum(1), n_s.cumsum(1), x_c.cumsum(1), n_c.cumsum(1))
    superior = risk_difference_log_evidence(*path, min_effect, "greater")
    not_superior = risk_difference_log_evidence(*path, min_effect, "less")
    return float((superior >= THRESHOLD).any(1).mean()), float((not_superior >= THRESHOLD).any(1).mean())


def _mean_streams(
    rps: float, effect: float, seed: int, runs: int = 400, looks: int = 60
) -> tuple[np.ndarray, ...]:
    """Per-interval sums and counts of a skewed value (gamma, shape 2, mean 10, sd 7.1) per
    version; the candidate's mean is `effect` higher."""
    rng = np.random.default_rng(seed)
    n_s, n_c = rng.poisson(rps * 0.5 * INTERVAL, (2, runs, looks)).astype(float)
    scale_c = (10.0 + effect) / 2.0
    s_s = np.where(n_s > 0, rng.gamma(np.maximum(2 * n_s, 1e-9), 5.0), 0.0)
    s_c = np.where(n_c > 0, rng.gamma(np.maximum(2 * n_c, 1e-9), scale_c), 0.0)
    return s_s, n_s, s_c, n_c


def _mean_decisions(
    rps: float, effect: float, min_effect: float, seed: int, looks: int = 60
) -> tuple[float, float]:
    evidence = mean_superiority_evidence(*_mean_streams(rps, effect, seed, looks=looks), min_effect)
    superior = (evidence.superior >= THRESHOLD).any(-1).mean()
    not_superior = (evidence.not_superior >= THRESHOLD).any(-1).mean()
    return float(superior), float(not_superior)


@pytest.mark.parametrize("rps", [1.0, 10.0, 1000.0])
@pytest.mark.parametrize(("stable_rate", "min_effect"), [(0.05, 0.0), (0.02, 0.005)])
def test_a_rate_goal_no_better_than_the_minimum_effect_is_rarely_called_superior(
    rps: float, stable_rate: float, min_effect: float
) -> None:
    """The candidate converts exactly `min_effect` better: the least favourable null of superiority,
    and of not-superiority, both looked at every interval for 30 minutes."""
    superior, not_superior = _rate_decisions(
        rps, stable_rate, stable_rate + min_effect, min_effect, seed=int(rps)
    )
    assert superior <= ALPHA
    assert not_superior <= ALPHA


@pytest.mark.parametrize(
    ("rps", "stable_rate", "candidate_rate", "looks"),
    [(1.0, 0.05, 0.15, 120), (10.0, 0.05, 0.07, 60), (1000.0, 0.05, 0.053, 60)],
)
def test_a_rate_goal_with_a_real_lift_is_found_superior(
    rps: float, stable_rate: float, candidate_rate: float, looks: int
) -> None:
    superior, not_superior = _rate_decisions(rps, stable_rate, candidate_rate, 0.0, seed=7, looks=looks)
    assert superior >= 0.8
    assert not_superior == 0.0


def test_a_rate_goal_no_better_is_shown_not_superior_to_a_minimum_effect() -> None:
    superior, not_superior = _rate_decisions(10.0, 0.05, 0.05, 0.02, seed=8)
    assert superior == 0.0
    assert not_superior >= 0.8


@pytest.mark.parametrize("rps", [1.0, 10.0, 1000.0])
@pytest.mark.parametrize("min_effect", [0.0, 0.5])
def test_a_mean_goal_no_better_than_the_minimum_effect_is_rarely_called_superior(
    rps: float, min_effect: float
) -> None:
    superior, not_superior = _mean_decisions(rps, min_effect, min_effect, seed=int(rps) + 3)
    assert superior <= ALPHA
    assert not_superior <= ALPHA


@pytest.mark.parametrize(("rps", "effect", "looks"), [(1.0, 4.0, 120), (10.0, 1.0, 60), (1000.0, 0.1, 60)])
def test_a_mean_goal_with_a_real_lift_is_found_superior(rps: float, effect: float, looks: int) -> None:
    superior, not_superior = _mean_decisions(rps, effect, 0.0, seed=11, looks=looks)
    assert superior >= 0.8
    assert not_superior == 0.0


def test_the_rate_assessment_decides_on_the_path_evidence_at_its_last_look() -> None:
    rng = np.random.default_rng(5)
    n_s, n_c = rng.poisson(150.0, (2, 20))
    x_s, x_c = rng.binomial(n_s, 0.05), rng.binomial(n_c, 0.08)
    cumulative = [v.cumsum() for v in (x_s, n_s, x_c, n_c)]
    looks = [RateSample(*(float(v[i]) for v in cumulative)) for i in range(20)]
    sample = RateSample(*(float(v[-1]) for v in cumulative), earlier=tuple(looks[:-1]))
    result = assess_goal_rate(sample, 0.0, AssessConfig(alpha=ALPHA, min_samples=50))
    superior = risk_difference_log_evidence(*cumulative, 0.0, "greater")[-1]
    assert result.e_value == pytest.approx(math.exp(superior), rel=1e-6)
    assert result.verdict == (Verdict.PASS if superior >= THRESHOLD else Verdict.INCONCLUSIVE)
    assert result.interval is not None and result.interval[0] < result.effect < result.interval[1]


def test_the_rate_assessment_waits_for_min_samples_and_refuses_more_events_than_requests() -> None:
    config = AssessConfig(alpha=ALPHA, min_samples=200)
    assert assess_goal_rate(RateSample(5, 100, 9, 100), 0.0, config).verdict == Verdict.INCONCLUSIVE
    crowded = assess_goal_rate(RateSample(5, 100, 300, 250), 0.0, config)
    assert crowded.verdict == Verdict.INCONCLUSIVE and "at most one event per request" in crowded.explanation


def test_the_mean_assessment_reports_effect_and_an_interval_that_covers_it() -> None:
    s_s, n_s, s_c, n_c = (v[0] for v in _mean_streams(10.0, 3.0, seed=2, runs=1, looks=40))
    result = assess_goal_mean(MeanSample(s_s, n_s, s_c, n_c), 0.0, AssessConfig(alpha=ALPHA, min_samples=50))
    assert result.verdict == Verdict.PASS
    assert result.interval is not None
    low, high = result.interval
    assert low < 3.0 < high and low > 0
    assert result.effect == pytest.approx(s_c.sum() / n_c.sum() - s_s.sum() / n_s.sum())


def test_the_mean_confidence_sequence_covers_the_true_difference_at_the_end() -> None:
    """Coverage of the interval at the last look of 200 A/A-plus-effect streams."""
    from modelrollout.analysis.sequential.mean_superiority import mean_difference_interval

    streams = _mean_streams(10.0, 1.0, seed=13, runs=200, looks=30)
    covered = 0
    for run in range(200):
        evidence = mean_superiority_evidence(*(v[run] for v in streams), 0.0)
        low, high = mean_difference_interval(evidence, ALPHA)
        covered += low <= 1.0 <= high
    assert covered / 200 >= 1 - ALPHA


def test_the_mean_assessment_waits_for_enough_intervals_to_know_the_spread() -> None:
    s_s, n_s, s_c, n_c = (v[0] for v in _mean_streams(1000.0, 5.0, seed=3, runs=1, looks=4))
    result = assess_goal_mean(MeanSample(s_s, n_s, s_c, n_c), 0.0, AssessConfig(alpha=ALPHA, min_samples=50))
    assert result.verdict == Verdict.INCONCLUSIVE
    assert "fewer than 8" in result.explanation
