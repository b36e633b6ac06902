"""Sequential evidence on latency histograms, vectorised for the operator and the benchmark.

Two views of the same histograms, averaged into one e-value: the share of requests slower than
one well-placed bucket edge (an exact count test, see :mod:`.rate_ratio`) and the binned mean of
log latency (a mixture SPRT that sees every bucket). Both need the margin translated onto their
own scale, which is done with the stable's histogram shifted by the margin
(:mod:`..histograms.margin`).

Why the edge share, and the measured effect of the constants: docs/statistics.md#latency-evidence
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from ..histograms import binned_margin, bucket_representatives, slower_at_margin
from ..types import Margin
from .mixtures import gaussian_log_evidence
from .rate_ratio import conditional_log_evidence, null_share

__all__ = [
    "EDGE_WEIGHT",
    "MEAN_PRIOR_SCALE",
    "MIN_MEAN_REQUESTS",
    "MIN_TAIL_REQUESTS",
    "LatencyEvidence",
    "latency_log_evidence",
]

FloatArray = npt.NDArray[np.float64]

MIN_TAIL_REQUESTS: Final = 5
"""Stable requests needed above an edge before its share is trusted to place the margin."""
MIN_MEAN_REQUESTS: Final = 20
"""Requests per version before the binned-mean test (a central-limit argument) takes part.

The binned log latencies are bounded (a dozen bucket values), so their mean is close to normal
early; the rollbacks this gate allowed at the margin, measured: docs/statistics.md#latency-evidence."""
MEAN_PRIOR_SCALE: Final = 2.0
"""Scale of the binned-mean test's prior on the excess over the margin, in binned margins."""
EDGE_WEIGHT: Final = 0.25
"""Weight of the edge-count e-value in the average (the binned mean's is the rest).

Any fixed weights give a valid e-value; these favour the binned mean, which sees every bucket
and reached a rollback sooner at 1 rps (docs/statistics.md#latency-evidence), while the exact edge
count keeps a quarter of the say so that a distribution the binned mean describes badly still has
a test that does not lean on the central limit theorem."""
_TAIL_SHARE_RANGE: Final = (0.005, 0.7)


@dataclass(frozen=True)
class LatencyEvidence:
    """Per histogram: the edge tested, the margin as a ratio there, both one-sided log e-values.

    Arrays share the leading shape of the histograms passed in; ``edge_index`` is -1 (and the
    log e-values 0) where no edge is usable yet.
    """

    edge_index: npt.NDArray[np.int64]
    null_ratio: FloatArray
    """Ratio of slow shares (candidate/stable) that a slowdown exactly at the margin produces."""
    fail_log_e: FloatArray
    """Log evidence that the candidate is slower than the margin allows."""
    pass_log_e: FloatArray
    """Log evidence that it is not."""


def _edge_log_evidence(
    edges: FloatArray,
    stable_cumulative: FloatArray,
    stable_total: FloatArray,
    candidate_cumulative: FloatArray,
    candidate_total: FloatArray,
    margin: Margin,
) -> LatencyEvidence:
    """Sequential evidence both ways at the most informative edge, for many histograms at once.

    ``*_cumulative`` have shape ``(..., finite edges)``. The edge is chosen from the stable's
    histogram alone: under the Poisson approximation the information about a log ratio in a
    count is its expectation, so an edge is worth ``share * log(null_ratio)**2`` (more slow
    requests, or a larger move at the margin). Edges with fewer than ``MIN_TAIL_REQUESTS`` stable
    requests above them are skipped: the margin's translation there would rest on noise.
    """
    stable_total = np.asarray(stable_total, dtype=np.float64)
    candidate_total = np.asarray(candidate_total, dtype=np.float64)
    above = stable_total[..., None] - stable_cumulative
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = above / stable_total[..., None]
        at_margin = slower_at_margin(edges, stable_cumulative, stable_total, margin)
        ratios = at_margin / shares
        worth = shares * np.log(np.maximum(ratios, 1.0)) ** 2 + 1e-12 * shares
    usable = (
        (above >= MIN_TAIL_REQUESTS)
        & (shares >= _TAIL_SHARE_RANGE[0])
        & (shares <= _TAIL_SHARE_RANGE[1])
        & np.isfinite(ratios)
        & (ratios >= 1)
    )
    worth = np.where(usable, worth, -1.0)
    chosen = np.argmax(worth, axis=-1)
    found = np.take_along_axis(worth, chosen[..., None], axis=-1)[..., 0] >= 0
    pick = chosen[..., None]
    null_ratio = np.take_along_axis(ratios, pick, axis=-1)[..., 0]
    slow_stable = np.take_along_axis(above, pick, axis=-1)[..., 0]
    slow_candidate = candidate_total - np.take_along_axis(candidate_cumulative, pick, axis=-1)[..., 0]
    theta0 = null_share(np.where(found, null_ratio, 1.0), candidate_total, stable_total)
    margin_width = np.abs(theta0 - null_share(1.0, candidate_total, stable_total))
    total = np.where(found, slow_stable + slow_candidate, 0.0)
    fail = conditional_log_evidence(slow_candidate, total, theta0, "greater", margin_width)
    within = conditional_log_evidence(slow_candidate, total, theta0, "less", margin_width)
    return LatencyEvidence(
        edge_index=np.asarray(np.where(found, chosen, -1), dtype=np.int64),
        null_ratio=np.asarray(np.where(found, null_ratio, np.nan), dtype=np.float64),
        fail_log_e=np.asarray(fail, dtype=np.float64),
        pass_log_e=np.asarray(within, dtype=np.float64),
    )


def _mean_log_evidence(
    edges: FloatArray,
    stable_cumulative: FloatArray,
    stable_total: FloatArray,
    candidate_cumulative: FloatArray,
    candidate_total: FloatArray,
    margin: Margin,
) -> tuple[FloatArray, FloatArray]:
    """Mixture SPRT on the binned mean of log latency (of latency, for an absolute margin).

    Uses every bucket, not one edge, which matters at low traffic; the margin is put on the
    binned scale by :func:`binned_margin`. Needs ``MIN_MEAN_REQUESTS`` per version, because its
    validity rests on the central limit theorem.
    """
    all_edges = np.append(edges, math.inf)
    representatives = bucket_representatives(all_edges)
    values = np.log(representatives) if margin.absolute is None else representatives
    allowed = binned_margin(edges, stable_cumulative, stable_total, margin, values)

    def moments(cumulative: FloatArray, total: FloatArray) -> tuple[FloatArray, FloatArray]:
        counts = np.diff(np.concatenate((cumulative, total[..., None]), axis=-1), axis=-1, prepend=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = (counts * values).sum(axis=-1) / total
            variance = (counts * (values - mean[..., None]) ** 2).sum(axis=-1) / (total - 1)
        return mean, variance

    mean_c, var_c = moments(candidate_cumulative, candidate_total)
    mean_s, var_s = moments(stable_cumulative, stable_total)
    enough = (candidate_total >= MIN_MEAN_REQUESTS) & (stable_total >= MIN_MEAN_REQUESTS)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.where(enough, var_c / candidate_total + var_s / stable_total, np.nan)
    excess = mean_c - mean_s - allowed
    scale = MEAN_PRIOR_SCALE * np.abs(allowed)
    return (
        gaussian_log_evidence(excess, variance, scale, "greater"),
        gaussian_log_evidence(excess, variance, scale, "less"),
    )


def latency_log_evidence(
    edges: FloatArray,
    stable_cumulative: FloatArray,
    stable_total: FloatArray,
    candidate_cumulative: FloatArray,
    candidate_total: FloatArray,
    margin: Margin,
) -> LatencyEvidence:
    """Both one-sided e-values for many histograms at once: edge count and binned mean, averaged.

    The slow-request count at one edge is exact but sees little at low traffic; the binned mean
    sees every bucket but is only asymptotically valid. A fixed-weight average of the two
    e-values is an e-value, and is never far below the better of them (a factor of
    ``1 / EDGE_WEIGHT`` or ``1 / (1 - EDGE_WEIGHT)``).
    """
    arguments = (edges, stable_cumulative, stable_total, candidate_cumulative, candidate_total, margin)
    edge = _edge_log_evidence(*arguments)
    mean_fail, mean_pass = _mean_log_evidence(*arguments)
    on_edge, on_mean = math.log(EDGE_WEIGHT), math.log1p(-EDGE_WEIGHT)
    return LatencyEvidence(
        edge_index=edge.edge_index,
        null_ratio=edge.null_ratio,
        fail_log_e=np.asarray(np.logaddexp(on_edge + edge.fail_log_e, on_mean + mean_fail), dtype=np.float64),
        pass_log_e=np.asarray(np.logaddexp(on_edge + edge.pass_log_e, on_mean + mean_pass), dtype=np.float64),
    )
