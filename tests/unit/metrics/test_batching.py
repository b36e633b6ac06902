"""Batching: each distinct query is sent once; every requester gets only its own window."""

from __future__ import annotations

from datetime import UTC, datetime

from modelrollout.metrics import (
    BatchedQuerier,
    InstantQuery,
    MetricSourceError,
    QueryOutcome,
    RangeQuery,
    RangeSeries,
    StaticSource,
)
from modelrollout.metrics import queries as defaults

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0.timestamp() + seconds, tz=UTC)


def ranges(outcome: QueryOutcome) -> list[RangeSeries]:
    assert isinstance(outcome, list)
    return [series for series in outcome if isinstance(series, RangeSeries)]


def grid(labels: dict[str, str], seconds: range, value: float = 1.0) -> RangeSeries:
    return RangeSeries(labels, tuple((at(s).timestamp(), value) for s in seconds))


def test_queries_sharing_text_step_and_end_are_one_request_over_the_union_of_windows() -> None:
    promql = defaults.requests(defaults.REQUESTS_METRIC, 30)
    source = StaticSource({promql: [grid({"model": "a"}, range(0, 601, 30))]})
    early = RangeQuery(promql, at(30), at(600), 30)
    late = RangeQuery(promql, at(300), at(600), 30)
    querier = BatchedQuerier(source)

    outcomes = querier.fetch([early, late, late])

    assert querier.executed == 1
    assert [(c.start, c.end) for c in source.calls] == [(at(30), at(600))]
    (early_series,) = ranges(outcomes[early])
    (late_series,) = ranges(outcomes[late])
    assert len(early_series.points) == 20
    assert [p[0] for p in late_series.points] == [at(s).timestamp() for s in range(300, 601, 30)]


def test_different_ends_or_steps_are_different_requests() -> None:
    source = StaticSource()
    querier = BatchedQuerier(source)

    querier.fetch(
        [
            RangeQuery("q", at(0), at(60), 30),
            RangeQuery("q", at(0), at(90), 30),
            RangeQuery("q", at(0), at(60), 15),
        ]
    )

    assert querier.executed == 3


def test_identical_instant_queries_are_sent_once() -> None:
    querier = BatchedQuerier(StaticSource())

    querier.fetch([InstantQuery("q", T0), InstantQuery("q", T0), InstantQuery("q", at(30))])

    assert querier.executed == 2


def test_a_long_window_is_split_under_the_point_limit_and_stitched_back() -> None:
    promql = "q"
    source = StaticSource({promql: [grid({"v": "1"}, range(0, 301, 30))]})
    querier = BatchedQuerier(source, max_points=4)
    query = RangeQuery(promql, at(0), at(300), 30)

    outcome = querier.fetch([query])[query]

    assert querier.executed == 3
    assert [(c.start, c.end) for c in source.calls] == [
        (at(0), at(90)),
        (at(120), at(210)),
        (at(240), at(300)),
    ]
    (series,) = ranges(outcome)
    assert [p[0] for p in series.points] == [at(s).timestamp() for s in range(0, 301, 30)]


def test_a_failed_request_is_the_outcome_of_every_query_it_served() -> None:
    source = StaticSource(failing={"q"})
    first, second = RangeQuery("q", at(0), at(60), 30), RangeQuery("q", at(30), at(60), 30)

    outcomes = BatchedQuerier(source).fetch([first, second])

    assert isinstance(outcomes[first], MetricSourceError)
    assert isinstance(outcomes[second], MetricSourceError)


def test_built_in_queries_carry_no_per_rollout_filter() -> None:
    assert defaults.histogram_buckets("model_request_duration_seconds", 30) == (
        "sum by (namespace, model, version, le) (increase(model_request_duration_seconds_bucket[30s]))"
    )
    assert defaults.request_errors("model_requests_total", 60) == (
        'sum by (namespace, model, version) (increase(model_requests_total{outcome="error"}[1m]))'
    )


def test_the_resource_query_selects_the_candidate_pods_by_name() -> None:
    query = defaults.pod_resource("container_cpu_usage_seconds_total", "team-a", "fraud.x", "v8", 30)

    assert 'namespace="team-a"' in query
    assert 'pod=~"fraud\\\\.x-v8-.*"' in query
    assert query.startswith("max(sum by (pod) (rate(container_cpu_usage_seconds_total{")
    memory = defaults.pod_resource("container_memory_working_set_bytes", "team-a", "fraud", "v8", 30)
    assert "max_over_time(container_memory_working_set_bytes{" in memory
