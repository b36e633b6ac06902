"""Assessing an A/B test's goal: is the candidate better, by more than the minimum effect?

The guardrails ask the opposite question (is the candidate worse than a margin allows), so the
goal reuses their machinery mirrored. A rate (events per request, e.g. conversions) is tested on
the risk difference against the whole composite null ``p_c <= p_s + d`` with
:mod:`..sequential.risk_difference`, the side a guardrail calls "worse" now being "superior"; a
mean (sum over count) with the normal mixture on the difference of means
(:mod:`..sequential.mean_superiority`). Both are anytime-valid, so the operator may look every
interval and stop the test at the first crossing.

Verdicts: Pass when the candidate is shown superior (evidence past ``1/alpha``), Fail when it is
shown *not* superior (the mirrored side: the candidate's value is below the stable's plus the
minimum effect, with the same strength of evidence), Inconclusive otherwise. The effect is
candidate minus stable, in the goal's units, with a ``1 - alpha`` confidence sequence. Unlike a
guardrail's, the e-value carried is the evidence *for* the candidate, which the judge never puts
in the guardrails' Holm correction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from ...api.v1alpha1 import Verdict
from ..sequential import risk_difference_interval_and_evidence, risk_difference_segmented_final_log_evidence
from ..sequential.mean_superiority import (
    MIN_INTERVALS,
    mean_difference_interval,
    mean_superiority_evidence,
)
from ..types import AssessConfig, MetricTest, RateSample
from ._results import as_count, collecting, e_value_from_log, format_number, format_percent, inconclusive
from .rate import rate_sample_problem

__all__ = ["MEAN_METHOD", "RATE_METHOD", "MeanSample", "assess_goal_mean", "assess_goal_rate"]

FloatArray = npt.NDArray[np.float64]
RATE_METHOD: Final = "superiority mixture SPRT (risk difference, mirrored)"
MEAN_METHOD: Final = "superiority mixture SPRT (difference of means, batch variance)"


@dataclass(frozen=True)
class MeanSample:
    """Each version's sum and count of values per interval of the window, oldest first (not
    cumulative: the spread between intervals is what the variance is estimated from)."""

    stable_sums: Sequence[float]
    stable_counts: Sequence[float]
    candidate_sums: Sequence[float]
    candidate_counts: Sequence[float]


def _verdict(superior_log_e: float, not_superior_log_e: float, alpha: float) -> tuple[Verdict, str]:
    """Not superior is checked first: should both cross (wildly inconsistent data), no winner
    is the safe reading."""
    threshold = -math.log(alpha)
    if not_superior_log_e >= threshold:
        return Verdict.FAIL, "shown not superior"
    if superior_log_e >= threshold:
        return Verdict.PASS, "superior"
    return Verdict.INCONCLUSIVE, "not yet decided"


def _result(
    base: MetricTest,
    superior_log_e: float,
    not_superior_log_e: float,
    alpha: float,
    effect: float,
    interval: tuple[float, float] | None,
    comparison: str,
) -> MetricTest:
    verdict, outcome = _verdict(superior_log_e, not_superior_log_e, alpha)
    superior_e, not_superior_e = e_value_from_log(superior_log_e), e_value_from_log(not_superior_log_e)
    explanation = (
        f"{comparison}e-value {superior_e:.3g} for superior, {not_superior_e:.3g} for not superior"
        f" (threshold {1 / alpha:.3g}), {outcome}."
    )
    return replace(
        base, verdict=verdict, effect=effect, interval=interval, e_value=superior_e, explanation=explanation
    )


Path = tuple[FloatArray, FloatArray, FloatArray, FloatArray]


def _rate_path(sample: RateSample) -> Path:
    looks = [*sample.earlier, sample]

    def counts(field: str) -> FloatArray:
        return np.asarray([getattr(look, field) for look in looks], dtype=np.float64)

    return (
        counts("stable_events"),
        counts("stable_exposure"),
        counts("candidate_events"),
        counts("candidate_exposure"),
    )


def assess_goal_rate(sample: RateSample, min_effect: float, config: AssessConfig) -> MetricTest:
    """Superiority of the candidate's event rate (higher is better) by more than ``min_effect``
    (absolute, e.g. 0.005 for half a point), along the sample's path of looks."""
    samples_stable, samples_candidate = as_count(sample.stable_exposure), as_count(sample.candidate_exposure)
    problem = rate_sample_problem(sample, RATE_METHOD, "a rate goal counts at most one event per request")
    if problem is not None:
        return problem
    stable_rate = sample.stable_events / sample.stable_exposure
    candidate_rate = sample.candidate_events / sample.candidate_exposure
    base = collecting(
        RATE_METHOD, samples_stable, samples_candidate, config.min_samples, stable_rate, candidate_rate
    )
    if sample.candidate_exposure < config.min_samples:
        return base
    path = _rate_path(sample)
    interval: tuple[float, float] | None
    if sample.segment_starts:
        superior, not_superior = risk_difference_segmented_final_log_evidence(
            *path, min_effect, tuple(sample.segment_starts)
        )
        interval = None
    else:
        low, high, superior_e, not_superior_e = risk_difference_interval_and_evidence(
            *path, config.alpha, min_effect
        )
        superior, not_superior, interval = float(superior_e), float(not_superior_e), (float(low), float(high))
    effect = candidate_rate - stable_rate
    comparison = (
        f"Candidate {format_percent(candidate_rate)} vs stable {format_percent(stable_rate)}"
        f" ({100 * effect:+.3g} pp, to win above +{100 * min_effect:.3g} pp): "
    )
    return _result(base, float(superior), float(not_superior), config.alpha, effect, interval, comparison)


def assess_goal_mean(sample: MeanSample, min_effect: float, config: AssessConfig) -> MetricTest:
    """Superiority of the candidate's mean (higher is better) by more than ``min_effect``, in the
    goal's units. The samples are the versions' counts of values."""
    arrays: Path = (
        np.asarray(sample.stable_sums, dtype=np.float64),
        np.asarray(sample.stable_counts, dtype=np.float64),
        np.asarray(sample.candidate_sums, dtype=np.float64),
        np.asarray(sample.candidate_counts, dtype=np.float64),
    )
    usable = all(array.size > 0 and bool(np.isfinite(array).all()) for array in arrays)
    samples_stable = as_count(float(arrays[1].sum())) if usable else 0
    samples_candidate = as_count(float(arrays[3].sum())) if usable else 0
    if not usable or min(float(array.min()) for array in (arrays[1], arrays[3])) < 0:
        return inconclusive(
            MEAN_METHOD, "No usable data (missing or NaN values).", samples_stable, samples_candidate
        )
    if samples_stable <= 0 or samples_candidate <= 0:
        return inconclusive(
            MEAN_METHOD,
            "One version has no values yet: nothing to compare.",
            samples_stable,
            samples_candidate,
        )
    stable_mean = float(arrays[0].sum() / arrays[1].sum())
    candidate_mean = float(arrays[2].sum() / arrays[3].sum())
    base = collecting(
        MEAN_METHOD, samples_stable, samples_candidate, config.min_samples, stable_mean, candidate_mean
    )
    if samples_candidate < config.min_samples:
        return base
    evidence = mean_superiority_evidence(*arrays, min_effect)
    if not bool(evidence.counted[-1]):
        filled = min(int((arrays[1] > 0).sum()), int((arrays[3] > 0).sum()))
        return replace(
            base,
            explanation=(
                f"{filled} intervals with values of both versions, fewer than {MIN_INTERVALS}: the spread"
                " of a value is estimated from the intervals, still collecting."
            ),
        )
    interval = mean_difference_interval(evidence, config.alpha)
    effect = candidate_mean - stable_mean
    comparison = (
        f"Candidate mean {format_number(candidate_mean)} vs stable {format_number(stable_mean)}"
        f" ({effect:+.3g}, to win above +{min_effect:.3g}): "
    )
    return _result(
        base,
        float(evidence.superior[-1]),
        float(evidence.not_superior[-1]),
        config.alpha,
        effect,
        interval,
        comparison,
    )
