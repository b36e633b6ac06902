"""Rates per request (errors, slow requests, log error patterns): non-inferiority tests.

The hypothesis is always about how much worse the candidate may be (the `Margin`):
Fail needs evidence that the candidate is worse than the margin allows, Pass needs evidence that
it is not, anything in between keeps collecting. A relative margin is a bound on the rate ratio,
which the conditional binomial of :mod:`.evidence` tests exactly. An absolute margin
``p_c <= p_s + d`` is a ratio bound ``1 + d / p_s`` that depends on the stable's unknown rate; we
take the least favourable ratio over a confidence sequence for the stable's rate (a small share
of alpha pays for it) and add a one-sample test of the candidate for when the stable has seen
too few events to bound the ratio, so the test stays valid whatever that rate is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from ..api.v1alpha1 import FIXED_TESTS, AnalysisMethod, FixedTest, MetricType, Verdict
from ._common import as_count, collecting, format_percent, inconclusive, is_usable, sequential_result
from .evidence import (
    binomial_confidence_sequence,
    conditional_log_evidence,
    null_share,
    rate_ratio_confidence_sequence,
)
from .fixed import chi_square, g_test, two_proportion_z
from .fixed_decisions import decision_moment, effect_gated_verdict, one_sided_verdict
from .types import Margin, MetricTest, RateSample, TestConfig

__all__ = ["NUISANCE_ALPHA_SHARE", "RateEvidence", "rate_log_evidence", "test_rate"]

SEQUENTIAL_METHOD: Final = "mixture SPRT (conditional binomial)"
FIXED_METHODS: Final = {
    FixedTest.TWO_PROPORTION_Z: "two-proportion z",
    FixedTest.CHI_SQUARE: "chi-square (2x2, gated by the margin)",
    FixedTest.G_TEST: "G-test (2x2, gated by the margin)",
}
"""The classical tests that fit rates; the two-proportion z-test is the default."""
FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike
Direction = Literal["greater", "less"]
NUISANCE_ALPHA_SHARE: Final = 0.2
"""Share of alpha spent on the stable rate's confidence sequence when the margin is absolute."""
NUISANCE_GRID_POINTS: Final = 8
"""Stable rates cutting the confidence band into cells. Each part of the evidence is bounded at its
own worst end of every cell, so the bound is valid with any number of points; more points only
bring it closer to the true minimum (two, the band's ends alone, lose most of the power at 1 rps)."""
CONDITIONAL_WEIGHT: Final = 0.8
"""Weight of the conditional-binomial e-value (against the one-sample one), absolute margins."""


@dataclass(frozen=True)
class RateEvidence:
    """Both one-sided log e-values (arrays shaped like the counts) and the common threshold."""

    fail_log_e: FloatArray
    """Log evidence that the candidate is worse than the margin allows."""
    pass_log_e: FloatArray
    """Log evidence that it is within the margin."""
    log_threshold: float
    """Either side decides once its log e-value reaches this (``log 1/alpha``, less the share of
    alpha spent on the stable's rate when the margin is absolute)."""


def _stable_rate_grid(low: FloatArray, high: FloatArray) -> FloatArray:
    """Points spanning the stable rate's confidence band, ends included, shape (G, ...).

    Geometric spacing, since the parts change fastest at small rates; a band reaching down to 0
    starts at 0 and continues from a thousandth of its top.
    """
    steps = np.linspace(0.0, 1.0, NUISANCE_GRID_POINTS).reshape((-1,) + (1,) * low.ndim)
    bottom = np.where(low > 0, low, high * 1e-3)
    with np.errstate(divide="ignore", invalid="ignore"):
        grid = bottom * (high / bottom) ** steps
    grid = np.where(np.isfinite(grid), grid, high)
    grid[0] = low
    return np.asarray(grid, dtype=np.float64)


def _conditional_at(
    x_s: FloatArray,
    n_s: FloatArray,
    x_c: FloatArray,
    n_c: FloatArray,
    stable_rate: FloatArray,
    allowed: float,
    direction: Direction,
) -> FloatArray:
    """The conditional-binomial log e-value if the stable's rate were ``stable_rate``.

    Its priors are the fixed concentrations (``MIXTURE_CONCENTRATIONS`` of :mod:`.evidence`), not
    ones tuned to the margin's width: that width is itself a function of ``p_s``, and priors that
    move with ``p_s`` make the e-value rise and fall across the band (by up to about one in log
    e-value on random counts), so its ends no longer bound it. With fixed priors only the null
    share moves, and the e-value is monotone in ``p_s`` (see :func:`_absolute_evidence`).

    A stable rate of zero makes the ratio bound infinite: nothing the counts show can beat it, so
    the lower bound there is an e-value of zero (``-inf``), not the neutral one the degenerate
    share would give. A share within rounding of 1 can make the beta functions overflow to NaN;
    that too counts as no evidence.
    """
    with np.errstate(divide="ignore"):
        ratio = np.where(stable_rate > 0, 1 + allowed / stable_rate, np.inf)
    log_e = conditional_log_evidence(x_c, x_s + x_c, null_share(ratio, n_c, n_s), direction)
    usable = (stable_rate > 0) & ~np.isnan(log_e)
    return np.asarray(np.where(usable, log_e, -np.inf), dtype=np.float64)


def _own_at(x_c: FloatArray, n_c: FloatArray, bound: FloatArray, direction: Direction) -> FloatArray:
    """The one-sample log e-value of the candidate's rate against ``bound``; ``-inf`` past 1.

    A bound at or past a rate of 1 leaves no room on the alternative side, so its lower bound is
    an e-value of zero, as for the conditional part at a stable rate of zero. Its priors are the
    fixed concentrations too: the margin-tuned ones change shape with the bound, which breaks
    the monotonicity in ``p_s`` at small counts.
    """
    log_e = conditional_log_evidence(x_c, n_c, bound, direction)
    return np.asarray(np.where((bound < 1) & ~np.isnan(log_e), log_e, -np.inf), dtype=np.float64)


def _absolute_evidence(
    x_s: FloatArray, n_s: FloatArray, x_c: FloatArray, n_c: FloatArray, allowed: float, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """Both log e-values for ``p_c <= p_s + allowed``, valid whatever the stable's rate ``p_s``.

    For a known ``p_s`` two e-values are valid at once, and so is their fixed-weight average:

    * the conditional binomial at the ratio ``1 + allowed / p_s``;
    * a one-sample test of the candidate's own rate against ``p_s + allowed``, which still works
      when the stable has seen no events yet and the ratio bound is infinite.

    ``p_s`` is unknown, so we need a lower bound of the average over the stable rate's confidence
    sequence ``[low, high]``: on the event that it covers ``p_s`` (it fails with probability
    ``NUISANCE_ALPHA_SHARE * alpha``) such a bound is at most the valid e-value at the true rate.
    The two parts move in opposite directions as ``p_s`` grows, so the minimum of the average can
    lie anywhere inside the band and no grid of points bounds it by itself. Each part alone is
    monotone in ``p_s`` (a larger ``p_s`` lowers the ratio bound and raises the candidate's own
    bound), so over a cell ``[p_i, p_i+1]`` of a grid each part is at least its value at its own
    worst end of the cell, and the smallest such pairing over the cells bounds the whole band:

    ============  ======================  =======================
    evidence      conditional part        one-sample part
    ============  ======================  =======================
    Fail          worst at ``p_i``        worst at ``p_i+1``
    Pass          worst at ``p_i+1``      worst at ``p_i``
    ============  ======================  =======================

    The monotonicity is checked, not proved: on a dense grid over random counts and margins
    (``test_analysis_rate_bound.py``) no rate inside the band gives less wherever the bound shows
    evidence; below an e-value of about 1 the incomplete beta wobbles by a few thousandths in log.
    The weights favour the conditional test, the sharper one once the stable's rate is known to
    well within the margin.
    """
    low, high = binomial_confidence_sequence(x_s, n_s, alpha * NUISANCE_ALPHA_SHARE)
    stable_rates = _stable_rate_grid(low, high)
    weight, rest = math.log(CONDITIONAL_WEIGHT), math.log1p(-CONDITIONAL_WEIGHT)
    fail_conditional = _conditional_at(x_s, n_s, x_c, n_c, stable_rates, allowed, "greater")
    fail_own = _own_at(x_c, n_c, stable_rates + allowed, "greater")
    within_conditional = _conditional_at(x_s, n_s, x_c, n_c, stable_rates, allowed, "less")
    within_own = _own_at(x_c, n_c, stable_rates + allowed, "less")
    fail = np.min(np.logaddexp(weight + fail_conditional[:-1], rest + fail_own[1:]), axis=0)
    within = np.min(np.logaddexp(weight + within_conditional[1:], rest + within_own[:-1]), axis=0)
    return np.asarray(fail, dtype=np.float64), np.asarray(within, dtype=np.float64)


def rate_log_evidence(
    stable_events: ArrayLike,
    stable_exposure: ArrayLike,
    candidate_events: ArrayLike,
    candidate_exposure: ArrayLike,
    margin: Margin,
    alpha: float,
) -> RateEvidence:
    """The sequential evidence both ways at cumulative counts, for many looks or runs at once."""
    x_s, n_s, x_c, n_c = (
        np.asarray(v, dtype=np.float64)
        for v in np.broadcast_arrays(stable_events, stable_exposure, candidate_events, candidate_exposure)
    )
    if margin.absolute is not None:
        fail, within = _absolute_evidence(x_s, n_s, x_c, n_c, margin.absolute, alpha)
        return RateEvidence(fail, within, float(-np.log(alpha * (1 - NUISANCE_ALPHA_SHARE))))
    share = null_share(1 + (margin.relative or 0.0), n_c, n_s)
    width = np.abs(share - null_share(1.0, n_c, n_s))
    total = x_s + x_c
    return RateEvidence(
        fail_log_e=conditional_log_evidence(x_c, total, share, "greater", width),
        pass_log_e=conditional_log_evidence(x_c, total, share, "less", width),
        log_threshold=float(-np.log(alpha)),
    )


def _effect(sample: RateSample, margin: Margin, alpha: float) -> tuple[float, tuple[float, float]]:
    """Effect on the margin's own scale, with a confidence sequence for it."""
    stable_rate = sample.stable_events / sample.stable_exposure
    candidate_rate = sample.candidate_events / sample.candidate_exposure
    if margin.absolute is not None:
        stable_low, stable_high = binomial_confidence_sequence(
            sample.stable_events, sample.stable_exposure, alpha / 2
        )
        candidate_low, candidate_high = binomial_confidence_sequence(
            sample.candidate_events, sample.candidate_exposure, alpha / 2
        )
        interval = (float(candidate_low - stable_high), float(candidate_high - stable_low))
        return candidate_rate - stable_rate, interval
    low, high = rate_ratio_confidence_sequence(
        sample.candidate_events,
        sample.stable_events,
        sample.candidate_exposure,
        sample.stable_exposure,
        alpha,
    )
    effect = candidate_rate / stable_rate - 1 if stable_rate > 0 else math.inf
    if candidate_rate == 0 and stable_rate == 0:
        effect = 0.0
    return effect, (float(low) - 1, float(high) - 1)


def _margin_text(margin: Margin) -> str:
    if margin.absolute is not None:
        return f"+{100 * margin.absolute:.3g} pp"
    return f"+{100 * (margin.relative or 0.0):.3g}%"


def _effect_text(effect: float, margin: Margin) -> str:
    if margin.absolute is not None:
        return f"{100 * effect:+.3g} pp"
    return "n/a" if math.isinf(effect) else f"{100 * effect:+.3g}%"


def _chosen_test(config: TestConfig) -> FixedTest:
    """The test ``fixedTest`` names, or the type's default (first in ``FIXED_TESTS``)."""
    return config.fixed_test or FIXED_TESTS[MetricType.ERROR_RATE][0]


def _fixed(sample: RateSample, margin: Margin, config: TestConfig, base: MetricTest) -> MetricTest:
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
    sample: RateSample, margin: Margin, config: TestConfig, chosen: FixedTest
) -> tuple[Verdict, float, float, str]:
    """Chi-square or G on the 2x2 table of events and non-events: verdict, effect, p, a reading.

    Both tests are two-sided and know no margin, so the margin gates the observed effect (see
    :func:`.fixed_decisions.effect_gated_verdict` for what that guarantees and what not); the
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


def test_rate(sample: RateSample, margin: Margin, config: TestConfig) -> MetricTest:
    """Non-inferiority of the candidate's event rate (events per request) against the stable's.

    Sequential: a mixture SPRT on the conditional binomial, valid at every look at the
    cumulative counts. Fixed: the test ``config.fixed_test`` names (a two-proportion z-test by
    default, or chi-square or G on the 2x2 table), decided only at ``config.final``.
    """
    method = SEQUENTIAL_METHOD
    if config.method == AnalysisMethod.FIXED:
        method = FIXED_METHODS.get(_chosen_test(config), str(config.fixed_test))
    counts = (
        sample.stable_events,
        sample.stable_exposure,
        sample.candidate_events,
        sample.candidate_exposure,
    )
    samples_stable = as_count(sample.stable_exposure)
    samples_candidate = as_count(sample.candidate_exposure)
    if not is_usable(*counts) or min(counts) < 0:
        return inconclusive(
            method,
            "No usable data (missing or NaN counts): not enough evidence either way.",
            samples_stable,
            samples_candidate,
        )
    if sample.stable_exposure <= 0 or sample.candidate_exposure <= 0:
        return inconclusive(
            method,
            "One version has served no requests yet: nothing to compare.",
            samples_stable,
            samples_candidate,
        )
    if sample.stable_events > sample.stable_exposure or sample.candidate_events > sample.candidate_exposure:
        return inconclusive(
            method,
            "More events than requests: the event and request queries do not match.",
            samples_stable,
            samples_candidate,
        )
    stable_rate = sample.stable_events / sample.stable_exposure
    candidate_rate = sample.candidate_events / sample.candidate_exposure
    base = collecting(
        method, samples_stable, samples_candidate, config.min_samples, stable_rate, candidate_rate
    )
    if sample.candidate_exposure < config.min_samples:
        return base
    if config.method == AnalysisMethod.FIXED:
        return _fixed(sample, margin, config, base)
    evidence = rate_log_evidence(
        sample.stable_events,
        sample.stable_exposure,
        sample.candidate_events,
        sample.candidate_exposure,
        margin,
        config.alpha,
    )
    effect, interval = _effect(sample, margin, config.alpha)
    comparison = (
        f"Candidate {format_percent(candidate_rate)} vs stable {format_percent(stable_rate)}"
        f" ({_effect_text(effect, margin)}, margin {_margin_text(margin)}): "
    )
    return sequential_result(
        base, evidence.fail_log_e, evidence.pass_log_e, evidence.log_threshold, effect, interval, comparison
    )
