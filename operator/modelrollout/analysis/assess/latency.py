"""Assessing latency from Prometheus histograms: non-inferiority of the candidate's latency.

Why not simply compare means or quantiles: the default buckets are 2-2.5x apart, so a 10%
slowdown moves few requests across any edge. What does move, in a known way, is the share of
requests slower than a fixed edge ``e``: if the candidate's latencies are the stable's scaled by
``1 + margin``, that share becomes ``S_s(e / (1 + margin))``, read from the stable's own
histogram. The margin thus becomes a bound on a ratio of two rates, tested exactly like an error
rate; the binned mean of log latency, with the margin put on the same binned scale, joins it
(see :mod:`..sequential.latency_evidence`). The reported effect is the slowdown that the
slow-request shares at the tested edge imply; p95 of each version, with confidence bounds, is
reported beside it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Final

import numpy as np
import numpy.typing as npt

from ...api.v1alpha1 import FIXED_TESTS, AnalysisMethod, FixedTest, MetricType
from ..fixed import (
    binned_effect_sizes,
    decision_moment,
    mann_whitney_relative_effect,
    one_sided_verdict,
    superiority_at_margin,
    welch_t,
)
from ..histograms import (
    Buckets,
    binned_margin,
    bucket_counts,
    bucket_representatives,
    latency_at_share,
    quantile,
    survival_share,
    to_buckets,
    valid_histogram,
)
from ..sequential import (
    LatencyEvidence,
    last_look_path,
    latency_log_evidence,
    quantile_confidence_interval,
    rate_ratio_confidence_sequence,
)
from ..types import AssessConfig, HistogramSample, Margin, MetricTest
from ._results import (
    SEGMENTED_NOTE,
    as_count,
    collecting,
    format_number,
    inconclusive,
    sequential_result,
    short_of_fail,
)

__all__ = ["assess_latency"]

SEQUENTIAL_METHOD: Final = "mixture SPRT (slow-request share and binned log mean)"
FIXED_METHODS: Final = {
    FixedTest.WELCH: "Welch t (log latency, binned)",
    FixedTest.MANN_WHITNEY: "Mann-Whitney relative effect (binned, Brunner-Munzel variance)",
}
"""The classical tests that fit latency; Welch's is the default."""
REPORTED_QUANTILE: Final = 0.95
FloatArray = npt.NDArray[np.float64]


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


def _edge_effect(
    stable: Buckets, candidate: Buckets, margin: Margin, index: int, alpha: float, *, bounded: bool = True
) -> tuple[float | None, tuple[float, float] | None, str]:
    """The slowdown the slow-request shares at the tested edge imply, its bounds (unless not
    ``bounded``: evidence across splits, see `assess_rate`), and a phrase."""
    if index < 0:
        return None, None, "too few slow stable requests to place the margin at an edge yet"
    edge = float(stable.edges[index])
    candidate_share = candidate.above[index] / candidate.total
    stable_share = stable.above[index] / stable.total
    effect = _effect_from_ratio(stable, margin, edge, float(candidate_share / stable_share))
    interval = None
    if bounded:
        low, high = rate_ratio_confidence_sequence(
            candidate.above[index], stable.above[index], candidate.total, stable.total, alpha
        )
        interval = (
            _effect_from_ratio(stable, margin, edge, float(low)),
            _effect_from_ratio(stable, margin, edge, float(high)),
        )
    detail = (
        f"slower than {_ms(edge)}: {format_number(100 * candidate_share)}% vs"
        f" {format_number(100 * stable_share)}%, i.e. {_effect_text(effect, margin)}"
    )
    return effect, interval, detail


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


def _cohens_d_text(base: MetricTest) -> str:
    return "n/a" if base.cohens_d is None else f"{base.cohens_d:+.2f}"


def _chosen_test(config: AssessConfig) -> FixedTest:
    """The test ``fixedTest`` names, or the type's default (first in ``FIXED_TESTS``)."""
    return config.fixed_test or FIXED_TESTS[MetricType.LATENCY][0]


def _fixed(sample: HistogramSample, margin: Margin, config: AssessConfig, base: MetricTest) -> MetricTest:
    """The classical test ``fixedTest`` names, on the binned latencies, decided at the final look."""
    chosen = _chosen_test(config)
    if chosen == FixedTest.MANN_WHITNEY:
        return _mann_whitney(sample, margin, config, base)
    if chosen == FixedTest.WELCH:
        return _welch(sample, margin, config, base)
    return replace(base, explanation=f"fixedTest {chosen} does not fit a latency metric: nothing was tested.")


def _welch(sample: HistogramSample, margin: Margin, config: AssessConfig, base: MetricTest) -> MetricTest:
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
    interval = welch_t(values, values, candidate_counts, stable_counts).interval
    effect = worse.effect
    if relative and interval is not None:
        effect, interval = math.expm1(effect), (math.expm1(interval[0]), math.expm1(interval[1]))
    explanation = (
        f"p95 candidate {_ms(base.candidate or math.nan)} vs stable {_ms(base.stable or math.nan)};"
        f" binned mean {_effect_text(effect, margin)} (margin {_margin_text(margin)}, i.e."
        f" {_effect_text(math.expm1(allowed) if relative else allowed, margin)} once binned),"
        f" Cohen's d {_cohens_d_text(base)} on log latency: Welch t p = {worse.pvalue:.3g} for worse,"
        f" {within.pvalue:.3g} for within ({decision_moment(config)})."
    )
    return replace(
        base,
        verdict=one_sided_verdict(worse.pvalue, within.pvalue, config),
        method=FIXED_METHODS[FixedTest.WELCH],
        effect=effect,
        interval=interval,
        p_value=worse.pvalue,
        explanation=explanation,
    )


def _mann_whitney(
    sample: HistogramSample, margin: Margin, config: AssessConfig, base: MetricTest
) -> MetricTest:
    """Mann-Whitney's relative effect against the one a slowdown exactly at the margin gives.

    Why the null moves instead of the data: binned latencies cannot be shifted back by the margin
    without spreading counts across buckets by some assumed shape within a bucket. Moving the
    null (:func:`..fixed.non_inferiority.superiority_at_margin`) makes that assumption once, on the
    stable's histogram, exactly as Welch's binned margin does. Ranks ignore the scale, so log or
    not makes no difference; the kind of margin (relative or absolute) does, and the shifted
    stable carries it. The effect reported is the relative effect itself (1/2: no change).
    """
    stable = to_buckets(sample.edges, sample.stable_counts)
    at_margin = superiority_at_margin(stable, margin)
    counts = (bucket_counts(sample.candidate_counts), bucket_counts(sample.stable_counts))
    worse = mann_whitney_relative_effect(*counts, null_effect=at_margin, alternative="greater")
    within = mann_whitney_relative_effect(*counts, null_effect=at_margin, alternative="less")
    interval = mann_whitney_relative_effect(*counts).interval
    explanation = (
        f"p95 candidate {_ms(base.candidate or math.nan)} vs stable {_ms(base.stable or math.nan)};"
        f" a candidate request is in a slower bucket than a stable one with chance"
        f" {format_number(worse.effect)} (ties half; 0.5 is no change, {format_number(at_margin)} a"
        f" slowdown of {_margin_text(margin)} once binned), Cohen's d {_cohens_d_text(base)} on log"
        f" latency: Mann-Whitney p = {worse.pvalue:.3g} for worse, {within.pvalue:.3g} for within"
        f" ({decision_moment(config)})."
    )
    return replace(
        base,
        verdict=one_sided_verdict(worse.pvalue, within.pvalue, config),
        method=FIXED_METHODS[FixedTest.MANN_WHITNEY],
        effect=worse.effect,
        interval=interval,
        p_value=worse.pvalue,
        explanation=explanation,
    )


def assess_latency(sample: HistogramSample, margin: Margin, config: AssessConfig) -> MetricTest:
    """Non-inferiority of the candidate's latency from cumulative histogram buckets.

    ``stable``/``candidate`` are the p95 latencies in seconds; ``effect`` is the latency change
    (relative, or seconds for an absolute margin) implied by the slow-request shares at the tested
    edge, and ``interval`` its confidence sequence. Cohen's d and Hedges' g of binned log latency
    are filled in with either method: they decide nothing but tell a reader the size of a change.
    """
    method = SEQUENTIAL_METHOD
    if config.method == AnalysisMethod.FIXED:
        method = FIXED_METHODS.get(_chosen_test(config), str(config.fixed_test))
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
    segmented = bool(sample.segment_starts and sample.earlier)
    if config.fail_only and config.method == AnalysisMethod.SEQUENTIAL:
        # Short of a Fail only the e-value is read: no p95, no effect sizes.
        bare = collecting(method, samples_stable, samples_candidate, config.min_samples, None, None)
        if candidate.total < config.min_samples:
            return bare
        held = _short_of_fail(sample, stable, candidate, margin, config, bare, segmented)
        if held is not None:
            return held
    stable_p95 = quantile(stable, REPORTED_QUANTILE)
    candidate_p95 = quantile(candidate, REPORTED_QUANTILE)
    cohens_d, hedges_g = binned_effect_sizes(
        np.log(bucket_representatives(sample.edges)),
        bucket_counts(sample.candidate_counts),
        bucket_counts(sample.stable_counts),
    )
    base = replace(
        collecting(method, samples_stable, samples_candidate, config.min_samples, stable_p95, candidate_p95),
        cohens_d=cohens_d,
        hedges_g=hedges_g,
    )
    if candidate.total < config.min_samples:
        return base
    if config.method == AnalysisMethod.FIXED:
        return _fixed(sample, margin, config, base)
    evidence = _one_split_evidence(stable, candidate, margin)
    fail_log_e, pass_log_e = float(evidence.fail_log_e), float(evidence.pass_log_e)
    if segmented:
        fail_log_e, pass_log_e = _segmented_evidence(sample, margin)
    index = int(evidence.edge_index)
    effect, interval, detail = _edge_effect(
        stable, candidate, margin, index, config.alpha, bounded=not segmented
    )
    p95_low, p95_high = quantile_confidence_interval(candidate, REPORTED_QUANTILE, config.alpha)
    note = SEGMENTED_NOTE if segmented else ""
    comparison = (
        f"p95 candidate {_ms(candidate_p95)} (bounds {_ms(p95_low)}-{_ms(p95_high)}) vs stable"
        f" {_ms(stable_p95)}; {detail} (margin {_margin_text(margin)}{note}): "
    )
    return sequential_result(
        base, fail_log_e, pass_log_e, -math.log(config.alpha), effect, interval, comparison
    )


def _short_of_fail(
    sample: HistogramSample,
    stable: Buckets,
    candidate: Buckets,
    margin: Margin,
    config: AssessConfig,
    base: MetricTest,
    segmented: bool,
) -> MetricTest | None:
    """``config.fail_only``: Inconclusive with the Fail side's e-value, or None on a Fail (the
    whole result is then computed). The same e-value as the whole result's, from fewer calls."""
    if segmented:
        fail_log_e, _ = _segmented_evidence(sample, margin, pass_side=False)
    else:
        fail_log_e = float(_one_split_evidence(stable, candidate, margin, pass_side=False).fail_log_e)
    return short_of_fail(base, fail_log_e, -math.log(config.alpha))


def _one_split_evidence(
    stable: Buckets, candidate: Buckets, margin: Margin, pass_side: bool = True
) -> LatencyEvidence:
    """The evidence on the window's totals, as if one split (the edge tested, its e-values)."""
    return latency_log_evidence(
        stable.edges,
        stable.cumulative,
        np.asarray(stable.total),
        candidate.cumulative,
        np.asarray(candidate.total),
        margin,
        pass_side=pass_side,
    )


def _segmented_evidence(
    sample: HistogramSample, margin: Margin, pass_side: bool = True
) -> tuple[float, float]:
    """Both log e-values at the last look, the path's segments each at its own split.

    Only each earlier segment's last look and the last look are read (the value at the last look
    depends on no other); one on other edges or with an invalid histogram is left out, and a
    segment start then moves to the next look kept."""
    looks = [*sample.earlier, sample]
    # Only the looks the last value depends on: each earlier segment's end and the last look.
    needed, _ = last_look_path(len(looks), sample.segment_starts)
    kept = [
        index
        for index in needed
        if index == len(looks) - 1
        or (
            looks[index].edges == sample.edges
            and valid_histogram(looks[index].edges, looks[index].stable_counts) is None
            and valid_histogram(looks[index].edges, looks[index].candidate_counts) is None
        )
    ]
    starts = sorted(
        {next(i for i, k in enumerate(kept) if k >= s) for s in sample.segment_starts if 0 < s < len(looks)}
    )
    stable = [to_buckets(looks[i].edges, looks[i].stable_counts) for i in kept]
    candidate = [to_buckets(looks[i].edges, looks[i].candidate_counts) for i in kept]
    evidence = latency_log_evidence(
        stable[-1].edges,
        np.stack([b.cumulative for b in stable]),
        np.asarray([b.total for b in stable]),
        np.stack([b.cumulative for b in candidate]),
        np.asarray([b.total for b in candidate]),
        margin,
        tuple(starts),
        pass_side,
    )
    return float(evidence.fail_log_e[-1]), float(evidence.pass_log_e[-1])
