"""An A/B test's goal through the evaluation path: its batched queries, its test and the winner."""

from __future__ import annotations

from datetime import timedelta

from modelrollout.api.v1alpha1 import (
    GoalKind,
    GoalSpec,
    MetricSpec,
    MetricType,
    ModelRolloutSpec,
    Verdict,
    strategy_steps,
)
from modelrollout.evaluation import evaluate_intervals, first_interval_end, request_for_step
from modelrollout.metrics import RangeSeries, StaticSource
from modelrollout.metrics import queries as defaults

from ...fixtures.evaluation_fleet import (
    ERRORS,
    INTERVAL,
    LATENCY,
    START,
    Rollout,
    Version,
    analysis,
    fleet_series,
    interval_ends,
    request,
)
from ...fixtures.specs import ab_test, patched

FIRST_END = first_interval_end(START, INTERVAL)
AT = FIRST_END + timedelta(seconds=INTERVAL * 19)
CONVERSIONS = MetricSpec(
    name="conversions",
    type=MetricType.GOAL,
    metric_name="model_conversions_total",
    goal=GoalSpec(kind=GoalKind.RATE),
)
ORDER_VALUE = MetricSpec(
    name="order-value", type=MetricType.GOAL, metric_name="order_value", goal=GoalSpec(kind=GoalKind.MEAN)
)


def _labels(rollout: Rollout, version: str) -> dict[str, str]:
    return {"namespace": rollout.namespace, "model": rollout.model, "version": version}


def _source(rollouts: list[tuple[Rollout, float, float]]) -> StaticSource:
    """The fleet's latency and errors, plus conversions at the given rates per version and an
    order value whose mean is 10 times each rate (the spread between intervals from a fixed
    pattern, so the test is deterministic)."""
    series = fleet_series([rollout for rollout, _, _ in rollouts], FIRST_END, AT)
    times = interval_ends(FIRST_END, AT)
    conversions, sums, counts, present = [], [], [], []
    for rollout, stable_rate, candidate_rate in rollouts:
        model = {"namespace": rollout.namespace, "model": rollout.model}
        present.append(RangeSeries(model, tuple((t, 1.0) for t in times)))
        for version, data, rate in (
            (rollout.stable_version, rollout.stable, stable_rate),
            (rollout.candidate_version, rollout.candidate, candidate_rate),
        ):
            labels = _labels(rollout, version)
            conversions.append(RangeSeries(labels, tuple((t, data.requests * rate) for t in times)))
            wobble = [1.0 + 0.2 * ((index % 5) - 2) for index in range(len(times))]
            sums.append(
                RangeSeries(
                    labels, tuple((t, 100 * 10 * rate * w) for t, w in zip(times, wobble, strict=True))
                )
            )
            counts.append(RangeSeries(labels, tuple((t, 100.0) for t in times)))
    series[defaults.grouped_increase("model_conversions_total", INTERVAL)] = conversions
    series[defaults.series_presence("model_conversions_total")] = present
    series[defaults.grouped_increase("order_value_sum", INTERVAL)] = sums
    series[defaults.grouped_increase("order_value_count", INTERVAL)] = counts
    series[defaults.series_presence("order_value_count")] = present
    return StaticSource(series)


def test_a_better_candidate_with_healthy_guardrails_wins_and_one_query_per_template_is_sent() -> None:
    better, same = Rollout("team-a", "shop"), Rollout("team-b", "shop")
    source = _source([(better, 0.05, 0.08), (same, 0.05, 0.05)])
    spec = analysis(CONVERSIONS, ORDER_VALUE, LATENCY, ERRORS)

    won, undecided = evaluate_intervals([request(better, spec, AT), request(same, spec, AT)], source)

    assert won.verdict is Verdict.PASS, won.judgement.explanation
    assert won.judgement.explanation.startswith("Winner")
    conversions = won.metrics[0]
    assert conversions.verdict is Verdict.PASS
    assert conversions.effect is not None and abs(conversions.effect - 0.03) < 1e-9
    assert conversions.interval_low is not None and 0 < conversions.interval_low < 0.03
    assert won.metrics[1].verdict is Verdict.PASS  # the mean: 0.8 against 0.5
    assert undecided.verdict is Verdict.INCONCLUSIVE
    texts = [call.promql for call in source.calls]
    assert len(texts) == len(set(texts)), "every template is sent once for the whole fleet"


def test_a_guardrail_failure_fails_the_test_whatever_the_goal_says() -> None:
    rollout = Rollout("team-a", "shop", candidate=Version(error_rate=0.2))
    result = evaluate_intervals(
        [request(rollout, analysis(CONVERSIONS, ERRORS), AT)], _source([(rollout, 0.05, 0.08)])
    )[0]
    assert result.verdict is Verdict.FAIL
    assert result.metrics[0].verdict is Verdict.PASS


def test_a_goal_shown_not_superior_is_no_winner_but_no_failure() -> None:
    rollout = Rollout("team-a", "shop")
    goal = CONVERSIONS.model_copy(update={"goal": GoalSpec(kind=GoalKind.RATE, min_effect=0.03)})
    result = evaluate_intervals(
        [request(rollout, analysis(goal, ERRORS), AT)], _source([(rollout, 0.05, 0.05)])
    )[0]
    assert result.metrics[0].verdict is Verdict.FAIL
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "shown not superior" in result.judgement.explanation


def test_a_misnamed_goal_counter_is_a_configuration_error() -> None:
    rollout = Rollout("team-a", "shop")
    goal = CONVERSIONS.model_copy(update={"metric_name": "model_conversion_total"})
    result = evaluate_intervals(
        [request(rollout, analysis(goal, ERRORS), AT)], _source([(rollout, 0.05, 0.08)])
    )[0]
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.configuration_error is not None and "model_conversion_total" in result.configuration_error


def test_an_ab_test_is_a_split_then_one_analysis_step_whose_deadline_is_its_duration() -> None:
    spec = ModelRolloutSpec.model_validate(patched(ab_test(split=20, duration="2h")))
    split, test = strategy_steps(spec)
    assert split.set_weight == 20 and test.analysis is not None
    at = FIRST_END + timedelta(minutes=5)
    found = request_for_step(spec, namespace="team-a", name="shop", started_at=START, at=at, step=1)
    assert found.max_duration == "2h" and found.metrics is None
    untimed = ModelRolloutSpec.model_validate(patched(ab_test()))
    assert (
        request_for_step(untimed, namespace="n", name="s", started_at=START, at=at, step=1).max_duration
        is None
    )
