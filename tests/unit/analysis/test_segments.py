"""Evidence across steps: each segment of constant split counted on its own, validity kept.

A/A-style calibration at the hardest null, a candidate exactly on the margin, with the canary's
weight changing between steps (segment starts at each change), at 1, 10 and 1000 requests per
second: neither side of any test may cross ``1/alpha`` at any look in more than alpha of the
runs. Seeded, a few seconds each.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelrollout.analysis import Margin, latency_log_evidence, rate_log_evidence
from modelrollout.analysis.sequential.segments import carried, restarted, segment_bounds

ALPHA = 0.05
RUNS = 300
LOOKS = 24
WEIGHTS = (0.05, 0.25, 0.5, 0.9)
EDGES = np.asarray([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
STARTS = tuple(range(LOOKS // len(WEIGHTS), LOOKS, LOOKS // len(WEIGHTS)))


def _split(rng: np.random.Generator, rps: float) -> tuple[np.ndarray, np.ndarray]:
    weights = np.repeat(WEIGHTS, LOOKS // len(WEIGHTS))
    expected = rps * 60.0
    return rng.poisson(expected * (1 - weights), (RUNS, LOOKS)), rng.poisson(
        expected * weights, (RUNS, LOOKS)
    )


def _crossed(log_e: np.ndarray) -> float:
    return float(np.mean((log_e >= -math.log(ALPHA)).any(axis=-1)))


def test_restarted_and_carried_undo_each_other_per_segment() -> None:
    cumulative = np.cumsum(np.arange(1.0, 11.0))
    assert segment_bounds(10, (3, 7, 0, 12)) == [(0, 3), (3, 7), (7, 10)]
    within = restarted(cumulative, (3, 7))
    assert within.tolist()[3] == 4.0 and within.tolist()[7] == 8.0
    assert np.allclose(carried(within, (3, 7)), cumulative), "sums carry over segment ends"
    assert np.array_equal(restarted(cumulative, ()), cumulative)


@pytest.mark.parametrize("rps", [1.0, 10.0, 1000.0])
@pytest.mark.parametrize(
    "margin", [Margin(absolute=0.005), Margin(relative=0.2)], ids=["absolute", "relative"]
)
def test_error_evidence_at_the_margin_holds_alpha_with_changing_weights(rps: float, margin: Margin) -> None:
    rng = np.random.default_rng(int(rps) + (1 if margin.absolute else 2))
    n_s, n_c = _split(rng, rps)
    stable_rate = 0.01
    candidate_rate = (
        stable_rate + margin.absolute if margin.absolute else stable_rate * (1 + (margin.relative or 0))
    )
    x_s, x_c = rng.binomial(n_s, stable_rate), rng.binomial(n_c, candidate_rate)
    counts = [np.cumsum(v, axis=1).astype(float) for v in (x_s, n_s, x_c, n_c)]
    evidence = rate_log_evidence(*counts, margin, ALPHA, STARTS)
    assert _crossed(evidence.fail_log_e) <= ALPHA
    assert _crossed(evidence.pass_log_e) <= ALPHA


def _latency_buckets(rng: np.random.Generator, requests: np.ndarray, scale: float) -> np.ndarray:
    from scipy import stats

    below = stats.norm.cdf((np.log(np.append(EDGES, np.inf)) - math.log(0.1 * scale)) / 0.5)
    probabilities = np.diff(below, prepend=0.0)
    return np.cumsum(rng.multinomial(requests, probabilities), axis=1).astype(float)


@pytest.mark.parametrize("rps", [1.0, 10.0, 1000.0])
def test_latency_evidence_at_the_margin_holds_alpha_with_changing_weights(rps: float) -> None:
    rng = np.random.default_rng(7 + int(rps))
    n_s, n_c = _split(rng, rps)
    stable = _latency_buckets(rng, n_s, 1.0)
    candidate = _latency_buckets(rng, n_c, 1.1)
    evidence = latency_log_evidence(
        EDGES,
        np.cumsum(stable, axis=-1)[..., :-1],
        stable.sum(axis=-1),
        np.cumsum(candidate, axis=-1)[..., :-1],
        candidate.sum(axis=-1),
        Margin(relative=0.1),
        STARTS,
    )
    assert _crossed(evidence.fail_log_e) <= ALPHA
    assert _crossed(evidence.pass_log_e) <= ALPHA


def test_one_segment_is_the_cumulative_test() -> None:
    rng = np.random.default_rng(3)
    n_s, n_c = _split(rng, 10.0)
    counts = [
        np.cumsum(v, axis=1).astype(float)
        for v in (rng.binomial(n_s, 0.01), n_s, rng.binomial(n_c, 0.02), n_c)
    ]
    margin = Margin(relative=0.2)
    whole = rate_log_evidence(*counts, margin, ALPHA)
    carried_from_start = rate_log_evidence(*counts, margin, ALPHA, (0,))
    assert np.allclose(whole.fail_log_e, carried_from_start.fail_log_e)


@pytest.mark.parametrize("rps", [1.0, 10.0, 1000.0])
def test_the_operators_last_look_is_the_whole_paths(rps: float) -> None:
    """The operator evaluates only the looks the last value depends on; it must be the same value."""
    from modelrollout.analysis.sequential import risk_difference_segmented_final_log_evidence
    from modelrollout.analysis.sequential.risk_difference import risk_difference_log_evidence

    rng = np.random.default_rng(int(rps) + 40)
    n_s, n_c = _split(rng, rps)
    counts = [
        np.cumsum(v, axis=1).astype(float)[:5]
        for v in (rng.binomial(n_s, 0.01), n_s, rng.binomial(n_c, 0.02), n_c)
    ]
    fail = risk_difference_log_evidence(*counts, 0.005, "greater", STARTS)
    within = risk_difference_log_evidence(*counts, 0.005, "less", STARTS)
    for run in range(5):
        for look in (3, 9, 17, LOOKS - 1):
            path = [c[run, : look + 1] for c in counts]
            got = risk_difference_segmented_final_log_evidence(*path, 0.005, STARTS)
            assert got == pytest.approx((fail[run, look], within[run, look]), rel=1e-9, abs=1e-12), (
                run,
                look,
            )
