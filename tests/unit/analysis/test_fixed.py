"""Fixed-horizon tests checked against scipy's own results on the expanded data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from modelrollout import analysis
from modelrollout.analysis.fixed.classical import Alternative

BUCKET_VALUES = np.log([0.0035, 0.007, 0.016, 0.035, 0.07, 0.16, 0.35, 0.7, 1.6, 3.5, 7.1, 14.1])
CANDIDATE_BUCKETS = np.array([0, 3, 10, 40, 120, 90, 30, 8, 2, 1, 0, 1], dtype=float)
STABLE_BUCKETS = np.array([1, 5, 30, 160, 300, 150, 35, 6, 1, 0, 0, 0], dtype=float)


def _expand(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.repeat(values, counts.astype(int))


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_t_matches_scipy_on_binned_data(alternative: Alternative) -> None:
    ours = analysis.welch_t(
        BUCKET_VALUES, BUCKET_VALUES, CANDIDATE_BUCKETS, STABLE_BUCKETS, alternative=alternative
    )
    expected = stats.ttest_ind(
        _expand(BUCKET_VALUES, CANDIDATE_BUCKETS),
        _expand(BUCKET_VALUES, STABLE_BUCKETS),
        equal_var=False,
        alternative=alternative,
    )
    assert ours.statistic == pytest.approx(expected.statistic, rel=1e-10)
    assert ours.pvalue == pytest.approx(expected.pvalue, rel=1e-8)
    assert ours.df == pytest.approx(expected.df, rel=1e-10)
    low, high = expected.confidence_interval(0.95)
    assert ours.interval == pytest.approx((low, high), rel=1e-8)


def test_welch_t_with_a_margin_shifts_the_statistic() -> None:
    plain = analysis.welch_t(BUCKET_VALUES, BUCKET_VALUES, CANDIDATE_BUCKETS, STABLE_BUCKETS)
    shifted = analysis.welch_t(
        BUCKET_VALUES, BUCKET_VALUES, CANDIDATE_BUCKETS, STABLE_BUCKETS, margin=0.1, alternative="greater"
    )
    expected = stats.ttest_ind(
        _expand(BUCKET_VALUES, CANDIDATE_BUCKETS) - 0.1,
        _expand(BUCKET_VALUES, STABLE_BUCKETS),
        equal_var=False,
        alternative="greater",
    )
    assert shifted.pvalue == pytest.approx(expected.pvalue, rel=1e-8)
    assert shifted.effect == pytest.approx(plain.effect)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_mann_whitney_on_binned_data_matches_scipy_with_ties(alternative: Alternative) -> None:
    ours = analysis.mann_whitney_u(CANDIDATE_BUCKETS, STABLE_BUCKETS, alternative=alternative)
    expected = stats.mannwhitneyu(
        _expand(np.arange(12.0), CANDIDATE_BUCKETS),
        _expand(np.arange(12.0), STABLE_BUCKETS),
        alternative=alternative,
        method="asymptotic",
        use_continuity=True,
    )
    assert ours.statistic == pytest.approx(expected.statistic)
    assert ours.pvalue == pytest.approx(expected.pvalue, rel=1e-8)
    assert 0 <= ours.interval[0] <= ours.effect <= ours.interval[1] <= 1  # type: ignore[index]


def test_two_proportion_z_squared_is_the_uncorrected_chi_square() -> None:
    result = analysis.two_proportion_z(30, 1000, 80, 5000, alternative="two-sided")
    chi2, p_value, _, _ = stats.chi2_contingency([[30, 970], [80, 4920]], correction=False)
    assert result.statistic**2 == pytest.approx(chi2, rel=1e-10)
    assert result.pvalue == pytest.approx(p_value, rel=1e-8)
    assert result.effect == pytest.approx(0.03 - 0.016)


def test_two_proportion_z_non_inferiority_uses_the_margin() -> None:
    worse = analysis.two_proportion_z(30, 1000, 80, 5000, margin=0.005, alternative="greater")
    se = math.sqrt(0.03 * 0.97 / 1000 + 0.016 * 0.984 / 5000)
    assert worse.statistic == pytest.approx((0.014 - 0.005) / se)
    assert worse.pvalue == pytest.approx(stats.norm.sf((0.014 - 0.005) / se))
    relative = analysis.two_proportion_z(30, 1000, 80, 5000, relative_margin=0.5, alternative="greater")
    assert relative.effect == pytest.approx(0.03 / 0.016 - 1)
    assert relative.interval[0] < relative.effect < relative.interval[1]  # type: ignore[index]


def test_chi_square_and_g_test_match_scipy() -> None:
    table = np.stack([CANDIDATE_BUCKETS, STABLE_BUCKETS])
    kept = table[:, table.sum(axis=0) > 0]
    chi2, p_value, df, _ = stats.chi2_contingency(kept, correction=False)
    g, g_p, g_df, _ = stats.chi2_contingency(kept, correction=False, lambda_="log-likelihood")
    pearson = analysis.chi_square(table)
    likelihood = analysis.g_test(table)
    assert (pearson.statistic, pearson.pvalue, pearson.df) == pytest.approx((chi2, p_value, df))
    assert (likelihood.statistic, likelihood.pvalue, likelihood.df) == pytest.approx((g, g_p, g_df))
    assert 0 < pearson.effect < 1


def test_cohens_d_and_hedges_g() -> None:
    rng = np.random.default_rng(3)
    candidate, stable = rng.normal(0.5, 1.0, 40), rng.normal(0.0, 1.2, 60)
    pooled = math.sqrt((39 * candidate.var(ddof=1) + 59 * stable.var(ddof=1)) / 98)
    d = analysis.cohens_d(candidate, stable)
    g = analysis.hedges_g(candidate, stable)
    assert d.value == pytest.approx((candidate.mean() - stable.mean()) / pooled)
    assert g.value == pytest.approx(d.value * (1 - 3 / (4 * 98 - 1)), rel=1e-3)
    assert abs(g.value) < abs(d.value)
    assert d.interval[0] < d.value < d.interval[1]


def test_relative_change_interval_is_asymmetric_and_contains_the_estimate() -> None:
    result = analysis.relative_change([1.2, 1.4, 1.1, 1.3], [1.0, 1.1, 0.9, 1.0])
    assert result.effect == pytest.approx(1.25 / 1.0 - 1)
    low, high = result.interval  # type: ignore[misc]
    assert low < result.effect < high
    assert high - result.effect > result.effect - low


def test_holm_adjusted_p_values() -> None:
    assert analysis.holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert analysis.holm([]) == []
    assert analysis.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])
    assert analysis.holm([0.02, 0.2]) == pytest.approx([0.04, 0.2])


def test_relative_change_interval_matches_scipys_bootstrap_and_covers_the_truth() -> None:
    rng = np.random.default_rng(7)
    stable, candidate = rng.lognormal(0.0, 0.5, 4000), rng.lognormal(math.log(1.2), 0.5, 4000)

    result = analysis.relative_change(candidate, stable)
    reference = stats.bootstrap(
        (candidate, stable),
        lambda c, s, axis=-1: np.mean(c, axis=axis) / np.mean(s, axis=axis) - 1,
        n_resamples=4000,
        method="percentile",
        random_state=rng,
    ).confidence_interval

    assert result.effect == pytest.approx(candidate.mean() / stable.mean() - 1)
    assert result.interval is not None
    assert result.interval[0] == pytest.approx(reference.low, abs=0.005)
    assert result.interval[1] == pytest.approx(reference.high, abs=0.005)
    truth = 0.2  # equal log-sds: the means' ratio is the medians' ratio
    covered = 0
    for _ in range(1000):
        s, c = rng.lognormal(0.0, 0.5, 200), rng.lognormal(math.log(1.2), 0.5, 200)
        interval = analysis.relative_change(c, s).interval
        assert interval is not None
        low, high = interval
        covered += low <= truth <= high
    assert 0.93 <= covered / 1000 <= 0.97
