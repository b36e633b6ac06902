"""The judge: vetoes, dry runs, multiplicity correction, score and explanation."""

from __future__ import annotations

import itertools

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
    no_data = analysis.assess_rate(
        analysis.RateSample(float("nan"), 0, 0, 0), analysis.Margin(absolute=0.005), analysis.AssessConfig()
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


FAILED = _result(Verdict.FAIL, e_value=1e6)
KAYENTA = analysis.ScoreThresholds(passing=90, marginal=75)


def _fleet(*verdicts: MetricTest, critical: int | None = None) -> list[JudgedMetric]:
    return [JudgedMetric(f"m{i}", result, critical=i == critical) for i, result in enumerate(verdicts)]


def test_with_thresholds_a_tolerated_failure_still_passes_on_the_score() -> None:
    metrics = _fleet(FAILED, *[PASS] * 9)  # score 90

    judgement = analysis.judge(metrics, thresholds=KAYENTA)

    assert judgement.verdict == Verdict.PASS
    assert "within what the thresholds tolerate: m0" in judgement.explanation
    assert analysis.judge(metrics).verdict == Verdict.FAIL  # the strict rules fail it


def test_with_thresholds_a_critical_failure_vetoes_whatever_the_score() -> None:
    judgement = analysis.judge(_fleet(FAILED, *[PASS] * 9, critical=0), thresholds=KAYENTA)

    assert judgement.verdict == Verdict.FAIL
    assert "Critical (veto): m0" in judgement.explanation


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        # score 80: decided, between the thresholds -> marginal
        ((FAILED, FAILED, *[PASS] * 8), Verdict.INCONCLUSIVE),
        # 3 of 10 failed: 70 at best, below marginal -> Fail even with one still collecting
        ((FAILED, FAILED, FAILED, UNDECIDED, *[PASS] * 6), Verdict.FAIL),
        # 1 undecided could still fail and drop 90 to... 90 is reached even if it fails -> Pass
        ((UNDECIDED, *[PASS] * 9), Verdict.PASS),
        # 2 undecided: the score could end at 80, so not yet a Pass; at best 100, so not a Fail
        ((UNDECIDED, UNDECIDED, *[PASS] * 8), Verdict.INCONCLUSIVE),
    ],
)
def test_thresholds_decide_only_once_the_undecided_metrics_cannot_overturn_the_score(
    verdicts: tuple[MetricTest, ...], expected: Verdict
) -> None:
    judgement = analysis.judge(_fleet(*verdicts), thresholds=KAYENTA)

    assert judgement.verdict == expected
    assert "Pass at 90, Fail below 75: the score ends between" in judgement.explanation


@pytest.mark.parametrize("weights", [(1.0, 1.0), (1.1, 2.2), (0.1, 0.2), (0.3, 0.7, 1e-9)])
def test_thresholds_of_100_and_100_are_the_strict_rules(weights: tuple[float, ...]) -> None:
    """Also for weights whose float sums round (1.1 + 2.2 != 3.3): the score is summed exactly."""
    strict = analysis.ScoreThresholds()
    for verdicts in itertools.product((PASS, FAILED, UNDECIDED), repeat=len(weights)):
        metrics = [
            JudgedMetric(f"m{i}", v, weight=w) for i, (v, w) in enumerate(zip(verdicts, weights, strict=True))
        ]
        assert analysis.judge(metrics, thresholds=strict).verdict == analysis.judge(metrics).verdict, verdicts


def test_a_metric_of_weight_zero_is_left_out_of_the_score_and_no_weight_at_all_is_strict() -> None:
    metrics = [JudgedMetric("counted", PASS), JudgedMetric("ignored", FAILED, weight=0.0)]
    assert analysis.judge(metrics, thresholds=KAYENTA).verdict == Verdict.PASS

    weightless = [JudgedMetric("a", PASS, weight=0.0), JudgedMetric("b", FAILED, weight=0.0)]
    assert analysis.judge(weightless, thresholds=KAYENTA).verdict == Verdict.FAIL
    all_pass = [JudgedMetric("a", PASS, weight=0.0)]
    assert analysis.judge(all_pass, thresholds=KAYENTA).verdict == Verdict.PASS


def test_with_nothing_decided_the_thresholds_never_pass() -> None:
    lowest = analysis.ScoreThresholds(passing=1, marginal=0)

    assert analysis.judge(_fleet(UNDECIDED, UNDECIDED), thresholds=lowest).verdict == Verdict.INCONCLUSIVE


def test_weights_count_in_the_thresholds() -> None:
    metrics = [JudgedMetric("heavy", PASS, weight=9.0), JudgedMetric("light", FAILED, weight=1.0)]

    assert analysis.judge(metrics, thresholds=KAYENTA).verdict == Verdict.PASS
    metrics = [JudgedMetric("heavy", FAILED, weight=9.0), JudgedMetric("light", PASS, weight=1.0)]
    assert analysis.judge(metrics, thresholds=KAYENTA).verdict == Verdict.FAIL
