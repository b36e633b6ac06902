"""Fixed-horizon tests for one decision at the end of the analysis window.

They are valid only when looked at once: repeating them every interval (as Flagger's and Argo's
thresholds, or Kayenta's judge, effectively do) inflates false rollbacks far past alpha; the
benchmark measures by how much. Inputs are weighted values so binned histogram data (bucket
representatives with their counts) is tested without expanding it into individual requests.

Every result is a small named object in the spirit of scipy's ``TtestResult``: statistic,
p-value, effect and its confidence interval.

References
----------
Welch, B. L. (1947). The generalization of Student's problem when several different population
variances are involved. Biometrika 34.
Mann, Whitney (1947); tie correction as in Lehmann (1975), Nonparametrics.
Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size.
Holm, S. (1979). A simple sequentially rejective multiple test procedure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "Alternative",
    "EffectSize",
    "FixedTestResult",
    "chi_square",
    "cohens_d",
    "g_test",
    "hedges_g",
    "holm",
    "mann_whitney_u",
    "relative_change",
    "two_proportion_z",
    "welch_t",
]

Alternative = Literal["two-sided", "greater", "less"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FixedTestResult:
    """Outcome of one classical test. ``effect`` is on the scale the test names."""

    method: str
    statistic: float
    pvalue: float
    effect: float
    interval: tuple[float, float] | None
    """Confidence interval of ``effect`` at the requested level (None where undefined)."""
    df: float | None = None

    def confidence_interval(self) -> tuple[float, float] | None:
        return self.interval


@dataclass(frozen=True)
class EffectSize:
    """A standardised effect with an approximate confidence interval."""

    value: float
    interval: tuple[float, float]


def _as_weighted(
    values: Sequence[float] | FloatArray, weights: Sequence[float] | FloatArray | None
) -> tuple[FloatArray, FloatArray]:
    data = np.asarray(values, dtype=np.float64)
    counts = np.ones_like(data) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = counts > 0
    return data[keep], counts[keep]


def _moments(values: FloatArray, weights: FloatArray) -> tuple[float, float, float]:
    """Count, mean and unbiased variance of weighted (frequency) data."""
    n = float(weights.sum())
    if n <= 0:
        return 0.0, math.nan, math.nan
    mean = float(np.dot(weights, values) / n)
    variance = float(np.dot(weights, (values - mean) ** 2) / (n - 1)) if n > 1 else math.nan
    return n, mean, variance


@dataclass(frozen=True)
class StudentT:
    """Student's t with `df` degrees of freedom, through scipy's unfrozen functions: freezing
    (`stats.t(df)`) renders the distribution's docstring on every call, about 0.9 ms, which made
    the freeze most of a fixed test's cost per rollout per tick. Same numbers either way."""

    df: float

    def sf(self, x: float) -> float:
        return float(stats.t.sf(x, self.df))

    def cdf(self, x: float) -> float:
        return float(stats.t.cdf(x, self.df))

    def ppf(self, q: float) -> float:
        return float(stats.t.ppf(q, self.df))


def _p_value(distribution: StudentT, statistic: float, alternative: Alternative) -> float:
    if alternative == "greater":
        return float(distribution.sf(statistic))
    if alternative == "less":
        return float(distribution.cdf(statistic))
    return float(min(1.0, 2 * distribution.sf(abs(statistic))))


def welch_t(
    candidate: Sequence[float] | FloatArray,
    stable: Sequence[float] | FloatArray,
    candidate_weights: Sequence[float] | FloatArray | None = None,
    stable_weights: Sequence[float] | FloatArray | None = None,
    margin: float = 0.0,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> FixedTestResult:
    """Welch's t-test of ``mean(candidate) - mean(stable) - margin``.

    With ``margin`` and ``alternative="greater"`` it tests "the candidate is worse than the
    margin" (a non-inferiority Fail). The interval is for the plain difference of means and,
    as scipy's, one-sided for a one-sided alternative.
    """
    n_c, mean_c, var_c = _moments(*_as_weighted(candidate, candidate_weights))
    n_s, mean_s, var_s = _moments(*_as_weighted(stable, stable_weights))
    difference = mean_c - mean_s
    se_c, se_s = var_c / n_c, var_s / n_s
    standard_error = math.sqrt(se_c + se_s)
    df = (se_c + se_s) ** 2 / (se_c**2 / (n_c - 1) + se_s**2 / (n_s - 1))
    statistic = (difference - margin) / standard_error
    distribution = StudentT(df)
    return FixedTestResult(
        method="Welch t",
        statistic=statistic,
        pvalue=_p_value(distribution, statistic, alternative),
        effect=difference,
        interval=_interval(distribution, difference, standard_error, alternative, confidence),
        df=df,
    )


def _interval(
    distribution: StudentT,
    estimate: float,
    standard_error: float,
    alternative: Alternative,
    confidence: float,
) -> tuple[float, float]:
    """Confidence interval matching the alternative, one-sided ones open-ended (as scipy's)."""
    if alternative == "greater":
        return (estimate - float(distribution.ppf(confidence)) * standard_error, math.inf)
    if alternative == "less":
        return (-math.inf, estimate + float(distribution.ppf(confidence)) * standard_error)
    half_width = float(distribution.ppf(0.5 + confidence / 2)) * standard_error
    return (estimate - half_width, estimate + half_width)


def mann_whitney_u(
    candidate_counts: Sequence[float] | FloatArray,
    stable_counts: Sequence[float] | FloatArray,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> FixedTestResult:
    """Mann-Whitney U on binned data: counts per ordered bucket, ties within a bucket.

    Everything in one bucket shares a mid-rank, and the variance carries the tie correction, so
    the result equals scipy's asymptotic test (with continuity correction) on the expanded data.
    ``statistic`` is U of the candidate; ``effect`` is the probability that a candidate request is
    slower than a stable one (ties count half), with a Hanley-McNeil interval.
    """
    counts_c = np.asarray(candidate_counts, dtype=np.float64)
    counts_s = np.asarray(stable_counts, dtype=np.float64)
    n_c, n_s = float(counts_c.sum()), float(counts_s.sum())
    totals = counts_c + counts_s
    n = n_c + n_s
    mid_ranks = np.cumsum(totals) - (totals - 1) / 2
    u_candidate = float(np.dot(counts_c, mid_ranks) - n_c * (n_c + 1) / 2)
    mean_u = n_c * n_s / 2
    tie_term = float(np.sum(totals**3 - totals))
    variance = n_c * n_s / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    deviation = u_candidate - mean_u
    if alternative == "two-sided":
        statistic_z = (abs(deviation) - 0.5) / math.sqrt(variance)
        pvalue = float(min(1.0, 2 * stats.norm.sf(statistic_z)))
    elif alternative == "greater":
        pvalue = float(stats.norm.sf((deviation - 0.5) / math.sqrt(variance)))
    else:
        pvalue = float(stats.norm.cdf((deviation + 0.5) / math.sqrt(variance)))
    superiority = u_candidate / (n_c * n_s)
    q1 = superiority / (2 - superiority)
    q2 = 2 * superiority**2 / (1 + superiority)
    se = math.sqrt(
        max(
            0.0,
            (
                superiority * (1 - superiority)
                + (n_c - 1) * (q1 - superiority**2)
                + (n_s - 1) * (q2 - superiority**2)
            )
            / (n_c * n_s),
        )
    )
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return FixedTestResult(
        method="Mann-Whitney U",
        statistic=u_candidate,
        pvalue=pvalue,
        effect=superiority,
        interval=(max(0.0, superiority - z * se), min(1.0, superiority + z * se)),
    )


def two_proportion_z(
    candidate_events: float,
    candidate_exposure: float,
    stable_events: float,
    stable_exposure: float,
    margin: float | None = None,
    relative_margin: float | None = None,
    alternative: Alternative = "greater",
    confidence: float = 0.95,
) -> FixedTestResult:
    """Two-proportion z-test of the candidate's rate against the stable's.

    Without a margin it is the classical pooled test (``z**2`` equals the uncorrected 2x2
    chi-square). With an absolute ``margin`` it tests ``p_c - p_s - margin`` with the unpooled
    (Wald) error; with a ``relative_margin`` it tests ``log(p_c/p_s) - log(1 + margin)`` by the
    delta method, adding half an event to empty cells. ``effect`` is the difference (or the
    relative change) and ``interval`` its Wald interval.
    """
    p_c = candidate_events / candidate_exposure
    p_s = stable_events / stable_exposure
    z_level = float(stats.norm.ppf(0.5 + confidence / 2))
    if relative_margin is not None:
        x_c, x_s = max(candidate_events, 0.5), max(stable_events, 0.5)
        log_ratio = math.log((x_c / candidate_exposure) / (x_s / stable_exposure))
        se = math.sqrt(max(1e-300, 1 / x_c - 1 / candidate_exposure + 1 / x_s - 1 / stable_exposure))
        statistic = (log_ratio - math.log1p(relative_margin)) / se
        effect = math.expm1(log_ratio)
        interval = (math.expm1(log_ratio - z_level * se), math.expm1(log_ratio + z_level * se))
    else:
        difference = p_c - p_s
        wald_se = math.sqrt(p_c * (1 - p_c) / candidate_exposure + p_s * (1 - p_s) / stable_exposure)
        if margin is None or margin == 0:
            pooled = (candidate_events + stable_events) / (candidate_exposure + stable_exposure)
            se = math.sqrt(pooled * (1 - pooled) * (1 / candidate_exposure + 1 / stable_exposure))
            statistic = difference / se if se > 0 else 0.0
        else:
            se = wald_se
            statistic = (difference - margin) / se if se > 0 else math.copysign(math.inf, difference - margin)
        effect = difference
        interval = (difference - z_level * wald_se, difference + z_level * wald_se)
    return FixedTestResult(
        method="two-proportion z",
        statistic=statistic,
        pvalue=_p_value(stats.norm, statistic, alternative),
        effect=effect,
        interval=interval,
    )


def _pearson_statistic(observed: FloatArray, expected: FloatArray) -> float:
    return float(np.sum((observed - expected) ** 2 / expected))


def _likelihood_ratio_statistic(observed: FloatArray, expected: FloatArray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(observed > 0, observed * np.log(observed / expected), 0.0)
    return float(2 * np.sum(terms))


def _contingency_test(
    table: Sequence[Sequence[float]] | FloatArray,
    method: str,
    statistic_of: Callable[[FloatArray, FloatArray], float],
) -> FixedTestResult:
    """A test of homogeneity on a versions-by-buckets table, effect Cramer's V.

    Empty buckets are dropped: they carry no information and would divide by zero. A table left
    with one bucket (no errors anywhere) shows no difference at all: p is 1, not undefined.
    """
    observed = np.asarray(table, dtype=np.float64)
    observed = observed[:, observed.sum(axis=0) > 0]
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    df = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    statistic = statistic_of(observed, expected)
    smaller = min(observed.shape) - 1
    cramers_v = math.sqrt(statistic / (observed.sum() * smaller)) if smaller > 0 else 0.0
    return FixedTestResult(
        method=method,
        statistic=statistic,
        pvalue=float(stats.chi2.sf(statistic, df)) if df > 0 else 1.0,
        effect=cramers_v,
        interval=None,
        df=float(df),
    )


def chi_square(table: Sequence[Sequence[float]] | FloatArray) -> FixedTestResult:
    """Pearson's chi-square test of homogeneity (no continuity correction); effect Cramer's V.

    Rows are versions, columns buckets.
    """
    return _contingency_test(table, "chi-square", _pearson_statistic)


def g_test(table: Sequence[Sequence[float]] | FloatArray) -> FixedTestResult:
    """The likelihood-ratio (G) test of homogeneity; better than Pearson's with small cells."""
    return _contingency_test(table, "G-test", _likelihood_ratio_statistic)


def cohens_d(
    candidate: Sequence[float] | FloatArray,
    stable: Sequence[float] | FloatArray,
    candidate_weights: Sequence[float] | FloatArray | None = None,
    stable_weights: Sequence[float] | FloatArray | None = None,
    confidence: float = 0.95,
) -> EffectSize:
    """Difference of means in pooled standard deviations, with a normal-approximation interval."""
    n_c, mean_c, var_c = _moments(*_as_weighted(candidate, candidate_weights))
    n_s, mean_s, var_s = _moments(*_as_weighted(stable, stable_weights))
    pooled = math.sqrt(((n_c - 1) * var_c + (n_s - 1) * var_s) / (n_c + n_s - 2))
    d = (mean_c - mean_s) / pooled
    se = math.sqrt((n_c + n_s) / (n_c * n_s) + d**2 / (2 * (n_c + n_s)))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return EffectSize(value=d, interval=(d - z * se, d + z * se))


def hedges_g(
    candidate: Sequence[float] | FloatArray,
    stable: Sequence[float] | FloatArray,
    candidate_weights: Sequence[float] | FloatArray | None = None,
    stable_weights: Sequence[float] | FloatArray | None = None,
    confidence: float = 0.95,
) -> EffectSize:
    """Cohen's d with Hedges' small-sample bias correction (the exact gamma-function factor)."""
    n_c = float(np.sum(_as_weighted(candidate, candidate_weights)[1]))
    n_s = float(np.sum(_as_weighted(stable, stable_weights)[1]))
    d = cohens_d(candidate, stable, candidate_weights, stable_weights, confidence)
    df = n_c + n_s - 2
    correction = math.exp(math.lgamma(df / 2) - math.lgamma((df - 1) / 2)) / math.sqrt(df / 2)
    return EffectSize(
        value=d.value * correction,
        interval=(d.interval[0] * correction, d.interval[1] * correction),
    )


def relative_change(
    candidate: Sequence[float] | FloatArray,
    stable: Sequence[float] | FloatArray,
    candidate_weights: Sequence[float] | FloatArray | None = None,
    stable_weights: Sequence[float] | FloatArray | None = None,
    confidence: float = 0.95,
) -> FixedTestResult:
    """``mean(candidate) / mean(stable) - 1`` with a delta-method interval on the log ratio.

    The log scale keeps the interval positive and asymmetric, as a ratio's should be. The
    statistic is the z of the log ratio against 0 (no change), two-sided.
    """
    n_c, mean_c, var_c = _moments(*_as_weighted(candidate, candidate_weights))
    n_s, mean_s, var_s = _moments(*_as_weighted(stable, stable_weights))
    log_ratio = math.log(mean_c / mean_s)
    se = math.sqrt(var_c / (n_c * mean_c**2) + var_s / (n_s * mean_s**2))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    statistic = log_ratio / se if se > 0 else 0.0
    return FixedTestResult(
        method="relative change",
        statistic=statistic,
        pvalue=_p_value(stats.norm, statistic, "two-sided"),
        effect=math.expm1(log_ratio),
        interval=(math.expm1(log_ratio - z * se), math.expm1(log_ratio + z * se)),
    )


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (reject where adjusted <= alpha); order preserved.

    Controls the family-wise error whatever the dependence between the metrics, which is why
    the judge uses it: latency and error rate of one version are far from independent.
    """
    values = np.asarray(pvalues, dtype=np.float64)
    m = values.size
    if m == 0:
        return []
    order = np.argsort(values, kind="stable")
    scaled = values[order] * (m - np.arange(m))
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return [float(v) for v in adjusted]
