"""`fixedTest`: each selectable classical test decides as it should, and effect sizes reach status."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from modelrollout import analysis
from modelrollout.analysis.fixed import mann_whitney_relative_effect, superiority_at_margin
from modelrollout.analysis.fixed.classical import Alternative
from modelrollout.analysis.histograms import bucket_counts, bucket_representatives, to_buckets
from modelrollout.analysis.types import AssessConfig, HistogramSample, JudgedMetric, Margin, RateSample
from modelrollout.api.v1alpha1 import AnalysisMethod, FixedTest, Verdict
from modelrollout.evaluation.evaluate import metric_result

EDGES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
SIGMA = 0.5
LATENCY_TESTS = (FixedTest.WELCH, FixedTest.MANN_WHITNEY)
RATE_TESTS = (FixedTest.TWO_PROPORTION_Z, FixedTest.CHI_SQUARE, FixedTest.G_TEST)


def _fixed(test: FixedTest | None, final: bool = True) -> AssessConfig:
    return AssessConfig(method=AnalysisMethod.FIXED, final=final, fixed_test=test)


def _cumulative(scale: float, n: int, seed: int, edges: tuple[float, ...] = EDGES) -> tuple[float, ...]:
    """Cumulative bucket counts of ``n`` log-normal latencies with median ``0.1 * scale`` seconds."""
    latencies = np.exp(np.random.default_rng(seed).normal(math.log(0.1 * scale), SIGMA, n))
    return tuple(float(np.sum(latencies <= edge)) for edge in edges)


def _latency(scale: float, seed: int = 2) -> HistogramSample:
    return HistogramSample(EDGES, _cumulative(1.0, 100_000, 1), _cumulative(scale, 20_000, seed))


# --- Mann-Whitney's relative effect with a margin ----------------------------------------------------

CANDIDATE_BUCKETS = np.array([0, 3, 10, 40, 120, 90, 30, 8, 2, 1, 0, 1], dtype=float)
STABLE_BUCKETS = np.array([1, 5, 30, 160, 300, 150, 35, 6, 1, 0, 0, 0], dtype=float)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_relative_effect_at_one_half_is_scipys_brunner_munzel(alternative: Alternative) -> None:
    ours = mann_whitney_relative_effect(CANDIDATE_BUCKETS, STABLE_BUCKETS, alternative=alternative)
    stable = np.repeat(np.arange(12.0), STABLE_BUCKETS.astype(int))
    candidate = np.repeat(np.arange(12.0), CANDIDATE_BUCKETS.astype(int))
    # scipy's estimate is P(first < second): the stable goes first so that it is ours.
    flipped = {"two-sided": "two-sided", "greater": "less", "less": "greater"}[alternative]
    expected = stats.brunnermunzel(stable, candidate, alternative=flipped)  # type: ignore[arg-type]
    assert ours.statistic == pytest.approx(expected.statistic, rel=1e-10)
    assert ours.pvalue == pytest.approx(expected.pvalue, rel=1e-8)
    plain = analysis.mann_whitney_u(CANDIDATE_BUCKETS, STABLE_BUCKETS)
    assert ours.effect == pytest.approx(plain.effect, rel=1e-12)


def test_a_null_above_one_half_moves_the_statistic_not_the_effect() -> None:
    plain = mann_whitney_relative_effect(CANDIDATE_BUCKETS, STABLE_BUCKETS)
    shifted = mann_whitney_relative_effect(CANDIDATE_BUCKETS, STABLE_BUCKETS, null_effect=0.55)
    assert shifted.effect == plain.effect
    assert shifted.statistic < plain.statistic


def test_the_margin_on_the_relative_effect_scale() -> None:
    """No margin is 1/2; on fine buckets a 10% slowdown gives the log-normal's exact value."""
    stable = to_buckets(EDGES, _cumulative(1.0, 100_000, 1))
    assert superiority_at_margin(stable, Margin(relative=0.0)) == pytest.approx(0.5, abs=1e-6)
    coarse = superiority_at_margin(stable, Margin(relative=0.1))
    fine_edges = (*np.exp(np.linspace(math.log(0.005), math.log(10.0), 400)), math.inf)
    fine = to_buckets(fine_edges, _cumulative(1.0, 200_000, 1, fine_edges))
    exact = stats.norm.cdf(math.log(1.1) / (SIGMA * math.sqrt(2)))
    assert superiority_at_margin(fine, Margin(relative=0.1)) == pytest.approx(exact, abs=0.003)
    assert 0.5 < coarse < exact  # buckets 2-2.5x apart turn part of a slowdown into ties
    assert superiority_at_margin(stable, Margin(absolute=0.01)) > 0.5


# --- latency: Welch and Mann-Whitney -------------------------------------------------------------


@pytest.mark.parametrize("test", LATENCY_TESTS)
@pytest.mark.parametrize(("scale", "expected"), [(1.5, Verdict.FAIL), (1.0, Verdict.PASS)])
def test_each_latency_test_decides_at_the_final_look(
    test: FixedTest, scale: float, expected: Verdict
) -> None:
    sample = _latency(scale)
    early = analysis.assess_latency(sample, Margin(relative=0.1), _fixed(test, final=False))
    final = analysis.assess_latency(sample, Margin(relative=0.1), _fixed(test))
    assert early.verdict == Verdict.INCONCLUSIVE and "decided only at the final look" in early.explanation
    assert early.p_value == final.p_value
    assert final.verdict == expected
    assert final.method == analysis.assess.latency.FIXED_METHODS[test]
    assert "Cohen's d" in final.explanation


@pytest.mark.parametrize("test", LATENCY_TESTS)
def test_each_latency_test_fails_on_an_absolute_margin_too(test: FixedTest) -> None:
    result = analysis.assess_latency(_latency(1.5), Margin(absolute=0.005), _fixed(test))
    assert result.verdict == Verdict.FAIL


def test_mann_whitney_reports_the_relative_effect_and_welch_the_slowdown() -> None:
    sample = _latency(1.5)
    welch = analysis.assess_latency(sample, Margin(relative=0.1), _fixed(None))
    ranks = analysis.assess_latency(sample, Margin(relative=0.1), _fixed(FixedTest.MANN_WHITNEY))
    assert welch.method == analysis.assess.latency.FIXED_METHODS[FixedTest.WELCH]  # the default
    assert welch.effect is not None and welch.effect > 0.2
    assert ranks.effect is not None and 0.6 < ranks.effect < 1
    assert ranks.interval is not None and ranks.interval[0] <= ranks.effect <= ranks.interval[1]


def test_mann_whitney_false_fails_at_the_margin_stay_near_alpha() -> None:
    """The hardest null: a candidate exactly as slow as the margin allows."""
    fails = [
        analysis.assess_latency(
            HistogramSample(EDGES, _cumulative(1.0, 20_000, seed), _cumulative(1.1, 5_000, seed + 1000)),
            Margin(relative=0.1),
            _fixed(FixedTest.MANN_WHITNEY),
        ).verdict
        == Verdict.FAIL
        for seed in range(200)
    ]
    assert np.mean(fails) <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 200)


# --- effect sizes ----------------------------------------------------------------------------------


def _direct_cohens_d(sample: HistogramSample) -> float:
    """Cohen's d of bucket log latencies, weighted by the counts, written out by hand."""
    values = np.log(bucket_representatives(sample.edges))
    weights_c, weights_s = bucket_counts(sample.candidate_counts), bucket_counts(sample.stable_counts)
    n_c, n_s = weights_c.sum(), weights_s.sum()
    mean_c, mean_s = np.average(values, weights=weights_c), np.average(values, weights=weights_s)
    squares = np.sum(weights_c * (values - mean_c) ** 2) + np.sum(weights_s * (values - mean_s) ** 2)
    return float((mean_c - mean_s) / math.sqrt(squares / (n_c + n_s - 2)))


@pytest.mark.parametrize(
    "config", [AssessConfig(), _fixed(FixedTest.WELCH), _fixed(FixedTest.MANN_WHITNEY)], ids=str
)
def test_cohens_d_and_hedges_g_are_filled_for_latency_in_both_methods(config: AssessConfig) -> None:
    sample = _latency(1.3)
    result = analysis.assess_latency(sample, Margin(relative=0.1), config)
    expected = _direct_cohens_d(sample)
    assert result.cohens_d == pytest.approx(expected, rel=1e-10)
    degrees = 120_000 - 2
    assert result.hedges_g == pytest.approx(expected * (1 - 3 / (4 * degrees - 1)), rel=1e-8)
    assert result.cohens_d is not None and result.cohens_d > 0.3


def test_effect_sizes_are_absent_without_spread_and_for_rates() -> None:
    one_bucket = (0.0, 0.0, 0.0, 0.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0)
    sample = HistogramSample(EDGES, one_bucket, one_bucket)
    result = analysis.assess_latency(sample, Margin(relative=0.1), AssessConfig(min_samples=10))
    assert (result.cohens_d, result.hedges_g) == (None, None)
    rate = analysis.assess_rate(RateSample(100, 10_000, 100, 10_000), Margin(absolute=0.01), AssessConfig())
    assert (rate.cohens_d, rate.hedges_g) == (None, None)


def test_status_carries_the_effect_sizes() -> None:
    result = analysis.assess_latency(_latency(1.3), Margin(relative=0.1), AssessConfig())
    status = metric_result(JudgedMetric(name="latency", result=result))
    assert (status.cohens_d, status.hedges_g) == (result.cohens_d, result.hedges_g)
    wire = status.model_dump(by_alias=True, exclude_none=True)
    assert wire["cohensD"] == result.cohens_d and wire["hedgesG"] == result.hedges_g


# --- rates: two-proportion z, chi-square and G -----------------------------------------------------

WORSE = RateSample(100, 10_000, 300, 10_000)
"""1% against 3%: far beyond a half-point margin."""
EQUAL = RateSample(1_000, 100_000, 1_000, 100_000)


@pytest.mark.parametrize("test", RATE_TESTS)
@pytest.mark.parametrize(("sample", "expected"), [(WORSE, Verdict.FAIL), (EQUAL, Verdict.PASS)])
def test_each_rate_test_decides_at_the_final_look(
    test: FixedTest, sample: RateSample, expected: Verdict
) -> None:
    early = analysis.assess_rate(sample, Margin(absolute=0.005), _fixed(test, final=False))
    final = analysis.assess_rate(sample, Margin(absolute=0.005), _fixed(test))
    assert early.verdict == Verdict.INCONCLUSIVE and "decided only at the final look" in early.explanation
    assert final.verdict == expected
    assert final.method == analysis.assess.rate.FIXED_METHODS[test]
    assert final.interval is not None and final.p_value is not None


@pytest.mark.parametrize("test", [FixedTest.CHI_SQUARE, FixedTest.G_TEST])
def test_homogeneity_tests_fail_on_relative_margins_too(test: FixedTest) -> None:
    result = analysis.assess_rate(WORSE, Margin(relative=0.5), _fixed(test))
    assert result.verdict == Verdict.FAIL
    assert result.effect == pytest.approx(2.0)
    assert "two-sided, no margin" in result.explanation


def test_chi_square_p_value_is_scipys_and_g_is_the_likelihood_ratio() -> None:
    table = [[300, 9_700], [100, 9_900]]
    chi = analysis.assess_rate(WORSE, Margin(absolute=0.005), _fixed(FixedTest.CHI_SQUARE))
    g = analysis.assess_rate(WORSE, Margin(absolute=0.005), _fixed(FixedTest.G_TEST))
    assert chi.p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue, rel=1e-8)
    likelihood_ratio = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    assert g.p_value == pytest.approx(likelihood_ratio.pvalue, rel=1e-8)


@pytest.mark.parametrize("test", [FixedTest.CHI_SQUARE, FixedTest.G_TEST])
def test_the_margin_gates_the_homogeneity_tests(test: FixedTest) -> None:
    """Significant but inside the margin passes; beyond it but not significant stays open."""
    inside = analysis.assess_rate(
        RateSample(1_000, 100_000, 1_200, 100_000), Margin(relative=0.5), _fixed(test)
    )
    assert inside.p_value is not None and inside.p_value < 0.01
    assert inside.verdict == Verdict.PASS
    unclear = analysis.assess_rate(RateSample(2, 400, 6, 400), Margin(absolute=0.005), _fixed(test))
    assert unclear.p_value is not None and unclear.p_value > 0.05
    assert unclear.verdict == Verdict.INCONCLUSIVE


@pytest.mark.parametrize("test", [FixedTest.CHI_SQUARE, FixedTest.G_TEST])
def test_no_events_anywhere_is_a_pass_with_p_one(test: FixedTest) -> None:
    result = analysis.assess_rate(RateSample(0, 5_000, 0, 5_000), Margin(absolute=0.005), _fixed(test))
    assert (result.verdict, result.p_value, result.effect) == (Verdict.PASS, 1.0, 0.0)


@pytest.mark.parametrize("test", [FixedTest.CHI_SQUARE, FixedTest.G_TEST])
def test_homogeneity_tests_a_a_false_fail_rate_stays_under_alpha(test: FixedTest) -> None:
    rng = np.random.default_rng(7)
    errors = rng.binomial(5_000, 0.01, (400, 2))
    fails = [
        analysis.assess_rate(
            RateSample(float(s), 5_000, float(c), 5_000), Margin(absolute=0.002), _fixed(test)
        ).verdict
        == Verdict.FAIL
        for s, c in errors
    ]
    assert np.mean(fails) <= 0.05


# --- tests that do not fit the metric ------------------------------------------------------------


def test_a_test_that_does_not_fit_the_metric_is_inconclusive_not_an_error() -> None:
    latency = analysis.assess_latency(_latency(1.5), Margin(relative=0.1), _fixed(FixedTest.G_TEST))
    rate = analysis.assess_rate(WORSE, Margin(absolute=0.005), _fixed(FixedTest.MANN_WHITNEY))
    for result in (latency, rate):
        assert result.verdict == Verdict.INCONCLUSIVE
        assert "does not fit" in result.explanation
