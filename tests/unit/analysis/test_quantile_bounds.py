"""The p95 bounds from one evaluation of the confidence sequence at q per edge are the bounds the
bisected ends gave (48 steps of `binomial_confidence_sequence`), on histograms from a handful of
requests to millions, including edges whose share sits right at q."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelrollout.analysis.histograms import to_buckets
from modelrollout.analysis.sequential import quantile_confidence_interval
from modelrollout.analysis.sequential.mixtures import binomial_confidence_sequence, binomial_rejects

EDGES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)


def _bisected(cumulative: list[float], q: float, alpha: float) -> tuple[float, float]:
    """The bounds as they were computed before: from the bisected ends of every edge's sequence."""
    buckets = to_buckets(EDGES, cumulative)
    if buckets.total <= 0:
        return (0.0, math.inf)
    low_cdf, high_cdf = binomial_confidence_sequence(
        buckets.cumulative, buckets.total, alpha / max(1, buckets.edges.size)
    )
    below, at_or_above = buckets.edges[high_cdf < q], buckets.edges[low_cdf >= q]
    return (
        float(below[-1]) if below.size else 0.0,
        float(at_or_above[0]) if at_or_above.size else math.inf,
    )


def _histograms(rng: np.random.Generator) -> list[list[float]]:
    found = []
    for total in (0, 1, 3, 20, 100, 1000, 30000, 3_000_000):
        for median in (0.004, 0.05, 0.3, 2.0, 20.0):
            shares = [0.5 * math.erfc(-math.log(e / median) / (0.9 * math.sqrt(2))) for e in EDGES[:-1]]
            probabilities = np.diff(np.concatenate(([0.0], shares, [1.0])))
            for _ in range(4):
                found.append(np.cumsum(rng.multinomial(total, probabilities)).astype(float).tolist())
    # Edges whose share is exactly q, or one request either side of it.
    for total in (20, 100, 2000):
        for offset in (-1, 0, 1):
            at_q = round(0.95 * total) + offset
            found.append([0, 0, 0, 0, at_q // 2, at_q, at_q, total, total, total, total, total])
    return found


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_the_bounds_are_the_bisected_ones(q: float) -> None:
    for cumulative in _histograms(np.random.default_rng(int(100 * q))):
        buckets = to_buckets(EDGES, [float(c) for c in cumulative])
        assert quantile_confidence_interval(buckets, q, 0.05) == _bisected(cumulative, q, 0.05), cumulative


def test_a_rate_is_rejected_exactly_where_it_lies_outside_the_bisected_ends() -> None:
    rng = np.random.default_rng(5)
    n = rng.integers(1, 5000, 400).astype(float)
    x = np.floor(rng.uniform(0, 1, 400) * (n + 1))
    x = np.minimum(x, n)
    low, high = binomial_confidence_sequence(x, n, 0.01)
    for rate in (0.001, 0.05, 0.5, 0.95, 0.999):
        outside = (rate < low) | (rate > high)
        assert np.array_equal(binomial_rejects(x, n, rate, 0.01), outside)
