"""Evidence that is really there: absent series, wrong shapes and silent versions never Pass."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from modelrollout.api.v1alpha1 import ErrorSeriesSpec, MetricSpec, MetricType, ScoreThresholdsSpec, Verdict
from modelrollout.evaluation import evaluate_interval
from modelrollout.evaluation.checks import silent_looks
from modelrollout.metrics import RangeSeries, StaticSource
from modelrollout.metrics import queries as defaults

from ...fixtures import evaluation_fleet as fleet
from ...fixtures.evaluation_fleet import ERRORS, INTERVAL, LATENCY, Rollout, Version, analysis, request

FIRST_END = fleet.moment(fleet.START.timestamp() + 50)
AT = fleet.moment(fleet.START.timestamp() + 50 + 9 * INTERVAL)
LABELS = {"namespace": "team-a", "model": "fraud"}


def test_an_error_series_that_exists_for_no_version_is_a_configuration_error() -> None:
    # Given requests for both versions but an error series this model never had
    rollout = Rollout(
        "team-a", "fraud", Version(error_rate=None), Version(error_rate=None), error_series_known=False
    )
    source = fleet.fleet_source([rollout], FIRST_END, AT)

    # When the interval is evaluated
    result = evaluate_interval(request(rollout, analysis(ERRORS), AT), source)

    # Then the metric is a configuration error naming the query, never zero errors
    (errors,) = result.metrics
    assert (errors.verdict, errors.configuration_error) == (Verdict.INCONCLUSIVE, "MetricNotFound")
    assert 'model_requests_total{outcome="error"}' in errors.explanation
    assert result.configuration_error is not None and "errors: MetricNotFound" in result.configuration_error


def test_a_configuration_error_blocks_a_pass_even_when_the_score_would_pass() -> None:
    rollout = Rollout(
        "team-a", "fraud", Version(error_rate=None), Version(error_rate=None), error_series_known=False
    )
    source = fleet.fleet_source([rollout], FIRST_END, AT)
    lenient = analysis(LATENCY, ERRORS, score_thresholds=ScoreThresholdsSpec.model_validate({"pass": 50}))

    result = evaluate_interval(request(rollout, lenient, AT), source)

    assert {m.name: m.verdict for m in result.metrics}["latency"] is Verdict.PASS
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "configuration error" in result.judgement.explanation


def test_a_version_without_errors_has_zero_once_the_other_version_has_the_series() -> None:
    rollout = Rollout("team-a", "fraud", candidate=Version(error_rate=None), error_series_known=False)
    source = fleet.fleet_source([rollout], FIRST_END, AT)

    (errors,) = evaluate_interval(request(rollout, analysis(ERRORS), AT), source).metrics

    assert errors.configuration_error is None
    assert (errors.candidate, errors.verdict) == (0.0, Verdict.PASS)


def _counter_source(errors_metric: str, error_rate: float) -> StaticSource:
    """Requests in `fraud_requests_total`, errors in a counter of their own."""
    times = fleet.interval_ends(FIRST_END, AT)
    requests = [
        RangeSeries({**LABELS, "version": v}, tuple((t, 1000.0) for t in times)) for v in ("v1", "v2")
    ]
    errors = [
        RangeSeries({**LABELS, "version": v}, tuple((t, 1000.0 * rate) for t in times))
        for v, rate in (("v1", 0.01), ("v2", error_rate))
    ]
    return StaticSource(
        {
            defaults.requests("fraud_requests_total", INTERVAL): requests,
            defaults.grouped_increase(errors_metric, INTERVAL): errors,
        }
    )


@pytest.mark.parametrize(
    ("errors_series", "where"),
    [
        ("fraud_request_errors_total", ErrorSeriesSpec(metric_name="fraud_request_errors_total")),
        ('fraud_requests_total{code=~"5.."}', ErrorSeriesSpec(selector='{code=~"5.."}')),
    ],
    ids=["a-counter-of-their-own", "a-selector-on-the-request-counter"],
)
def test_errors_are_read_where_the_spec_says(errors_series: str, where: ErrorSeriesSpec) -> None:
    source = _counter_source(errors_series, 0.06)
    metric = MetricSpec(
        name="errors",
        type=MetricType.ERROR_RATE,
        metric_name="fraud_requests_total",
        errors=where,
        max_absolute_increase=0.005,
    )

    (errors,) = evaluate_interval(request(Rollout("team-a", "fraud"), analysis(metric), AT), source).metrics

    assert errors.verdict is Verdict.FAIL
    assert errors.candidate is not None and math.isclose(errors.candidate, 0.06)


def test_error_pattern_divides_by_the_request_counter_it_is_given() -> None:
    source = _counter_source(defaults.LOG_PATTERN_METRIC, 0.06)
    metric = MetricSpec(name="oom", type=MetricType.ERROR_PATTERN, request_metric_name="fraud_requests_total")

    (oom,) = evaluate_interval(request(Rollout("team-a", "fraud"), analysis(metric), AT), source).metrics

    assert oom.samples_candidate == 10_000
    assert oom.candidate is not None and math.isclose(oom.candidate, 0.06)


@pytest.mark.parametrize(
    ("metric", "value", "words"),
    [
        (
            MetricSpec(
                name="errors",
                type=MetricType.ERROR_RATE,
                query='sum(rate(errors{version="{{version}}"}[{{interval}}])) / sum(rate(requests[{{interval}}]))',
                max_absolute_increase=0.01,
            ),
            0.013,
            "0.013: a rate or a ratio",
        ),
        (
            MetricSpec(
                name="latency",
                type=MetricType.LATENCY,
                query='sum(increase(latency_count{version="{{version}}"}[{{interval}}]))',
                max_relative_increase=0.1,
            ),
            1000.0,
            "carry no `le` label",
        ),
    ],
    ids=["a-ratio-where-counts-are-needed", "a-histogram-without-le"],
)
def test_a_query_of_the_wrong_shape_is_a_configuration_error(
    metric: MetricSpec, value: float, words: str
) -> None:
    times = fleet.interval_ends(FIRST_END, AT)
    rollout = Rollout("team-a", "fraud")
    source = fleet.fleet_source([rollout], FIRST_END, AT)
    assert metric.query is not None
    for version in ("v1", "v2"):
        text = metric.query.replace("{{version}}", version).replace("{{interval}}", "30s")
        source._series[text] = [RangeSeries({}, tuple((t, value) for t in times))]

    (result,) = evaluate_interval(request(rollout, analysis(metric), AT), source).metrics

    assert (result.verdict, result.configuration_error) == (Verdict.INCONCLUSIVE, "MetricShapeInvalid")
    assert words in result.explanation and 'version="v2"' in result.explanation, "names the query"


@pytest.mark.parametrize(
    ("metric", "template"),
    [
        (ERRORS, defaults.requests(defaults.REQUESTS_METRIC, INTERVAL)),
        (LATENCY, defaults.histogram_buckets(defaults.LATENCY_METRIC, INTERVAL)),
    ],
    ids=["errorRate", "latency"],
)
def test_a_candidate_that_stops_reporting_is_held_inconclusive_never_passed_on_frozen_counts(
    metric: MetricSpec, template: str
) -> None:
    # Given a healthy candidate that reported 1000 requests per interval, then went silent (its
    # series stale) for the last three intervals while the stable kept serving
    rollout = Rollout("team-a", "fraud")
    source = fleet.fleet_source([rollout], FIRST_END, AT)
    silent_from = AT.timestamp() - 2 * INTERVAL
    source._series[template] = [
        replace(series, points=tuple(p for p in series.points if p[0] < silent_from))
        if series.labels["version"] == "v2"
        else series
        for series in source._series[template]
    ]

    # When the interval is evaluated
    (result,) = evaluate_interval(request(rollout, analysis(metric), AT), source).metrics

    # Then the metric names the silent version and does not pass on its frozen counts
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "candidate (v2) stopped reporting" in result.explanation
    assert "last 3 interval(s)" in result.explanation


def test_a_small_canary_with_empty_intervals_is_not_silent() -> None:
    # At 1 rps a 5% canary sees 1.5 requests per 30 s interval: three empty ones predict 4.5
    assert silent_looks([2, 1, 2, 0, 0, 0], [30, 28, 31, 29, 30, 30]) == 0
    assert silent_looks([200, 100, 200, 0, 0, 0], [30, 28, 31, 29, 30, 30]) == 3
    assert silent_looks([200, 100, 200, 0, 0, 0], [30, 28, 31, 0, 0, 0]) == 0, "both silent: no traffic"


@pytest.mark.parametrize(
    ("metric", "series"),
    [
        (
            MetricSpec(
                name="latency",
                type=MetricType.LATENCY,
                metric_name="fraud_latency_seconds",
                max_relative_increase=0.1,
            ),
            "fraud_latency_seconds_bucket",
        ),
        (
            MetricSpec(name="drift", type=MetricType.DRIFT, statistic="psi", max=0.2),
            "model_prediction_bucket",
        ),
    ],
    ids=["latency", "drift"],
)
def test_a_histogram_that_exists_for_no_version_is_a_configuration_error(
    metric: MetricSpec, series: str
) -> None:
    # Given a model with requests and latency series, but not the histogram the metric names
    rollout = Rollout("team-a", "fraud")
    source = fleet.fleet_source([rollout], FIRST_END, AT)

    # When the interval is evaluated
    (result,) = evaluate_interval(request(rollout, analysis(metric), AT), source).metrics

    # Then it is a configuration error naming the series, not an undecided "no data"
    assert (result.verdict, result.configuration_error) == (Verdict.INCONCLUSIVE, "MetricNotFound")
    assert f"no series {series}" in result.explanation


def test_a_histogram_the_model_had_before_is_no_data_for_a_quiet_window() -> None:
    # Given a model whose latency series exist within the lookback but not in the window
    rollout = Rollout("team-a", "fraud", candidate=Version(requests=0), stable=Version(requests=0))
    source = fleet.fleet_source(
        [Rollout("team-a", "other")], FIRST_END, AT, known_models=(("team-a", "fraud"),)
    )

    (result,) = evaluate_interval(request(rollout, analysis(LATENCY), AT), source).metrics

    assert result.configuration_error is None
    assert "no data for stable (v1) and candidate (v2)" in result.explanation


def test_a_past_window_asks_for_the_series_as_of_now() -> None:
    # Given a model whose series Prometheus first saw after the window (it was down throughout)
    rollout = Rollout("team-a", "fraud", candidate=Version(requests=0), stable=Version(requests=0))
    later = fleet.moment(AT.timestamp() + 2 * INTERVAL)
    series = fleet.fleet_series([Rollout("team-a", "other")], FIRST_END, AT)
    seen_later = [RangeSeries(LABELS, ((later.timestamp(), 1.0),))]
    for name in (defaults.REQUESTS_METRIC, defaults.error_series(defaults.REQUESTS_METRIC)):
        series[defaults.series_presence(name)] = seen_later
    source = StaticSource(series)  # type: ignore[arg-type]

    # When the final look over that past window is judged at the window's end, and as of now
    then = evaluate_interval(request(rollout, analysis(ERRORS), AT), source).metrics[0]
    now = evaluate_interval(request(rollout, analysis(ERRORS), AT, presence_at=later), source).metrics[0]

    # Then only the window's end finds no series; as of now the name is proven right: no data
    assert then.configuration_error == "MetricNotFound"
    assert now.configuration_error is None
    assert "no data for stable (v1) and candidate (v2)" in now.explanation
