"""The absolute margin's evidence: e-values against the whole composite null, both ways.

Validity is checked exactly where it can be (every outcome of small samples enumerated, at many
pairs of rates on the margin and on the null's side of it) and by seeded simulation where it
cannot (60 looks, the candidate exactly at the margin, stable rates from 0.1% to 5%).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from modelrollout.analysis import assess_rate, rate_log_evidence
from modelrollout.analysis.sequential import risk_difference_confidence_sequence
from modelrollout.analysis.sequential.risk_difference import (
    SCORE_WEIGHT,
    Direction,
    exact_log_evidence,
    least_favourable_rate,
    restricted_rate,
    risk_difference_final_log_evidence,
    risk_difference_log_evidence,
    score_log_evidence,
)
from modelrollout.analysis.types import AssessConfig, Margin, RateSample
from modelrollout.api.v1alpha1 import Verdict

ALPHA = 0.05
MARGIN = 0.05
"""Wide enough that small enumerated samples can show evidence at all."""
DIRECTIONS: tuple[Direction, ...] = ("greater", "less")
SIZES = [(12, 4), (5, 5), (3, 20)]


def _outcomes(n_s: int, n_c: int) -> tuple[np.ndarray, np.ndarray]:
    x_s, x_c = np.meshgrid(np.arange(n_s + 1), np.arange(n_c + 1), indexing="ij")
    return x_s.astype(float), x_c.astype(float)


def _expectation(log_e: np.ndarray, n_s: int, n_c: int, p_s: float, p_c: float) -> float:
    x_s, x_c = _outcomes(n_s, n_c)
    probability = stats.binom.pmf(x_s, n_s, p_s) * stats.binom.pmf(x_c, n_c, p_c)
    return float(np.sum(probability * np.exp(log_e)))


def _null_pairs(direction: Direction) -> list[tuple[float, float]]:
    """Pairs on the margin and inside the null: below it for Fail, above it for Pass."""
    sign = -1 if direction == "greater" else 1
    pairs = []
    for p_s in (0.001, 0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.9):
        for inside in (0.0, 0.01, 0.05):
            p_c = p_s + MARGIN + sign * inside
            if 0 < p_c < 1:
                pairs.append((p_s, p_c))
    return pairs


@pytest.mark.parametrize(("q_s", "q_c"), [(0.02, 0.2), (0.3, 0.1)])
def test_the_projection_solves_its_first_order_condition_between_its_bounds(q_s: float, q_c: float) -> None:
    n_s, n_c = 30.0, 10.0
    p = float(least_favourable_rate(q_s, q_c, n_s, n_c, MARGIN))
    assert min(q_s, q_c - MARGIN) < p < max(q_s, q_c - MARGIN)
    condition = n_s * (q_s - p) / (p * (1 - p)) + n_c * (q_c - p - MARGIN) / ((p + MARGIN) * (1 - p - MARGIN))
    assert abs(condition) < 1e-6


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(("n_s", "n_c"), SIZES)
def test_one_alternative_against_its_projection_is_an_e_value_for_every_null_pair(
    n_s: int, n_c: int, direction: Direction
) -> None:
    q_s, q_c = (0.05, 0.3) if direction == "greater" else (0.3, 0.2)
    p = float(least_favourable_rate(q_s, q_c, n_s, n_c, MARGIN))
    x_s, x_c = _outcomes(n_s, n_c)
    log_e = (
        x_s * math.log(q_s / p)
        + (n_s - x_s) * math.log((1 - q_s) / (1 - p))
        + x_c * math.log(q_c / (p + MARGIN))
        + (n_c - x_c) * math.log((1 - q_c) / (1 - p - MARGIN))
    )
    assert _expectation(log_e, n_s, n_c, p, p + MARGIN) == pytest.approx(1.0, abs=1e-9)
    for p_s, p_c in _null_pairs(direction):
        assert _expectation(log_e, n_s, n_c, p_s, p_c) <= 1 + 1e-9, (p_s, p_c)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(("n_s", "n_c"), SIZES)
def test_the_grid_average_is_an_e_value_for_every_null_pair(n_s: int, n_c: int, direction: Direction) -> None:
    x_s, x_c = _outcomes(n_s, n_c)
    log_e = exact_log_evidence(x_s, float(n_s), x_c, float(n_c), MARGIN, direction)
    for p_s, p_c in _null_pairs(direction):
        assert _expectation(log_e, n_s, n_c, p_s, p_c) <= 1 + 1e-9, (p_s, p_c)


@pytest.mark.parametrize(("direction", "p_s", "p_c"), [("greater", 0.05, 0.5), ("less", 0.6, 0.05)])
def test_the_grid_average_grows_far_from_the_margin(direction: Direction, p_s: float, p_c: float) -> None:
    x_s, x_c = _outcomes(20, 20)
    log_e = exact_log_evidence(x_s, 20.0, x_c, 20.0, MARGIN, direction)
    assert _expectation(log_e, 20, 20, p_s, p_c) > 1 / ALPHA


def test_the_restricted_rate_maximises_the_likelihood_on_the_margin() -> None:
    x_s, n_s, x_c, n_c = 3.0, 400.0, 9.0, 100.0

    def negative_log_likelihood(p: float) -> float:
        return -float(stats.binom.logpmf(x_s, n_s, p) + stats.binom.logpmf(x_c, n_c, p + MARGIN))

    best = optimize.minimize_scalar(
        negative_log_likelihood, bounds=(1e-9, 1 - MARGIN - 1e-9), method="bounded"
    )
    assert float(restricted_rate(x_s, n_s, x_c, n_c, MARGIN)) == pytest.approx(best.x, rel=1e-4)


def test_the_score_part_waits_for_enough_expected_events() -> None:
    assert float(score_log_evidence(0.0, 100.0, 5.0, 100.0, 0.005, "greater")) == -math.inf
    assert math.isfinite(float(score_log_evidence(200.0, 20_000.0, 400.0, 20_000.0, 0.005, "greater")))


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_no_requests_on_one_side_is_no_evidence(direction: Direction) -> None:
    assert float(risk_difference_log_evidence(0.0, 0.0, 5.0, 10.0, 0.005, direction)) == 0.0
    assert float(risk_difference_log_evidence(1.0, 100.0, 0.0, 0.0, 0.005, direction)) == 0.0


def _decision_rates(
    rps: float, weight: float, stable_rate: float, excess: float, seed: int
) -> tuple[float, float]:
    """Share of 250 runs of 60 looks that ever Fail, and that ever Pass."""
    rng = np.random.default_rng(seed)
    runs, looks, interval, margin = 250, 60, 30.0, 0.005
    n_s = rng.poisson(rps * (1 - weight) * interval, (runs, looks))
    n_c = rng.poisson(rps * weight * interval, (runs, looks))
    x_s, x_c = rng.binomial(n_s, stable_rate), rng.binomial(n_c, stable_rate + excess)
    evidence = rate_log_evidence(
        x_s.cumsum(1), n_s.cumsum(1), x_c.cumsum(1), n_c.cumsum(1), Margin(absolute=margin), ALPHA
    )
    failed = (evidence.fail_log_e >= evidence.log_threshold).any(axis=1).mean()
    passed = (evidence.pass_log_e >= evidence.log_threshold).any(axis=1).mean()
    return float(failed), float(passed)


@pytest.mark.parametrize("stable_rate", [0.001, 0.01, 0.05])
@pytest.mark.parametrize(("rps", "weight"), [(1.0, 0.05), (1.0, 0.5), (1000.0, 0.05), (1000.0, 0.5)])
def test_a_candidate_exactly_at_the_margin_is_rarely_failed_or_passed(
    rps: float, weight: float, stable_rate: float
) -> None:
    """The least favourable nulls of both sides, looking every interval for 30 minutes."""
    seed = int(1000 * stable_rate) + int(rps)
    failed, passed = _decision_rates(rps, weight, stable_rate, 0.005, seed)
    assert failed <= ALPHA
    assert passed <= ALPHA


def test_a_candidate_five_points_worse_is_rolled_back_at_one_request_per_second() -> None:
    failed, passed = _decision_rates(1.0, 0.5, 0.01, 0.05, seed=5)
    assert failed > 0.95
    assert passed == 0.0


def test_an_unchanged_candidate_passes_at_a_thousand_requests_per_second() -> None:
    failed, passed = _decision_rates(1000.0, 0.25, 0.01, 0.0, seed=6)
    assert failed == 0.0
    assert passed > 0.95


@pytest.mark.parametrize(("rps", "stable_rate", "candidate_rate"), [(1.0, 0.01, 0.03), (1000.0, 0.01, 0.012)])
def test_the_confidence_sequence_covers_the_true_difference_at_every_look_checked(
    rps: float, stable_rate: float, candidate_rate: float
) -> None:
    rng = np.random.default_rng(8)
    n_s, n_c = rng.poisson(rps * 15.0, (100, 60)), rng.poisson(rps * 15.0, (100, 60))
    x_s, x_c = rng.binomial(n_s, stable_rate), rng.binomial(n_c, candidate_rate)
    path = [c.cumsum(1)[:, 4::5] for c in (x_s, n_s, x_c, n_c)]
    ends = [
        risk_difference_confidence_sequence(*(c[:, : look + 1] for c in path), ALPHA) for look in range(12)
    ]
    low, high = (np.stack(side, axis=1) for side in zip(*ends, strict=True))
    difference = candidate_rate - stable_rate
    assert float(((low <= difference) & (difference <= high)).all(axis=1).mean()) >= 1 - ALPHA
    assert float(np.median(high[:, -1] - low[:, -1])) < (0.05 if rps == 1.0 else 0.002)


def test_an_interval_past_the_margin_comes_with_a_fail_and_one_inside_with_a_pass() -> None:
    config = AssessConfig(min_samples=200)
    worse = assess_rate(RateSample(150, 15_000, 300, 15_000), Margin(absolute=0.005), config)
    assert worse.interval is not None and worse.interval[0] > 0.005
    assert worse.verdict == Verdict.FAIL
    same = assess_rate(RateSample(150, 15_000, 152, 15_000), Margin(absolute=0.005), config)
    assert same.interval is not None and same.interval[1] < 0.005
    assert same.verdict == Verdict.PASS


def _path(rps: float, weight: float, excess: float, seed: int, looks: int = 40) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    n_s = rng.poisson(rps * (1 - weight) * 30.0, (50, looks))
    n_c = rng.poisson(rps * weight * 30.0, (50, looks))
    x_s, x_c = rng.binomial(n_s, 0.01), rng.binomial(n_c, 0.01 + excess)
    return [c.cumsum(1).astype(float) for c in (x_s, n_s, x_c, n_c)]


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(("rps", "excess"), [(1.0, 0.05), (1.0, 0.0), (20.0, 0.01), (1000.0, 0.0)])
def test_the_last_look_alone_matches_the_whole_path(direction: Direction, rps: float, excess: float) -> None:
    """The confidence sequence's shortcut is the same e-value, only cheaper."""
    path = _path(rps, 0.25, excess, seed=41)
    everywhere = risk_difference_log_evidence(*path, 0.005, direction)
    for look in (0, 7, 39):
        prefix = [c[:, : look + 1] for c in path]
        assert risk_difference_final_log_evidence(*prefix, 0.005, direction) == pytest.approx(
            everywhere[:, look], abs=1e-9
        )


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_until_the_score_gate_opens_the_exact_part_has_the_whole_weight(direction: Direction) -> None:
    path = _path(1.0, 0.05, 0.05, seed=42)
    gated = np.isfinite(score_log_evidence(*path, 0.005, direction))
    exact = exact_log_evidence(*path, 0.005, direction)
    served = (path[1] > 0) & (path[3] > 0)
    closed = ~np.maximum.accumulate(gated, axis=1) & served
    assert closed.any()
    log_e = risk_difference_log_evidence(*path, 0.005, direction)
    assert log_e[closed] == pytest.approx(exact[closed], abs=1e-9)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_at_high_traffic_the_hand_over_is_at_the_first_look_and_gives_the_fixed_average(
    direction: Direction,
) -> None:
    path = _path(1000.0, 0.5, 0.0, seed=43)
    assert np.isfinite(score_log_evidence(*(c[:, :1] for c in path), 0.005, direction)).all()
    exact = exact_log_evidence(*path, 0.005, direction)
    score = score_log_evidence(*path, 0.005, direction)
    average = np.logaddexp(math.log1p(-SCORE_WEIGHT) + exact, math.log(SCORE_WEIGHT) + score)
    assert risk_difference_log_evidence(*path, 0.005, direction) == pytest.approx(average, abs=1e-9)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_hand_over_waits_for_the_look_after_the_gate_opens(direction: Direction) -> None:
    """The look whose errors open the gate is not the one handed over at: it would be chosen
    for the very outcomes the score's growth is then measured on."""
    path = _path(5.0, 0.25, 0.05, seed=45)
    gated = np.isfinite(score_log_evidence(*path, 0.005, direction))
    opened_at = np.argmax(gated, axis=1)
    runs = np.flatnonzero(gated.any(axis=1) & (opened_at > 0) & (opened_at < 39))
    assert runs.size > 10
    exact = exact_log_evidence(*path, 0.005, direction)
    log_e = risk_difference_log_evidence(*path, 0.005, direction)
    at_opening = log_e[runs, opened_at[runs]]
    assert at_opening == pytest.approx(exact[runs, opened_at[runs]], abs=1e-9)
    after = log_e[runs, opened_at[runs] + 1] - exact[runs, opened_at[runs] + 1]
    assert np.abs(after).max() > 1e-6


def test_assess_rate_reads_the_looks_before_the_last() -> None:
    """The operator passes the whole window: the verdict is the path's, not the last counts'."""
    path = _path(1.0, 0.5, 0.05, seed=44)
    run = int(np.argmax(np.isfinite(score_log_evidence(*path, 0.005, "greater")).any(axis=1)))
    looks = [RateSample(*(float(c[run, look]) for c in path)) for look in range(40)]
    sample = RateSample(*(float(c[run, -1]) for c in path), earlier=tuple(looks[:-1]))
    expected = float(rate_log_evidence(*(c[run] for c in path), Margin(absolute=0.005), ALPHA).fail_log_e[-1])
    result = assess_rate(sample, Margin(absolute=0.005), AssessConfig(min_samples=1))
    assert result.e_value == pytest.approx(math.exp(expected), rel=1e-9)
    alone = assess_rate(
        RateSample(*(float(c[run, -1]) for c in path)), Margin(absolute=0.005), AssessConfig(min_samples=1)
    )
    assert alone.e_value != pytest.approx(result.e_value, rel=1e-6)
