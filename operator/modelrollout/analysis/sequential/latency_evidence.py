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
from .mixtures import gaussian_grid_log_evidence
from .rate_ratio import conditional_log_evidence, null_share
from .segments import SegmentStarts, pooled, restarted, segment_bounds

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
"""Base scale of the binned-mean test's priors on the excess over the margin, in binned margins;
the mixture averages over ``SCALE_GRID`` multiples of it (2, 8, 32 and 128 margins, three quarters of the weight on
the base), so large effects are not held back by a prior sized for effects near the margin."""
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
    starts: SegmentStarts = (),
    pass_side: bool = True,
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
    if starts:
        fail, within = _segmented_edge_evidence(
            stable_cumulative,
            stable_total,
            candidate_cumulative,
            candidate_total,
            chosen,
            found,
            null_ratio,
            starts,
            pass_side,
        )
    else:
        fail, within = _edge_counts_evidence(
            np.take_along_axis(above, pick, axis=-1)[..., 0],
            candidate_total - np.take_along_axis(candidate_cumulative, pick, axis=-1)[..., 0],
            stable_total,
            candidate_total,
            found,
            null_ratio,
            pass_side,
        )
    return LatencyEvidence(
        edge_index=np.asarray(np.where(found, chosen, -1), dtype=np.int64),
        null_ratio=np.asarray(np.where(found, null_ratio, np.nan), dtype=np.float64),
        fail_log_e=np.asarray(fail, dtype=np.float64),
        pass_log_e=np.asarray(within, dtype=np.float64),
    )


def _edge_counts_evidence(
    slow_stable: FloatArray,
    slow_candidate: FloatArray,
    stable_total: FloatArray,
    candidate_total: FloatArray,
    found: npt.NDArray[np.bool_],
    null_ratio: FloatArray,
    pass_side: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """The conditional binomial both ways on the slow requests of each version at one edge (the
    "less" side NaN unless ``pass_side``)."""
    theta0 = null_share(np.where(found, null_ratio, 1.0), candidate_total, stable_total)
    margin_width = np.abs(theta0 - null_share(1.0, candidate_total, stable_total))
    total = np.where(found, slow_stable + slow_candidate, 0.0)
    fail = conditional_log_evidence(slow_candidate, total, theta0, "greater", margin_width)
    if not pass_side:
        return fail, np.full(fail.shape, np.nan)
    return fail, conditional_log_evidence(slow_candidate, total, theta0, "less", margin_width)


def _segmented_edge_evidence(
    stable_cumulative: FloatArray,
    stable_total: FloatArray,
    candidate_cumulative: FloatArray,
    candidate_total: FloatArray,
    chosen: npt.NDArray[np.int64],
    found: npt.NDArray[np.bool_],
    null_ratio: FloatArray,
    starts: SegmentStarts,
    pass_side: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """The edge count's evidence multiplied over segments, each with its own exposures (split).

    The edge and the margin's ratio there are the look's (chosen from the whole path's stable
    histogram, as without segments); each segment's slow counts at that edge are tested with the
    candidate's share its own split gives."""
    s_cum = restarted(stable_cumulative, starts, axis=-2)
    c_cum = restarted(candidate_cumulative, starts, axis=-2)
    s_tot = restarted(stable_total, starts)
    c_tot = restarted(candidate_total, starts)
    looks = stable_total.shape[-1]
    index = np.arange(looks)
    bounds = segment_bounds(looks, starts)
    # Every segment's counts in one call of the count test (a call is a few dozen numpy calls,
    # and the test is elementwise), summed over segments in order as before.
    at = np.stack([np.minimum(index, stop - 1) for _, stop in bounds])
    pick = chosen[..., None, :, None]
    slow_s = s_tot[..., at] - np.take_along_axis(s_cum[..., at, :], pick, axis=-1)[..., 0]
    slow_c = c_tot[..., at] - np.take_along_axis(c_cum[..., at, :], pick, axis=-1)[..., 0]
    parts = _edge_counts_evidence(
        slow_s,
        slow_c,
        s_tot[..., at],
        c_tot[..., at],
        found[..., None, :],
        null_ratio[..., None, :],
        pass_side,
    )
    fail = np.zeros(stable_total.shape)
    within = np.zeros(stable_total.shape)
    for segment, (start, _) in enumerate(bounds):
        reached = index >= start
        fail += np.where(reached, parts[0][..., segment, :], 0.0)
        within += np.where(reached, parts[1][..., segment, :], 0.0)
    return fail, within


def _mean_log_evidence(
    edges: FloatArray,
    stable_cumulative: FloatArray,
    stable_total: FloatArray,
    candidate_cumulative: FloatArray,
    candidate_total: FloatArray,
    margin: Margin,
    starts: SegmentStarts = (),
    pass_side: bool = True,
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
    if starts:
        # Across steps: each segment's difference of means at its own split, pooled by precision
        # with the path's per-request variances (segments.pooled).
        segment_c, _ = moments(
            restarted(candidate_cumulative, starts, axis=-2), restarted(candidate_total, starts)
        )
        segment_s, _ = moments(restarted(stable_cumulative, starts, axis=-2), restarted(stable_total, starts))
        excess, variance = pooled(
            segment_c - segment_s - allowed,
            restarted(candidate_total, starts),
            restarted(stable_total, starts),
            var_c,
            var_s,
            starts,
        )
        variance = np.where(enough, variance, np.nan)
    scale = MEAN_PRIOR_SCALE * np.abs(allowed)
    fail = gaussian_grid_log_evidence(excess, variance, scale, "greater")
    if not pass_side:
        return fail, np.full(fail.shape, np.nan)
    return fail, gaussian_grid_log_evidence(excess, variance, scale, "less")


def latency_log_evidence(
    edges: FloatArray,
    stable_cumulative: FloatArray,
    stable_total: FloatArray,
    candidate_cumulative: FloatArray,
    candidate_total: FloatArray,
    margin: Margin,
    segment_starts: SegmentStarts = (),
    pass_side: bool = True,
) -> LatencyEvidence:
    """Both one-sided e-values for many histograms at once: edge count and binned mean, averaged.

    The slow-request count at one edge is exact but sees little at low traffic; the binned mean
    sees every bucket but is only asymptotically valid. A fixed-weight average of the two
    e-values is an e-value, and is never far below the better of them (a factor of
    ``1 / EDGE_WEIGHT`` or ``1 / (1 - EDGE_WEIGHT)``).

    With ``segment_starts`` the histograms are a path: counts since the evidence started, the
    looks along the axis before the edges (along the last axis of the totals), and each segment
    between two starts is counted at its own traffic split (:mod:`.segments`). Without
    ``pass_side`` only the Fail side is computed (the Pass side's log e-values are NaN): the
    evidence carried across steps decides nothing else.
    """
    arguments = (edges, stable_cumulative, stable_total, candidate_cumulative, candidate_total, margin)
    starts = tuple(segment_starts)
    edge = _edge_log_evidence(*arguments, starts, pass_side)
    mean_fail, mean_pass = _mean_log_evidence(*arguments, starts, pass_side)
    on_edge, on_mean = math.log(EDGE_WEIGHT), math.log1p(-EDGE_WEIGHT)
    return LatencyEvidence(
        edge_index=edge.edge_index,
        null_ratio=edge.null_ratio,
        fail_log_e=np.asarray(np.logaddexp(on_edge + edge.fail_log_e, on_mean + mean_fail), dtype=np.float64),
        pass_log_e=np.asarray(
            np.logaddexp(on_edge + edge.pass_log_e, on_mean + mean_pass) if pass_side else mean_pass,
            dtype=np.float64,
        ),
    )
