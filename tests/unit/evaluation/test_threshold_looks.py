"""Custom and resource checks count failed looks (Flagger's `threshold`) instead of deciding on one.

Every look of the analysis step is a point of the range query, so the count is re-derived from
Prometheus at each evaluation: nothing is remembered, and a restarted operator (or a backtest)
counts exactly what the running one counted.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

from modelrollout.api.v1alpha1 import MetricResult, MetricSpec, MetricType, ThresholdRange, Verdict
from modelrollout.evaluation import evaluate_interval, first_interval_end
from modelrollout.metrics import RangeSeries, StaticSource, TemplateContext, render
from modelrollout.metrics import queries as defaults

from ...fixtures.evaluation_fleet import (
    INTERVAL,
    START,
    Rollout,
    Version,
    analysis,
    fleet_series,
    interval_ends,
    request,
)

FIRST_END = first_interval_end(START, INTERVAL)
ROLLOUT = Rollout("team-a", "fraud")
TEMPLATE = 'sum(rate(conversions_total{version="{{version}}"}[{{interval}}]))'
QUERY = render(TEMPLATE, TemplateContext("team-a", "fraud", "fraud", "v2", "v1", "v2", INTERVAL))
CUSTOM = MetricSpec(
    name="conversions", type=MetricType.CUSTOM, query=TEMPLATE, threshold_range=ThresholdRange(min=0.9)
)
GOOD, BAD = 0.95, 0.5


def look(number: int) -> datetime:
    """The end of the `number`-th complete interval of the step (1-based)."""
    return FIRST_END + timedelta(seconds=INTERVAL * (number - 1))


def source(values: list[float | None], rollout: Rollout = ROLLOUT, *, requests: bool = True) -> StaticSource:
    """The custom query's value at each look (None: no point at that look), beside the fleet's
    request counters (absent when `requests` is False)."""
    times = interval_ends(FIRST_END, look(len(values)))
    points = tuple((t, value) for t, value in zip(times, values, strict=True) if value is not None)
    series = fleet_series([rollout], FIRST_END, look(len(values))) if requests else {}
    return StaticSource({**series, QUERY: [RangeSeries({}, points)]})


def evaluate(values: list[float | None], metric: MetricSpec = CUSTOM, **options: object) -> MetricResult:
    rollout = options.pop("rollout", ROLLOUT)
    assert isinstance(rollout, Rollout)
    data = source(values, rollout, **options)  # type: ignore[arg-type]
    (result,) = evaluate_interval(request(rollout, analysis(metric), look(len(values))), data).metrics
    return result


def test_one_bad_look_among_good_ones_does_not_fail() -> None:
    latest_bad = evaluate([GOOD, GOOD, BAD])
    earlier_bad = evaluate([GOOD, BAD, GOOD, GOOD])

    assert latest_bad.verdict is Verdict.INCONCLUSIVE, latest_bad.explanation
    assert "1 of failureThreshold 3" in latest_bad.explanation
    assert latest_bad.candidate == BAD
    assert earlier_bad.verdict is Verdict.PASS, earlier_bad.explanation
    assert "1 of failureThreshold 3" in earlier_bad.explanation


def test_failure_threshold_bad_looks_fail_even_when_the_latest_look_is_good() -> None:
    result = evaluate([BAD, GOOD, BAD, BAD, GOOD])

    assert result.verdict is Verdict.FAIL, result.explanation
    assert "3 of failureThreshold 3" in result.explanation
    assert result.candidate == BAD, "the value shown is the last failed look's"
    assert result.samples_candidate == 5, "samples are looks"


def test_a_failure_threshold_of_one_decides_on_the_first_bad_look() -> None:
    strict = CUSTOM.model_copy(update={"failure_threshold": 1})

    assert evaluate([GOOD, BAD], strict).verdict is Verdict.FAIL
    assert evaluate([GOOD], strict).verdict is Verdict.PASS


def test_the_count_is_rederived_from_the_range_data_after_a_restart() -> None:
    """Two operators that share no memory, only Prometheus, see the same count."""
    values: list[float | None] = [BAD, GOOD, BAD, BAD]
    data = source(values)
    running = evaluate_interval(request(ROLLOUT, analysis(CUSTOM), look(3)), data).metrics[0]
    restarted = evaluate_interval(request(ROLLOUT, analysis(CUSTOM), look(3)), source(values)).metrics[0]
    later = evaluate_interval(request(ROLLOUT, analysis(CUSTOM), look(4)), source(values)).metrics[0]

    assert running.verdict is Verdict.INCONCLUSIVE and "2 of failureThreshold 3" in running.explanation
    assert restarted == running
    assert later.verdict is Verdict.FAIL and "3 of failureThreshold 3" in later.explanation


def test_missing_and_nan_looks_are_never_failures() -> None:
    result = evaluate([None, math.nan, BAD, None, math.nan])

    assert result.verdict is Verdict.INCONCLUSIVE, result.explanation
    assert "1 of failureThreshold 3" in result.explanation
    assert "no value at the latest look" in result.explanation.lower()
    assert result.samples_candidate == 1


def test_a_custom_check_does_not_pass_before_min_samples_candidate_requests() -> None:
    quiet = Rollout("team-a", "fraud", candidate=Version(requests=5.0))
    busy = Rollout("team-a", "fraud", candidate=Version(requests=100.0))

    waiting = evaluate([GOOD] * 5, rollout=quiet)
    passed = evaluate([GOOD] * 5, rollout=busy)

    assert waiting.verdict is Verdict.INCONCLUSIVE, waiting.explanation
    assert "25 requests, fewer than minSamples 50" in waiting.explanation
    assert passed.verdict is Verdict.PASS, passed.explanation


def test_a_candidate_without_requests_of_a_model_that_counts_them_has_zero() -> None:
    """The stable's request series exists: the candidate's absence means none yet, not unknown."""
    series = fleet_series([ROLLOUT], FIRST_END, look(4))
    counter = defaults.requests(defaults.REQUESTS_METRIC, INTERVAL)
    series[counter] = [s for s in series[counter] if s.labels["version"] == "v1"]
    series[QUERY] = [RangeSeries({}, tuple((t, GOOD) for t in interval_ends(FIRST_END, look(4))))]

    (result,) = evaluate_interval(request(ROLLOUT, analysis(CUSTOM), look(4)), StaticSource(series)).metrics

    assert result.verdict is Verdict.INCONCLUSIVE, result.explanation
    assert "0 requests, fewer than minSamples 50" in result.explanation


def test_without_a_request_counter_min_samples_is_not_applied_and_the_explanation_says_so() -> None:
    result = evaluate([GOOD] * 3, requests=False)

    assert result.verdict is Verdict.PASS, result.explanation
    assert defaults.REQUESTS_METRIC in result.explanation and "minSamples" in result.explanation


def test_a_guardrail_failure_counts_before_min_samples() -> None:
    """Memory must be able to fail early: failed looks count whatever the request count."""
    memory = MetricSpec(
        name="memory", type=MetricType.RESOURCE, metric_name="container_memory_working_set_bytes", max=1e9
    )
    times = interval_ends(FIRST_END, look(3))
    quiet = Rollout("team-a", "fraud", candidate=Version(requests=1.0))
    series = fleet_series([quiet], FIRST_END, look(3))
    for version, usage in (("v1", 5e8), ("v2", 2e9)):
        promql = defaults.pod_resource(memory.metric_name or "", "team-a", "fraud", version, INTERVAL)
        series[promql] = [RangeSeries({}, tuple((t, usage) for t in times))]

    (result,) = evaluate_interval(request(quiet, analysis(memory), look(3)), StaticSource(series)).metrics

    assert result.verdict is Verdict.FAIL, result.explanation
    assert (result.stable, result.candidate, result.samples_candidate) == (5e8, 2e9, 3)


def test_a_query_with_two_values_at_a_look_is_inconclusive_with_the_reason() -> None:
    times = interval_ends(FIRST_END, look(3))
    data = StaticSource({QUERY: [RangeSeries({"pod": pod}, tuple((t, BAD) for t in times)) for pod in "ab"]})

    (result,) = evaluate_interval(request(ROLLOUT, analysis(CUSTOM), look(3)), data).metrics

    assert result.verdict is Verdict.INCONCLUSIVE
    assert "returned 2 series; it must return one" in result.explanation


def test_failed_looks_are_counted_in_the_step_even_when_evidence_carries() -> None:
    """A check's failureThreshold counts the looks of its step: the looks an earlier step already
    tolerated are not counted again when the comparisons' evidence reaches back before it."""
    data = source([GOOD, BAD, GOOD, GOOD, BAD, GOOD])
    later_step = replace(
        request(ROLLOUT, analysis(CUSTOM), look(6)), started_at=look(3), evidence_started_at=START
    )
    whole = evaluate_interval(request(ROLLOUT, analysis(CUSTOM), look(6)), data).metrics[0]

    (result,) = evaluate_interval(later_step, data).metrics

    assert "Failed looks: 2 of failureThreshold 3" in whole.explanation
    assert "Failed looks: 1 of failureThreshold 3 (3 of 3 looks had a value)" in result.explanation
