"""Reading Prometheus histograms: bucket counts, survival shares and quantiles.

Prometheus keeps cumulative counts per upper edge (`le`), the last edge `+Inf`. Everything the
tests need comes from those counts: the share of requests slower than an edge is a count (tested
exactly like an error rate), and quantiles are read the way `histogram_quantile` reads them so the
numbers in status match what people see in Grafana.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = [
    "Buckets",
    "bucket_counts",
    "bucket_representatives",
    "latency_at_share",
    "quantile",
    "survival_share",
    "survival_shares",
    "to_buckets",
    "valid_histogram",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Buckets:
    """One version's histogram: finite edges and cumulative counts below each of them."""

    edges: FloatArray
    """Finite `le` edges, increasing (the `+Inf` edge is implied by `total`)."""
    cumulative: FloatArray
    """Requests at or below each finite edge; non-decreasing."""
    total: float
    """All requests (the `+Inf` bucket, i.e. `_count`)."""

    @property
    def above(self) -> FloatArray:
        """Requests slower than each finite edge."""
        return np.asarray(self.total - self.cumulative, dtype=np.float64)


def valid_histogram(edges: Sequence[float], counts: Sequence[float]) -> str | None:
    """Why the series cannot be used, or None. Prometheus hands us whatever was scraped."""
    if len(edges) < 2 or len(edges) != len(counts):
        return "the histogram needs at least two buckets and one count per bucket"
    values = np.asarray(counts, dtype=np.float64)
    bounds = np.asarray(edges, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        return "the histogram has missing (NaN) or infinite counts"
    if np.isnan(bounds).any() or not math.isinf(float(bounds[-1])) or np.any(np.diff(bounds) <= 0):
        return "bucket edges must increase and end with +Inf"
    if np.any(values < 0):
        return "bucket counts are negative"
    return None


def to_buckets(edges: Sequence[float], counts: Sequence[float]) -> Buckets:
    """Split off the `+Inf` bucket and repair small non-monotonic steps.

    Scrapes of different bucket series are not atomic, so a cumulative count can dip below the
    previous edge's by a few requests; the running maximum keeps shares within [0, 1].
    """
    values = np.maximum.accumulate(np.asarray(counts, dtype=np.float64))
    finite_edges = np.asarray(edges[:-1], dtype=np.float64)
    return Buckets(edges=finite_edges, cumulative=values[:-1], total=float(values[-1]))


def bucket_counts(counts: Sequence[float] | FloatArray) -> FloatArray:
    """Per-bucket (non-cumulative) counts from cumulative ones, the `+Inf` bucket last."""
    values = np.maximum.accumulate(np.asarray(counts, dtype=np.float64))
    return np.asarray(np.diff(values, prepend=0.0), dtype=np.float64)


def bucket_representatives(edges: Sequence[float] | FloatArray) -> FloatArray:
    """A latency standing for each bucket: the geometric middle of its edges.

    Latencies are roughly log-normal, so the geometric middle is the natural centre; the first
    bucket starts at 0 (we use half its edge) and the `+Inf` bucket is taken one half-step past
    the last finite edge, the same spacing as the bucket before it.
    """
    finite = np.asarray(edges[:-1], dtype=np.float64)
    if finite.size == 0:
        return np.zeros(1)
    lower = np.concatenate(([finite[0] / 4], finite[:-1]))
    middles = np.sqrt(lower * finite)
    step = finite[-1] / finite[-2] if finite.size > 1 else 2.0
    return np.asarray(np.concatenate((middles, [finite[-1] * math.sqrt(step)])), dtype=np.float64)


def _probits(cumulative: FloatArray, total: FloatArray) -> FloatArray:
    """Probits of the shares slower than each edge, exactly 0 or 1 moved half a request inwards."""
    counts_total = np.asarray(total, dtype=np.float64)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = (counts_total - cumulative) / counts_total
        floor = 0.5 / np.maximum(counts_total, 1.0)
    return np.asarray(special.ndtri(np.clip(shares, floor, 1 - floor)), dtype=np.float64)


def survival_shares(
    edges: FloatArray, cumulative: FloatArray, total: FloatArray, latencies: FloatArray
) -> FloatArray:
    """Estimated shares of requests slower than each of ``latencies``, for many histograms.

    ``cumulative`` has shape ``(..., edges)`` and ``total`` shape ``(...)``; the result has shape
    ``(..., latencies)``. The probit of the share is interpolated linearly in log latency: exact
    for a log-normal, which real latencies resemble over a bucket or two, where a straight line
    between the bucket edges would misplace a 10% slowdown by a third near the median. Shares of
    exactly 0 or 1 are moved half a request inwards so every edge has a finite probit, and the
    first and last segments are extended past the outermost edges.
    """
    counts_total = np.asarray(total, dtype=np.float64)[..., None]
    probits = _probits(cumulative, total)
    log_edges = np.log(edges)
    positions = np.log(np.asarray(latencies, dtype=np.float64))
    upper = np.clip(np.searchsorted(log_edges, positions), 1, log_edges.size - 1)
    lower = upper - 1
    weight = (positions - log_edges[lower]) / (log_edges[upper] - log_edges[lower])
    probit = probits[..., lower] * (1 - weight) + probits[..., upper] * weight
    result = special.ndtr(probit)
    return np.asarray(np.where(counts_total > 0, result, np.nan), dtype=np.float64)


def survival_share(buckets: Buckets, latency: float) -> float:
    """:func:`survival_shares` for one histogram and one latency (1 at or below zero)."""
    if latency <= 0:
        return 1.0
    if buckets.edges.size < 2:
        return math.nan if buckets.total <= 0 else float(buckets.above[-1] / buckets.total)
    shares = survival_shares(
        buckets.edges, buckets.cumulative, np.asarray(buckets.total), np.asarray([latency])
    )
    return float(shares[0])


def latency_at_share(buckets: Buckets, share: float) -> float:
    """Inverse of :func:`survival_share`: the latency with ``share`` of requests slower.

    Solved in closed form rather than searched: the share's probit is linear in log latency
    between two edges (and past the outermost ones), so the latency is found in the first
    segment whose far end is at or below the target probit. The answer is kept in
    ``[1e-9 s, 1000 x the last edge]``, and is inf where the share is not reached even there.
    """
    if share >= 1:
        return 0.0
    low, high = 1e-9, float(buckets.edges[-1]) * 1e3
    if survival_share(buckets, high) > share:
        return math.inf
    if buckets.edges.size < 2:
        # The share does not depend on the latency: the latency is the bracket's floor.
        return low
    probits = [float(v) for v in _probits(buckets.cumulative, np.asarray(buckets.total))]
    log_edges = [math.log(float(e)) for e in buckets.edges]
    target = float(special.ndtri(share))
    if buckets.total <= 0 or math.isnan(target) or any(math.isnan(v) for v in probits):
        return low
    last = len(probits) - 1
    # Segment j runs from edge j - 1 to edge j; the first and last extend past the outer edges.
    segment = next((j for j in range(1, last) if probits[j] <= target), last)
    start_probit, end_probit = probits[segment - 1], probits[segment]
    if end_probit == start_probit:
        # Flat, so all along at or below the target (the first segment: the floor) or above it
        # (the last: the ceiling, reached only through rounding after the check above).
        position = -math.inf if start_probit <= target else math.inf
    else:
        width = log_edges[segment] - log_edges[segment - 1]
        position = log_edges[segment - 1] + (target - start_probit) * width / (end_probit - start_probit)
    if position <= math.log(low):
        return low
    return min(math.exp(position), high)


def _quantile_of_fractions(edges: FloatArray, fractions: FloatArray, q: float) -> float:
    """`histogram_quantile` on cumulative fractions (lower bound 0, linear within a bucket)."""
    index = int(np.searchsorted(fractions, q, side="left"))
    if index >= edges.size:
        return float(edges[-1])
    upper_edge = float(edges[index])
    lower_edge = 0.0 if index == 0 else float(edges[index - 1])
    lower_fraction = 0.0 if index == 0 else float(fractions[index - 1])
    width = float(fractions[index]) - lower_fraction
    if width <= 0:
        return upper_edge
    return lower_edge + (upper_edge - lower_edge) * (q - lower_fraction) / width


def quantile(buckets: Buckets, q: float) -> float:
    """The q-quantile as Prometheus' `histogram_quantile` computes it (NaN without data)."""
    if buckets.total <= 0:
        return math.nan
    return _quantile_of_fractions(buckets.edges, buckets.cumulative / buckets.total, q)
