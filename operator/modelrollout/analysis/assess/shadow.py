"""Assessing a shadow comparison: how often the candidate's classes agree with the stable's, and
how far its scores are from the stable's, each against a margin of its own.

Both are one-sample questions about the candidate's copies (the stable's answer is the reference
each copy is compared with), tested by the betting e-processes of :mod:`..sequential.bounded_mean`
both ways: Fail needs evidence that the candidate is worse than the margin, Pass evidence that it
is not, and in between the comparison keeps collecting. The `fixed` method reads the same
evidence once, at the last look. Too few comparisons (``minSamples``) is Inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from ...api.v1alpha1 import AnalysisMethod
from ..sequential.bounded_mean import above_log_evidence, mean_interval, within_log_evidence
from ..types import AssessConfig, MetricTest
from ._results import collecting, format_number, format_percent, inconclusive, sequential_result

__all__ = ["AGREEMENT_METHOD", "SCORE_DIFFERENCE_METHOD", "assess_agreement", "assess_score_difference"]

AGREEMENT_METHOD: Final = "betting e-process (disagreement rate)"
SCORE_DIFFERENCE_METHOD: Final = "betting e-process (mean |score difference|, by bucket)"
SCORE_BOUND: Final = 1.0
"""Scores between 0 and 1 differ by at most 1: the bound the Pass side bets against (the router's
difference histogram ends at 1, so a larger difference is seen, in its +Inf bucket)."""


def _decided(config: AssessConfig, base: MetricTest) -> MetricTest | None:
    """`base` while the fixed method waits for its one look (the evidence is read then)."""
    if config.method == AnalysisMethod.FIXED and not config.final:
        return inconclusive(
            base.method,
            "The fixed method decides at the last look (maxDuration): still collecting.",
            base.samples_stable,
            base.samples_candidate,
            base.stable,
            base.candidate,
        )
    return None


def assess_agreement(
    agreed: float, compared: float, min_agreement: float, config: AssessConfig
) -> MetricTest:
    """Non-inferiority of the share of compared requests whose classes agree: Pass once it is
    shown to be at least ``min_agreement``, Fail once shown below it."""
    if (
        not (math.isfinite(agreed) and math.isfinite(compared))
        or compared <= 0
        or not 0 <= agreed <= compared
    ):
        return inconclusive(AGREEMENT_METHOD, "No compared predictions yet: nothing to judge.")
    count = round(compared)
    agreement = agreed / compared
    base = collecting(AGREEMENT_METHOD, count, count, config.min_samples, None, agreement)
    if compared < config.min_samples:
        return base
    if (waiting := _decided(config, base)) is not None:
        return waiting
    disagreed = compared - agreed
    values, counts = (0.0, 1.0), (agreed, disagreed)
    allowed = 1.0 - min_agreement
    fail_log_e = above_log_evidence(values, counts, allowed)
    pass_log_e = within_log_evidence(values, counts, allowed, 1.0)
    low, high = mean_interval(values, values, counts, 1.0, config.alpha)
    comparison = (
        f"Agreement {format_percent(agreement)} of {count} compared requests"
        f" (at least {format_percent(min_agreement)} required): "
    )
    interval = (1.0 - high, 1.0 - low)
    return sequential_result(
        base, fail_log_e, pass_log_e, -math.log(config.alpha), agreement, interval, comparison
    )


def assess_score_difference(
    edges: Sequence[float],
    cumulative: Sequence[float],
    total: float | None,
    max_difference: float,
    config: AssessConfig,
) -> MetricTest:
    """The mean absolute score difference shown at most ``max_difference`` (Pass) or above it
    (Fail), from the histogram of differences: ``edges`` its `le` bounds in increasing order (the
    last ``inf``), ``cumulative`` its counts per edge, ``total`` its `_sum` (for the mean shown)."""
    count = cumulative[-1] if cumulative else 0.0
    if not cumulative or not math.isfinite(count) or count <= 0:
        return inconclusive(SCORE_DIFFERENCE_METHOD, "No compared scores yet: nothing to judge.")
    counts = [max(0.0, high - low) for low, high in zip((0.0, *cumulative[:-1]), cumulative, strict=True)]
    lower = [0.0, *edges[:-1]]
    upper = list(edges)
    mean = total / count if total is not None and math.isfinite(total) else None
    scores = round(count)
    base = collecting(SCORE_DIFFERENCE_METHOD, scores, scores, config.min_samples, None, mean)
    if count < config.min_samples:
        return base
    if (waiting := _decided(config, base)) is not None:
        return waiting
    fail_log_e = above_log_evidence(lower, counts, max_difference)
    pass_log_e = within_log_evidence(upper, counts, max_difference, SCORE_BOUND)
    interval = mean_interval(lower, upper, counts, SCORE_BOUND, config.alpha)
    beyond = counts[-1] > 0 and math.isinf(edges[-1])
    note = f"; {round(counts[-1])} above {format_number(SCORE_BOUND)}, so no Pass" if beyond else ""
    comparison = (
        f"Mean |score difference| {format_number(mean)} over {scores} scores"
        f" (at most {format_number(max_difference)} allowed{note}): "
    )
    return sequential_result(
        base, fail_log_e, pass_log_e, -math.log(config.alpha), mean, interval, comparison
    )
