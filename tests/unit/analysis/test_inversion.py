"""Searches that are not bisection's to the bit must still be on the safe side of it.

The rate ratio's confidence sequence is now found by probes and secant steps
(`sequential/inversion.py`): every end must be a ratio whose evidence rejects, never inside the
exact inversion, and within a hundredth of a standard error of it. `latency_at_share` is now
solved in closed form and must agree with the geometric bisection it replaced.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelrollout.analysis.histograms import latency_at_share, survival_share, to_buckets
from modelrollout.analysis.search import secant_to_rejection
from modelrollout.analysis.sequential import rate_ratio_confidence_sequence
from modelrollout.analysis.sequential.rate_ratio import conditional_log_evidence, null_share

EDGES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)


def test_the_secant_search_ends_at_a_rejecting_point_within_its_tolerance() -> None:
    roots = np.asarray([0.3, -2.0, 5.0])

    def excess(points: np.ndarray) -> np.ndarray:
        # Rejecting (>= 0) at and beyond each root, curved so that the secant is not exact.
        return np.asarray(np.expm1(points - roots) + 0.1 * (points - roots) ** 3)

    probes = roots - 4 + np.arange(0, 9, 1.5).reshape((-1, 1))
    tolerance = np.full(3, 1e-3)
    end, found = secant_to_rejection(excess, probes, excess(probes), tolerance)
    assert found.all()
    assert (excess(end) >= 0).all()
    assert np.all(end - roots <= 1e-3)


def _exact_ends(x_c: float, x_s: float, n_c: float, n_s: float, alpha: float) -> tuple[float, float]:
    """Both ends of the inversion by 80 steps of plain bisection on [-12, 12] (log ratio)."""
    threshold = math.log(2 / alpha)

    def rejects(log_ratio: float, direction: str) -> bool:
        theta0 = null_share(math.exp(log_ratio), n_c, n_s)
        log_e = conditional_log_evidence(x_c, x_c + x_s, theta0, direction)  # type: ignore[arg-type]
        return bool(log_e >= threshold)

    ends = []
    for direction, rejects_low in (("greater", True), ("less", False)):
        low, high = -12.0, 12.0
        for _ in range(80):
            middle = (low + high) / 2
            if rejects(middle, direction) == rejects_low:
                low = middle
            else:
                high = middle
        ends.append(low if rejects_low else high)
    return ends[0], ends[1]


@pytest.mark.parametrize("seed", range(6))
def test_the_rate_ratio_ends_reject_and_are_at_most_a_hundredth_of_an_error_outside(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(25):
        n_s, n_c = float(rng.choice([30, 3000, 1e6])), float(rng.choice([3, 300, 1e5]))
        rate = float(rng.choice([0.0, 1e-3, 0.02, 0.3]))
        x_s = float(rng.binomial(int(n_s), rate))
        x_c = float(rng.binomial(int(n_c), min(1.0, rate * float(rng.choice([0.5, 1.0, 2.0])))))
        alpha = float(rng.choice([0.01, 0.05]))
        low, high = (float(v) for v in rate_ratio_confidence_sequence(x_c, x_s, n_c, n_s, alpha))
        exact_low, exact_high = _exact_ends(x_c, x_s, n_c, n_s, alpha)
        error = math.sqrt(1 / (x_c + 0.5) + 1 / (x_s + 0.5))
        if exact_low <= -11.9:
            assert low == 0.0
        else:
            assert exact_low - error / 100 - 1e-9 <= math.log(low) <= exact_low + 1e-12
        if exact_high >= 11.9:
            assert high == math.inf
        else:
            assert exact_high - 1e-12 <= math.log(high) <= exact_high + error / 100 + 1e-9


@pytest.mark.parametrize(("requests", "median"), [(40, 0.1), (3000, 0.1), (36000, 0.4), (300, 0.003)])
def test_latency_at_share_is_the_latency_bisection_found(requests: int, median: float) -> None:
    rng = np.random.default_rng(requests)
    finite = np.asarray(EDGES[:-1])
    shares = np.asarray([0.5 * math.erfc(-math.log(e / median) / (0.6 * math.sqrt(2))) for e in finite])
    counts = np.cumsum(rng.multinomial(requests, np.diff(np.concatenate(([0.0], shares, [1.0])))))
    buckets = to_buckets(EDGES, counts.astype(float).tolist())
    for share in (0.001, 0.05, 0.3, 0.5, 0.9):
        low, high = 1e-9, 1e4
        if survival_share(buckets, high) > share:
            assert latency_at_share(buckets, share) == math.inf  # not reached within the range
            continue
        for _ in range(200):
            middle = math.sqrt(low * high)
            low, high = (middle, high) if survival_share(buckets, middle) > share else (low, middle)
        assert latency_at_share(buckets, share) == pytest.approx(math.sqrt(low * high), rel=1e-12)
