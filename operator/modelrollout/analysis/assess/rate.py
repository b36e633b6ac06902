"""Assessing a rate per request (errors, slow requests, log error patterns): non-inferiority.

The hypothesis is always about how much worse the candidate may be (the `Margin`):
Fail needs evidence that the candidate is worse than the margin allows, Pass needs evidence that
it is not, anything in between keeps collecting. A relative margin is a bound on the rate ratio,
which the conditional binomial of :mod:`..sequential.rate_ratio` tests exactly. An absolute margin
``p_c <= p_s + d`` depends on the stable's unknown rate: :mod:`..sequential.risk_difference` tests
both sides of it against the whole composite null (likelihood ratios against the least favourable
pair on the margin, averaged over alternatives), so no share of alpha goes to bounding that rate.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Final

import numpy as np
import numpy.typing as npt

from ...api.v1alpha1 import FIXED_TESTS, AnalysisMethod, FixedTest, MetricType, Verdict
from ..fixed import (
    chi_square,
    decision_moment,
    effect_gated_verdict,
    g_test,
    one_sided_verdict,
    two_proportion_z,
)
from ..sequential import (
    last_look_path,
    rate_log_evidence,
    rate_ratio_confidence_sequence,
    risk_difference_final_log_evidence,
    risk_difference_interval_and_evidence,
    risk_difference_segmented_final_log_evidence,
)
from ..types import AssessConfig, Margin, MetricTest, RateSample
from ._results import (
    SEGMENTED_NOTE,
    as_count,
    collecting,
    format_percent,
    inconclusive,
    is_usable,
    sequential_result,
    short_of_fail,
)

__all__ = ["assess_rate"]

SEQUENTIAL_METHOD: Final = "mixture SPRT (conditional binomial)"
ABSOLUTE_SEQUENTIAL_METHOD: Final = "mixture SPRT (risk difference against the least favourable pair)"
"""The method for an absolute margin (see :mod:`..sequential.risk_difference`)."""
FIXED_METHODS: Final = {
    FixedTest.TWO_PROPORTION_Z: "two-proportion z",
    FixedTest.CHI_SQUARE: "chi-square (2x2, gated by the margin)",
    FixedTest.G_TEST: "G-test (2x2, gated by the margin)",
}
"""The classical tests that fit rates; the two-proportion z-test is the default."""
FloatArray = npt.NDArray[np.float64]


Path = tuple[FloatArray, FloatArray, FloatArray, FloatArray]


def _path(sample: RateSample) -> Path:
    """The four cumulative counts at each look, oldest first, ending with ``sample`` itself.

    Earlier looks with unusable or inconsistent counts are left out: a path over fewer looks is
    still a path the operator could have taken (as if it had looked less often).
    """
    looks = [look for look in sample.earlier if _consistent(look)] + [sample]
    return (
        np.asarray([look.stable_events for look in looks], dtype=np.float64),
        np.asarray([look.stable_exposure for look in looks], dtype=np.float64),
        np.asarray([look.candidate_events for look in looks], dtype=np.float64),
        np.asarray([look.candidate_exposure for look in looks], dtype=np.float64),
    )


def _segmented_evidence(
    sample: RateSample, margin: Margin, alpha: float, pass_side: bool = True
) -> tuple[float, float]:
    """Both log e-values at the last look with each segment of the path at its own split.

    Inconsistent earlier looks are left out as in :func:`_path`; a segment start then moves to the
    first look kept at or after it. Only the looks the last value depends on are evaluated
    (:func:`..sequential.segments.last_look_path`), which keeps a long path within the CPU budget."""
    looks = [*sample.earlier, sample]
    kept = [index for index, look in enumerate(looks[:-1]) if _consistent(look)] + [len(looks) - 1]
    starts = tuple(
        sorted(
            {
                next(i for i, k in enumerate(kept) if k >= s)
                for s in sample.segment_starts
                if 0 < s < len(looks)
            }
        )
    )
    path = _path(sample)
    if margin.absolute is not None:
        return risk_difference_segmented_final_log_evidence(*path, margin.absolute, starts, pass_side)
    needed, reduced = last_look_path(path[0].size, starts)
    x_s, n_s, x_c, n_c = (v[needed] for v in path)
    evidence = rate_log_evidence(x_s, n_s, x_c, n_c, margin, alpha, reduced)
    return float(evidence.fail_log_e[-1]), float(evidence.pass_log_e[-1])


def _fail_evidence(sample: RateSample, margin: Margin, alpha: float) -> float:
    """The Fail side's log e-value alone, as the whole result computes it (``fail_only``)."""
    if sample.segment_starts:
        return _segmented_evidence(sample, margin, alpha, pass_side=False)[0]
    if margin.absolute is not None:
        return float(risk_difference_final_log_evidence(*_path(sample), margin.absolute, "greater"))
    return _final_evidence(sample, margin, alpha)[0]


def _consistent(look: RateSample) -> bool:
    counts = (look.stable_events, look.stable_exposure, look.candidate_events, look.candidate_exposure)
    return (
        is_usable(*counts)
        and min(counts) >= 0
        and look.stable_events <= look.stable_exposure
        and look.candidate_events <= look.candidate_exposure
    )


def _final_evidence(sample: RateSample, margin: Margin, alpha: float) -> tuple[float, float]:
    """Both log e-values at the sample's own look, for a relative margin (an absolute one gets
    them with its interval, :func:`_absolute`)."""
    counts = (
        sample.stable_events,
        sample.stable_exposure,
        sample.candidate_events,
        sample.candidate_exposure,
    )
    evidence = rate_log_evidence(*counts, margin, alpha)
    return float(evidence.fail_log_e), float(evidence.pass_log_e)


def _absolute(
    sample: RateSample, margin: float, alpha: float
) -> tuple[float, float, float, tuple[float, float]]:
    """An absolute margin's log e-values both ways, effect and interval, along the sample's path
    of looks (the likelihood-ratio grid is needed at two looks of it, not all); the e-values come
    from the interval's first call of the evidence."""
    low, high, fail, within = risk_difference_interval_and_evidence(*_path(sample), alpha, margin)
    stable_rate = sample.stable_events / sample.stable_exposure
    effect = sample.candidate_events / sample.candidate_exposure - stable_rate
    return float(fail), float(within), effect, (float(low), float(high))


def _effect(sample: RateSample, margin: Margin, alpha: float) -> tuple[float, tuple[float, float]]:
    """A relative margin's effect, the rate ratio less one, with a confidence sequence for it."""
    low, high = rate_ratio_confidence_sequence(
        sample.candidate_events,
        sample.stable_events,
        sample.candidate_exposure,
        sample.stable_exposure,
        alpha,
    )
    return _observed_effect(sample, margin), (float(low) - 1, float(high) - 1)


def _observed_effect(sample: RateSample, margin: Margin) -> float:
    """The observed effect on the margin's scale: the difference of rates, or their ratio less one."""
    stable_rate = sample.stable_events / sample.stable_exposure
    candidate_rate = sample.candidate_events / sample.candidate_exposure
    if margin.absolute is not None:
        return candidate_rate - stable_rate
    if candidate_rate == 0 and stable_rate == 0:
        return 0.0
    return candidate_rate / stable_rate - 1 if stable_rate > 0 else math.inf


def _margin_text(margin: Margin) -> str:
    if margin.absolute is not None:
        return f"+{100 * margin.absolute:.3g} pp"
    return f"+{100 * (margin.relative or 0.0):.3g}%"


def _effect_text(effect: float, margin: Margin) -> str:
    if margin.absolute is not None:
        return f"{100 * effect:+.3g} pp"
    return "n/a" if math.isinf(effect) else f"{100 * effect:+.3g}%"


def _chosen_test(config: AssessConfig) -> FixedTest:
    """The test ``fixedTest`` names, or the type's default (first in ``FIXED_TESTS``)."""
    return config.fixed_test or FIXED_TESTS[MetricType.ERROR_RATE][0]


def _fixed(sample: RateSample, margin: Margin, config: AssessConfig, base: MetricTest) -> MetricTest:
    """The classical test ``fixedTest`` names, decided at the final look.

    The interval is the z-test's (on the margin's scale) whichever test decides.
    """
    chosen = _chosen_test(config)
    if chosen not in FIXED_METHODS:
        return replace(
            base, explanation=f"fixedTest {chosen} does not fit a rate metric: nothing was tested."
        )
    relative = margin.relative if margin.absolute is None else None
    absolute = margin.absolute if margin.absolute is not None else (0.0 if relative is None else None)
    counts = (
        sample.candidate_events,
        sample.candidate_exposure,
        sample.stable_events,
        sample.stable_exposure,
    )
    worse = two_proportion_z(*counts, margin=absolute, relative_margin=relative, alternative="greater")
    within = two_proportion_z(*counts, margin=absolute, relative_margin=relative, alternative="less")
    verdict = one_sided_verdict(worse.pvalue, within.pvalue, config)
    effect, p_value = worse.effect, worse.pvalue
    reading = f"two-proportion z p = {worse.pvalue:.3g} for worse, {within.pvalue:.3g} for within"
    if chosen != FixedTest.TWO_PROPORTION_Z:
        verdict, effect, p_value, reading = _homogeneity(sample, margin, config, chosen)
    explanation = (
        f"Candidate {format_percent(base.candidate)} vs stable {format_percent(base.stable)}"
        f" ({_effect_text(effect, margin)}, margin {_margin_text(margin)}): {reading} ({decision_moment(config)})."
    )
    return replace(
        base,
        verdict=verdict,
        method=FIXED_METHODS[chosen],
        effect=effect,
        interval=worse.interval,
        p_value=p_value,
        explanation=explanation,
    )


def _homogeneity(
    sample: RateSample, margin: Margin, config: AssessConfig, chosen: FixedTest
) -> tuple[Verdict, float, float, str]:
    """Chi-square or G on the 2x2 table of events and non-events: verdict, effect, p, a reading.

    Both tests are two-sided and know no margin, so the margin gates the observed effect (see
    :func:`..fixed.non_inferiority.effect_gated_verdict` for what that guarantees and what not); the
    effect is the plain observed one, on the margin's scale.
    """
    table = [
        [sample.candidate_events, sample.candidate_exposure - sample.candidate_events],
        [sample.stable_events, sample.stable_exposure - sample.stable_events],
    ]
    result = chi_square(table) if chosen == FixedTest.CHI_SQUARE else g_test(table)
    candidate_rate = sample.candidate_events / sample.candidate_exposure
    stable_rate = sample.stable_events / sample.stable_exposure
    if margin.absolute is None and margin.relative is not None:
        beyond = candidate_rate > stable_rate * (1 + margin.relative)
        effect = candidate_rate / stable_rate - 1 if stable_rate > 0 else (math.inf if beyond else 0.0)
    else:
        effect = candidate_rate - stable_rate
        beyond = effect > (margin.absolute or 0.0)
    significant = result.pvalue <= config.alpha
    reading = (
        f"{result.method} p = {result.pvalue:.3g} (two-sided, no margin): "
        + ("the rates differ" if significant else "no significant difference")
        + (" and the candidate is worse than the margin" if beyond else ", within the margin")
    )
    return effect_gated_verdict(result.pvalue, beyond, config), effect, result.pvalue, reading


def rate_sample_problem(sample: RateSample, method: str, too_many_events: str) -> MetricTest | None:
    """Why two counts cannot be compared yet, as an Inconclusive result (None: they can): a count
    missing, NaN or negative, a version that has served no requests, or more events than requests
    (`too_many_events` says what that means for the caller's metric)."""
    counts = (
        sample.stable_events,
        sample.stable_exposure,
        sample.candidate_events,
        sample.candidate_exposure,
    )
    samples_stable, samples_candidate = as_count(sample.stable_exposure), as_count(sample.candidate_exposure)
    if not is_usable(*counts) or min(counts) < 0:
        why = "No usable data (missing or NaN counts): not enough evidence either way."
    elif sample.stable_exposure <= 0 or sample.candidate_exposure <= 0:
        why = "One version has served no requests yet: nothing to compare."
    elif sample.stable_events > sample.stable_exposure or sample.candidate_events > sample.candidate_exposure:
        why = f"More events than requests: {too_many_events}."
    else:
        return None
    return inconclusive(method, why, samples_stable, samples_candidate)


def assess_rate(sample: RateSample, margin: Margin, config: AssessConfig) -> MetricTest:
    """Non-inferiority of the candidate's event rate (events per request) against the stable's.

    Sequential: a mixture SPRT on the conditional binomial (on the risk difference for an absolute
    margin, along ``sample.earlier``), valid at every look. Fixed: the test ``config.fixed_test``
    names (a two-proportion z-test by default, or chi-square or G on the 2x2 table), decided only
    at ``config.final``.
    """
    method = SEQUENTIAL_METHOD if margin.absolute is None else ABSOLUTE_SEQUENTIAL_METHOD
    if config.method == AnalysisMethod.FIXED:
        method = FIXED_METHODS.get(_chosen_test(config), str(config.fixed_test))
    samples_stable = as_count(sample.stable_exposure)
    samples_candidate = as_count(sample.candidate_exposure)
    problem = rate_sample_problem(sample, method, "the event and request queries do not match")
    if problem is not None:
        return problem
    stable_rate = sample.stable_events / sample.stable_exposure
    candidate_rate = sample.candidate_events / sample.candidate_exposure
    base = collecting(
        method, samples_stable, samples_candidate, config.min_samples, stable_rate, candidate_rate
    )
    if sample.candidate_exposure < config.min_samples:
        return base
    if config.method == AnalysisMethod.FIXED:
        return _fixed(sample, margin, config, base)
    interval: tuple[float, float] | None
    note = ""
    if config.fail_only:
        held = short_of_fail(base, _fail_evidence(sample, margin, config.alpha), -math.log(config.alpha))
        if held is not None:
            return held
    if sample.segment_starts:
        # Evidence carried across steps decides with every segment at its own split. No interval:
        # the one-split inversion of the window is not what the verdict rests on, and inverting
        # the segmented evidence is a search over it every tick (docs/statistics.md).
        fail_log_e, pass_log_e = _segmented_evidence(sample, margin, config.alpha)
        effect, interval, note = _observed_effect(sample, margin), None, SEGMENTED_NOTE
    elif margin.absolute is not None:
        fail_log_e, pass_log_e, effect, interval = _absolute(sample, margin.absolute, config.alpha)
    else:
        fail_log_e, pass_log_e = _final_evidence(sample, margin, config.alpha)
        effect, interval = _effect(sample, margin, config.alpha)
    comparison = (
        f"Candidate {format_percent(candidate_rate)} vs stable {format_percent(stable_rate)}"
        f" ({_effect_text(effect, margin)}, margin {_margin_text(margin)}{note}): "
    )
    return sequential_result(
        base, fail_log_e, pass_log_e, -math.log(config.alpha), effect, interval, comparison
    )
