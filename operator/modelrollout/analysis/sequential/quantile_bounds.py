"""Bounds on a latency quantile valid at every look, from confidence sequences of bucket shares.

Status shows the candidate's p95 with bounds; a bound that holds only at a planned look would
mislead a reader who checks the rollout every interval, so each edge's share gets a confidence
sequence and the quantile is bounded at bucket resolution.
"""

from __future__ import annotations

import math

from ..histograms import Buckets
from .mixtures import binomial_rejects

__all__ = ["quantile_confidence_interval"]


def quantile_confidence_interval(buckets: Buckets, q: float, alpha: float) -> tuple[float, float]:
    """Bounds on the q-quantile valid at every look, at bucket resolution: both are edges.

    Each edge's cumulative share gets a confidence sequence (alpha split over the edges). On the
    event that every true share lies in its sequence, an edge whose upper share bound is below
    ``q`` lies below the quantile, and an edge whose lower share bound reaches ``q`` lies at or
    above it; so the largest edge of the first kind (0 without one) and the smallest of the
    second (+inf without one) bound it. Interpolating inside a bucket, as `histogram_quantile`
    does for the estimate, would give narrower bounds that the data does not support.
    """
    if buckets.total <= 0:
        return (0.0, math.inf)
    per_edge_alpha = alpha / max(1, buckets.edges.size)
    # The upper share bound is below q exactly where the sequence rejects q above the estimate,
    # the lower one reaches q where it rejects q below it: one evaluation at q per edge, not a
    # search for the ends (the same bounds as 48 bisection steps to the ends gave, which could
    # differ only where q lies within 2^-48 of an end; tests/unit/analysis/test_quantile_bounds.py).
    rejected = binomial_rejects(buckets.cumulative, buckets.total, q, per_edge_alpha)
    estimate = buckets.cumulative / max(buckets.total, 1e-300)
    # No monotone clean-up of the bounds is needed: the largest certified-below edge and the
    # smallest certified-above edge are the same with it or without it.
    below = buckets.edges[rejected & (estimate < q)]
    at_or_above = buckets.edges[rejected & (estimate >= q)]
    lower = float(below[-1]) if below.size else 0.0
    upper = float(at_or_above[0]) if at_or_above.size else math.inf
    return (lower, upper)
