"""Latency from Prometheus histograms: non-inferiority on the share of slow requests.

Why the share above an edge: the default buckets are 2-2.5x apart, so a 10% slowdown moves few
requests across any edge and a mean of bucket midpoints barely moves. What does move, in a known
way, is the share of requests slower than a fixed edge ``e``: if the candidate's latencies are the
stable's scaled by ``1 + margin``, that share becomes ``S_s(e / (1 + margin))``, read from the
stable's own histogram. The margin thus becomes a bound on a ratio of two rates, tested exactly
like an error rate (:mod:`.evidence`). The edge is the one that carries the most information about
a scale change, judged from the stable's histogram alone so the candidate's data cannot steer it.
A confidence sequence for p95 of each version is reported beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from ..api.v1alpha1 import AnalysisMethod, Verdict
from ._common import as_count, format_number, inconclusive
from .evidence import (
    conditional_log_evidence,
    gaussian_log_evidence,
    null_share,
    rate_ratio_confidence_sequence,
)
from .fixed import welch_t
from .histogram import (
    Buckets,
    bucket_counts,
    bucket_representatives,
    latency_at_share,
    quantile,
    quantile_confidence_interval,
    survival_share,
    survival_shares,
    to_buckets,
    valid_histogram,
)
from .types import HistogramSample, Margin, MetricTest, TestConfig

__all__ = ["MIN_TAIL_REQUESTS", "LatencyEvidence", "binned_margin", "latency_log_evidence", "test_latency"]

SEQUENTIAL_METHOD: Final = "mixture SPRT (share slower than a bucket edge)"
FIXED_METHOD: Final = "Welch t (log latency, binned)"
REPORTED_QUANTILE: Final = 0.95
MIN_TAIL_REQUESTS: Final = 5
"""Stable requests needed above an edge before its share is trusted to place the margin."""
MIN_MEAN_REQUESTS: Final = 30
"""Requests per version before the binned-mean test (a central-limit argument) takes part."""
MEAN_PRIOR_SCALE: Final = 2.0
"""Scale of the binned-mean test's prior on the excess over the margin, in binned margins."""
_TAIL_SHARE_RANGE: Final = (0.005, 0.7)

FloatArray = npt.NDArray[np.float64]


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


def _shifted(margin: Margin, latencies: FloatArray) -> FloatArray:
    """The stable latencies that a slowdown exactly at the margin maps onto ``latencies``."""
    if margin.absolute is not None:
        return np.asarray(latencies - margin.absolute, dtype=np.float64)
    return np.asarray(latencies / (1 + (margin.relative or 0.0)), dtype=np.float64)


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
        shifted = _shifted(margin, edges)
        at_margin = np.where(
            shifted > 0,
            survival_shares(edges, stable_cumulative, stable_total, np.maximum(shifted, 1e-12)),
            1.0,
        )
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
    sees every bucket but is only asymptotically valid. An equal-weight average of the two
    e-values is an e-value, and is never far below the better of them (a factor of two).
    """
    arguments = (edges, stable_cumulative, stable_total, candidate_cumulative, candidate_total, margin)
    edge = _edge_log_evidence(*arguments)
    mean_fail, mean_pass = _mean_log_evidence(*arguments)
    half = math.log(0.5)
    return LatencyEvidence(
        edge_index=edge.edge_index,
        null_ratio=edge.null_ratio,
        fail_log_e=np.asarray(np.logaddexp(half + edge.fail_log_e, half + mean_fail), dtype=np.float64),
        pass_log_e=np.asarray(np.logaddexp(half + edge.pass_log_e, half + mean_pass), dtype=np.float64),
    )


def _effect_from_ratio(stable: Buckets, margin: Margin, edge: float, ratio: float) -> float:
    """The latency change (relative, or in seconds) that would produce a slow-share ``ratio``."""
    share = survival_share(stable, edge)
    if ratio <= 0:
        return -1.0 if margin.absolute is None else -math.inf
    target = ratio * share
    if target >= 1:
        return math.inf
    source = latency_at_share(stable, target)
    if margin.absolute is not None:
        return edge - source
    return edge / source - 1 if source > 0 else math.inf


def _ms(seconds: float) -> str:
    return "n/a" if not math.isfinite(seconds) else f"{format_number(1000 * seconds)} ms"


def _margin_text(margin: Margin) -> str:
    if margin.absolute is not None:
        return f"+{_ms(margin.absolute)}"
    return f"+{100 * (margin.relative or 0.0):.3g}%"


def _effect_text(effect: float, margin: Margin) -> str:
    if not math.isfinite(effect):
        return "n/a"
    return f"{1000 * effect:+.3g} ms" if margin.absolute is not None else f"{100 * effect:+.3g}%"


def binned_margin(
    edges: FloatArray,
    stable_cumulative: FloatArray,
    stable_total: FloatArray,
    margin: Margin,
    values: FloatArray,
) -> FloatArray:
    """How much a slowdown exactly at the margin moves the binned mean of ``values``.

    Why not simply ``log(1 + margin)``: with buckets 2-2.5x apart the binned mean of log latency
    does not move one for one with a scale change; depending on where the stable's mass sits
    against the edges a 5% slowdown can move it by more than 10%. Shifting the stable's own
    (interpolated) distribution by the margin and binning it again gives the margin on the scale
    the test measures. ``edges`` are the finite edges, ``values`` one per bucket (+Inf last).
    """
    shifted = _shifted(margin, edges)
    slower = np.where(
        shifted > 0,
        survival_shares(edges, stable_cumulative, stable_total, np.maximum(shifted, 1e-12)),
        1.0,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        stable_below = stable_cumulative / np.asarray(stable_total)[..., None]
    ones = np.ones((*np.shape(stable_total), 1))
    zeros = np.zeros_like(ones)
    at_margin = np.diff(np.concatenate((zeros, 1 - slower, ones), axis=-1), axis=-1)
    as_is = np.diff(np.concatenate((zeros, stable_below, ones), axis=-1), axis=-1)
    return np.asarray(((at_margin - as_is) * values).sum(axis=-1), dtype=np.float64)


def _fixed(sample: HistogramSample, margin: Margin, config: TestConfig, base: MetricTest) -> MetricTest:
    """Welch t on binned log latency (or latency, for an absolute margin) at the final look."""
    representatives = bucket_representatives(sample.edges)
    relative = margin.absolute is None
    values = np.log(representatives) if relative else representatives
    stable = to_buckets(sample.edges, sample.stable_counts)
    allowed = float(binned_margin(stable.edges, stable.cumulative, np.asarray(stable.total), margin, values))
    candidate_counts = bucket_counts(sample.candidate_counts)
    stable_counts = bucket_counts(sample.stable_counts)
    worse = welch_t(values, values, candidate_counts, stable_counts, margin=allowed, alternative="greater")
    within = welch_t(values, values, candidate_counts, stable_counts, margin=allowed, alternative="less")
    verdict = Verdict.INCONCLUSIVE
    if config.final and worse.pvalue <= config.alpha:
        verdict = Verdict.FAIL
    elif config.final and within.pvalue <= config.alpha:
        verdict = Verdict.PASS
    interval = welch_t(values, values, candidate_counts, stable_counts).interval
    effect = worse.effect
    if relative and interval is not None:
        effect, interval = math.expm1(effect), (math.expm1(interval[0]), math.expm1(interval[1]))
    decided = "final look" if config.final else "decided only at the final look"
    explanation = (
        f"p95 candidate {_ms(base.candidate or math.nan)} vs stable {_ms(base.stable or math.nan)};"
        f" binned mean {_effect_text(effect, margin)} (margin {_margin_text(margin)}, i.e."
        f" {_effect_text(math.expm1(allowed) if relative else allowed, margin)} once binned):"
        f" p = {worse.pvalue:.3g} for worse, {within.pvalue:.3g} for within ({decided})."
    )
    return replace(
        base,
        verdict=verdict,
        method=FIXED_METHOD,
        effect=effect,
        interval=interval,
        p_value=worse.pvalue,
        explanation=explanation,
    )


def test_latency(sample: HistogramSample, margin: Margin, config: TestConfig) -> MetricTest:
    """Non-inferiority of the candidate's latency from cumulative histogram buckets.

    ``stable``/``candidate`` are the p95 latencies in seconds; ``effect`` is the latency change
    (relative, or seconds for an absolute margin) implied by the slow-request shares at the tested
    edge, and ``interval`` its confidence sequence.
    """
    method = SEQUENTIAL_METHOD if config.method == AnalysisMethod.SEQUENTIAL else FIXED_METHOD
    problem = valid_histogram(sample.edges, sample.stable_counts) or valid_histogram(
        sample.edges, sample.candidate_counts
    )
    if problem is not None:
        return inconclusive(method, f"No usable histogram: {problem}.")
    stable = to_buckets(sample.edges, sample.stable_counts)
    candidate = to_buckets(sample.edges, sample.candidate_counts)
    samples_stable, samples_candidate = as_count(stable.total), as_count(candidate.total)
    if stable.total <= 0 or candidate.total <= 0:
        return inconclusive(
            method,
            "One version has served no requests yet: nothing to compare.",
            samples_stable,
            samples_candidate,
        )
    stable_p95 = quantile(stable, REPORTED_QUANTILE)
    candidate_p95 = quantile(candidate, REPORTED_QUANTILE)
    base = inconclusive(
        method,
        f"Candidate has {samples_candidate} requests, fewer than minSamples {config.min_samples}:"
        " still collecting.",
        samples_stable,
        samples_candidate,
        stable_p95,
        candidate_p95,
    )
    if candidate.total < config.min_samples:
        return base
    if config.method == AnalysisMethod.FIXED:
        return _fixed(sample, margin, config, base)
    evidence = latency_log_evidence(
        stable.edges,
        stable.cumulative,
        np.asarray(stable.total),
        candidate.cumulative,
        np.asarray(candidate.total),
        margin,
    )
    index = int(evidence.edge_index)
    if index < 0:
        return replace(
            base,
            explanation="The stable's histogram has too few slow requests above any bucket edge"
            " to place the margin: still collecting.",
        )
    edge = float(stable.edges[index])
    fail_e_value, pass_e_value = float(np.exp(evidence.fail_log_e)), float(np.exp(evidence.pass_log_e))
    low, high = rate_ratio_confidence_sequence(
        candidate.above[index], stable.above[index], candidate.total, stable.total, config.alpha
    )
    observed_ratio = (candidate.above[index] / candidate.total) / (stable.above[index] / stable.total)
    effect = _effect_from_ratio(stable, margin, edge, float(observed_ratio))
    interval = (
        _effect_from_ratio(stable, margin, edge, float(low)),
        _effect_from_ratio(stable, margin, edge, float(high)),
    )
    threshold = 1 / config.alpha
    if fail_e_value >= threshold:
        verdict, outcome = Verdict.FAIL, "worse than the margin"
    elif pass_e_value >= threshold:
        verdict, outcome = Verdict.PASS, "within the margin"
    else:
        verdict, outcome = Verdict.INCONCLUSIVE, "not yet decided"
    p95_low, p95_high = quantile_confidence_interval(candidate, REPORTED_QUANTILE, config.alpha)
    explanation = (
        f"p95 candidate {_ms(candidate_p95)} (bounds {_ms(p95_low)}-{_ms(p95_high)}) vs stable"
        f" {_ms(stable_p95)}; slower than {_ms(edge)}:"
        f" {format_number(100 * candidate.above[index] / candidate.total)}% vs"
        f" {format_number(100 * stable.above[index] / stable.total)}%, i.e. {_effect_text(effect, margin)}"
        f" (margin {_margin_text(margin)}): e-value {fail_e_value:.3g} for worse,"
        f" {pass_e_value:.3g} for within (threshold {threshold:.3g}), {outcome}."
    )
    return replace(
        base,
        verdict=verdict,
        effect=effect,
        interval=interval,
        e_value=fail_e_value,
        explanation=explanation,
    )
