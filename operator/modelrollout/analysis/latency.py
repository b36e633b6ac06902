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

from ..api.v1alpha1 import AnalysisMethod, Verdict
from ._common import as_count, format_number, inconclusive
from .evidence import conditional_log_evidence, null_share, rate_ratio_confidence_sequence
from .fixed import welch_t
from .histogram import (
    Buckets,
    bucket_counts,
    bucket_representatives,
    latency_at_share,
    quantile,
    quantile_confidence_interval,
    survival_share,
    to_buckets,
    valid_histogram,
)
from .types import HistogramSample, Margin, MetricTest, TestConfig

__all__ = ["LatencyEvidence", "latency_evidence", "test_latency"]

SEQUENTIAL_METHOD: Final = "mixture SPRT (share slower than a bucket edge)"
FIXED_METHOD: Final = "Welch t (log latency, binned)"
REPORTED_QUANTILE: Final = 0.95
MIN_TAIL_REQUESTS: Final = 5
"""Stable requests needed above an edge before its share is trusted to place the margin."""
_TAIL_SHARE_RANGE: Final = (0.005, 0.7)


@dataclass(frozen=True)
class LatencyEvidence:
    """The edge tested, the margin as a ratio there, and both one-sided e-values."""

    edge: float
    null_ratio: float
    """Ratio of slow shares (candidate/stable) that a slowdown exactly at the margin produces."""
    fail_e_value: float
    pass_e_value: float


def _shifted(margin: Margin, latency: float) -> float:
    """The stable latency that a latency at the margin maps onto ``latency``."""
    if margin.absolute is not None:
        return latency - margin.absolute
    return latency / (1 + (margin.relative or 0.0))


def _null_ratio(stable: Buckets, margin: Margin, edge: float, share: float) -> float:
    source = _shifted(margin, edge)
    return survival_share(stable, source) / share if source > 0 else 1 / share


def choose_edge(stable: Buckets, margin: Margin) -> tuple[float, float] | None:
    """The edge (and its null ratio) with the most information about a shift at the margin.

    Under the Poisson approximation the information about a log-ratio in a count is its
    expectation, so an edge is worth ``share * log(null_ratio)**2``: more slow requests, or a
    larger move at the margin. Edges with too few stable requests above them are skipped because
    the margin's translation would rest on noise.
    """
    if stable.total <= 0:
        return None
    best: tuple[float, float, float] | None = None
    for edge, above in zip(stable.edges, stable.above, strict=True):
        share = float(above / stable.total)
        if above < MIN_TAIL_REQUESTS or not _TAIL_SHARE_RANGE[0] <= share <= _TAIL_SHARE_RANGE[1]:
            continue
        ratio = _null_ratio(stable, margin, float(edge), share)
        if not math.isfinite(ratio) or ratio < 1:
            continue
        worth = share * math.log(ratio) ** 2 if ratio > 1 else share * 1e-9 * (1 - abs(share - 0.25))
        if best is None or worth > best[0]:
            best = (worth, float(edge), ratio)
    return None if best is None else (best[1], best[2])


def latency_evidence(stable: Buckets, candidate: Buckets, margin: Margin) -> LatencyEvidence | None:
    """Sequential evidence both ways at the chosen edge (None when no edge is usable)."""
    chosen = choose_edge(stable, margin)
    if chosen is None:
        return None
    edge, ratio = chosen
    index = int(np.searchsorted(stable.edges, edge))
    slow_stable = float(stable.above[index])
    slow_candidate = float(candidate.above[index])
    theta0 = null_share(ratio, candidate.total, stable.total)
    total = slow_stable + slow_candidate
    fail = conditional_log_evidence(slow_candidate, total, theta0, "greater")
    within = conditional_log_evidence(slow_candidate, total, theta0, "less")
    return LatencyEvidence(
        edge=edge,
        null_ratio=ratio,
        fail_e_value=float(np.exp(fail)),
        pass_e_value=float(np.exp(within)),
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


def _fixed(sample: HistogramSample, margin: Margin, config: TestConfig, base: MetricTest) -> MetricTest:
    """Welch t on binned log latency (or latency, for an absolute margin) at the final look."""
    representatives = bucket_representatives(sample.edges)
    relative = margin.absolute is None
    values = np.log(representatives) if relative else representatives
    allowed = math.log1p(margin.relative or 0.0) if relative else float(margin.absolute or 0.0)
    candidate_counts = bucket_counts(sample.candidate_counts)
    stable_counts = bucket_counts(sample.stable_counts)
    worse = welch_t(values, values, candidate_counts, stable_counts, margin=allowed, alternative="greater")
    within = welch_t(values, values, candidate_counts, stable_counts, margin=allowed, alternative="less")
    verdict = Verdict.INCONCLUSIVE
    if config.final and worse.pvalue <= config.alpha:
        verdict = Verdict.FAIL
    elif config.final and within.pvalue <= config.alpha:
        verdict = Verdict.PASS
    interval = worse.interval
    effect = worse.effect
    if relative and interval is not None:
        effect, interval = math.expm1(effect), (math.expm1(interval[0]), math.expm1(interval[1]))
    decided = "final look" if config.final else "decided only at the final look"
    explanation = (
        f"p95 candidate {_ms(base.candidate or math.nan)} vs stable {_ms(base.stable or math.nan)};"
        f" binned mean {_effect_text(effect, margin)} (margin {_margin_text(margin)}):"
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
    evidence = latency_evidence(stable, candidate, margin)
    if evidence is None:
        return replace(
            base,
            explanation="The stable's histogram has too few slow requests above any bucket edge"
            " to place the margin: still collecting.",
        )
    index = int(np.searchsorted(stable.edges, evidence.edge))
    low, high = rate_ratio_confidence_sequence(
        candidate.above[index], stable.above[index], candidate.total, stable.total, config.alpha
    )
    observed_ratio = (candidate.above[index] / candidate.total) / (stable.above[index] / stable.total)
    effect = _effect_from_ratio(stable, margin, evidence.edge, float(observed_ratio))
    interval = (
        _effect_from_ratio(stable, margin, evidence.edge, float(low)),
        _effect_from_ratio(stable, margin, evidence.edge, float(high)),
    )
    threshold = 1 / config.alpha
    if evidence.fail_e_value >= threshold:
        verdict, outcome = Verdict.FAIL, "worse than the margin"
    elif evidence.pass_e_value >= threshold:
        verdict, outcome = Verdict.PASS, "within the margin"
    else:
        verdict, outcome = Verdict.INCONCLUSIVE, "not yet decided"
    p95_low, p95_high = quantile_confidence_interval(candidate, REPORTED_QUANTILE, config.alpha)
    explanation = (
        f"p95 candidate {_ms(candidate_p95)} (bounds {_ms(p95_low)}-{_ms(p95_high)}) vs stable"
        f" {_ms(stable_p95)}; slower than {_ms(evidence.edge)}:"
        f" {format_number(100 * candidate.above[index] / candidate.total)}% vs"
        f" {format_number(100 * stable.above[index] / stable.total)}%, i.e. {_effect_text(effect, margin)}"
        f" (margin {_margin_text(margin)}): e-value {evidence.fail_e_value:.3g} for worse,"
        f" {evidence.pass_e_value:.3g} for within (threshold {threshold:.3g}), {outcome}."
    )
    return replace(
        base,
        verdict=verdict,
        effect=effect,
        interval=interval,
        e_value=evidence.fail_e_value,
        explanation=explanation,
    )
