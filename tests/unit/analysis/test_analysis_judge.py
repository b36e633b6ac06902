"""The judge: vetoes, dry runs, multiplicity correction, score and explanation."""

from __future__ import annotations

import pytest

from modelrollout import analysis
from modelrollout.analysis.types import JudgedMetric, MetricTest
from modelrollout.api.v1alpha1 import Verdict


def _result(verdict: Verdict, e_value: float | None = None, p_value: float | None = None) -> MetricTest:
    return MetricTest(
        verdict=verdict,
        method="test",
        stable=1.0,
        candidate=1.0,
        e_value=e_value,
        p_value=p_value,
        samples_candidate=1000,
        explanation=f"{verdict.value} because of the data.",
    )


PASS = _result(Verdict.PASS, e_value=0.1)
UNDECIDED = _result(Verdict.INCONCLUSIVE, e_value=2.0)


def test_all_deciding_metrics_pass() -> None:
    judgement = analysis.judge([JudgedMetric("latency", PASS), JudgedMetric("errors", PASS)])
    assert judgement.verdict == Verdict.PASS
    assert judgement.score == 100
    assert "Pass" in judgement.explanation and "latency" in judgement.explanation


def test_a_strong_failure_fails_and_names_the_metric() -> None:
    failed = _result(Verdict.FAIL, e_value=1e6)
    judgement = analysis.judge([JudgedMetric("latency", PASS), JudgedMetric("errors", failed)])
    assert judgement.verdict == Verdict.FAIL
    assert judgement.score == 50
    assert "errors" in judgement.explanation and "Fail" in judgement.explanation


def test_a_failure_that_does_not_survive_holm_is_held_inconclusive() -> None:
    borderline = _result(Verdict.FAIL, e_value=25.0)
    metrics = [JudgedMetric(name, UNDECIDED) for name in ("a", "b", "c")] + [
        JudgedMetric("errors", borderline)
    ]
    judgement = analysis.judge(metrics, alpha=0.05)
    assert judgement.verdict == Verdict.INCONCLUSIVE
    held = next(metric for metric in judgement.metrics if metric.name == "errors")
    assert held.result.verdict == Verdict.INCONCLUSIVE
    assert "Holm" in held.result.explanation


def test_fixed_p_values_are_corrected_too() -> None:
    weak = _result(Verdict.FAIL, p_value=0.03)
    strong = _result(Verdict.FAIL, p_value=0.001)
    judgement = analysis.judge(
        [JudgedMetric("weak", weak), JudgedMetric("strong", strong), JudgedMetric("x", PASS)]
    )
    verdicts = {metric.name: metric.result.verdict for metric in judgement.metrics}
    assert verdicts == {"weak": Verdict.INCONCLUSIVE, "strong": Verdict.FAIL, "x": Verdict.PASS}
    assert judgement.verdict == Verdict.FAIL


def test_a_critical_metric_vetoes_at_its_own_alpha() -> None:
    borderline = _result(Verdict.FAIL, e_value=25.0)
    metrics = [JudgedMetric(name, PASS) for name in ("a", "b", "c")] + [
        JudgedMetric("errors", borderline, critical=True)
    ]
    judgement = analysis.judge(metrics)
    assert judgement.verdict == Verdict.FAIL
    assert "veto" in judgement.explanation


def test_threshold_failures_carry_no_p_value_and_stand() -> None:
    threshold = analysis.check_threshold(0.5, 0.9, None)
    metrics = [JudgedMetric(name, UNDECIDED) for name in ("a", "b")] + [JudgedMetric("business", threshold)]
    assert analysis.judge(metrics).verdict == Verdict.FAIL


def test_dry_run_metrics_never_decide_but_are_shown() -> None:
    failed = _result(Verdict.FAIL, e_value=1e9)
    judgement = analysis.judge([JudgedMetric("latency", PASS), JudgedMetric("drift", failed, dry_run=True)])
    assert judgement.verdict == Verdict.PASS
    assert judgement.score == 100
    assert "Dry-run" in judgement.explanation and "drift" in judgement.explanation
    assert [metric.name for metric in judgement.metrics] == ["latency", "drift"]


def test_no_data_is_inconclusive_and_left_out_of_the_score() -> None:
    no_data = analysis.test_rate(
        analysis.RateSample(float("nan"), 0, 0, 0), analysis.Margin(absolute=0.005), analysis.TestConfig()
    )
    judgement = analysis.judge([JudgedMetric("errors", no_data), JudgedMetric("latency", PASS, weight=2)])
    assert judgement.verdict == Verdict.INCONCLUSIVE
    assert judgement.score == 100
    assert "errors" in judgement.explanation


def test_nothing_deciding_is_inconclusive() -> None:
    assert analysis.judge([]).verdict == Verdict.INCONCLUSIVE
    only_dry = analysis.judge([JudgedMetric("latency", PASS, dry_run=True)])
    assert only_dry.verdict == Verdict.INCONCLUSIVE and only_dry.score == 0


def test_weighted_score() -> None:
    failed = _result(Verdict.FAIL, e_value=1e9)
    judgement = analysis.judge([JudgedMetric("a", PASS, weight=3), JudgedMetric("b", failed, weight=1)])
    assert judgement.score == pytest.approx(75)


def test_public_names_are_pinned() -> None:
    assert set(analysis.__all__) == {
        "EffectSize",
        "FixedTestResult",
        "HistogramSample",
        "JudgedMetric",
        "Judgement",
        "Margin",
        "MetricTest",
        "RateSample",
        "TestConfig",
        "check_threshold",
        "chi_square",
        "cohens_d",
        "drift_distance",
        "g_test",
        "hedges_g",
        "holm",
        "judge",
        "mann_whitney_u",
        "relative_change",
        "test_drift",
        "test_latency",
        "test_rate",
        "two_proportion_z",
        "welch_t",
    }
