"""Presence queries: asked over the last intervals for the whole fleet, over the whole day only
for the models not found, so a tick's cost does not grow with what Prometheus retains."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from modelrollout.metrics import (
    BatchedQuerier,
    InstantQuery,
    PointStore,
    Presence,
    RangeSeries,
    Selection,
    StaticSource,
)
from modelrollout.metrics import queries as defaults
from modelrollout.metrics.presence import narrowed_selector

T0 = datetime(2025, 1, 1, 12, tzinfo=UTC)
SERIES = 'model_requests_total{outcome="error"}'
FULL = defaults.series_presence(SERIES)
INTERVAL = 30.0


def seen(model: str, *seconds_ago: float, namespace: str = "ns") -> RangeSeries:
    return RangeSeries(
        {"namespace": namespace, "model": model},
        tuple((T0.timestamp() - s, 1.0) for s in sorted(seconds_ago, reverse=True)),
    )


def wanted(*models: str, namespace: str = "ns") -> list[Selection]:
    query = InstantQuery(FULL, T0, presence=Presence(SERIES, recent=2 * INTERVAL))
    return [(query, (("model", model), ("namespace", namespace))) for model in models]


def present(outcomes: object, selection: Selection) -> bool:
    return bool(outcomes[selection])  # type: ignore[index]


def day_long(source: StaticSource) -> list[str]:
    return [call.promql for call in source.calls if call.promql.endswith("[24h]))")]


def test_a_fleet_with_recent_series_is_never_asked_a_day_of_samples() -> None:
    # Given three models whose error series were scraped within the last two intervals
    source = StaticSource({FULL: [seen(m, 120, 15) for m in ("a", "b", "c")]})
    selections = wanted("a", "b", "c")

    # When one tick asks whether each has the series
    outcomes = BatchedQuerier(source, store=PointStore(clock=T0.timestamp)).select(selections)

    # Then one query over the last two intervals answered all three, and none read the whole day
    assert [present(outcomes, s) for s in selections] == [True, True, True]
    assert [call.promql for call in source.calls] == [defaults.series_presence(SERIES, 2 * INTERVAL)]
    assert day_long(source) == []


def test_only_the_models_not_seen_lately_are_asked_over_the_day_and_only_their_series() -> None:
    # Given one model seen lately, one last seen four minutes ago, one that never had the series
    source = StaticSource({FULL: [seen("lately", 15), seen("earlier", 240)]})
    selections = wanted("lately", "earlier", "never")

    # When one tick asks
    outcomes = BatchedQuerier(source).select(selections)

    # Then the day is read only for the two not seen lately, with matchers selecting them alone
    assert [present(outcomes, s) for s in selections] == [True, True, False]
    (long_query,) = day_long(source)
    assert 'model=~"earlier|never"' in long_query and 'namespace="ns"' in long_query
    assert 'outcome="error"' in long_query and "lately" not in long_query


def test_a_later_batch_of_the_same_tick_asks_only_for_what_is_not_settled() -> None:
    source = StaticSource({FULL: [seen("a", 15), seen("b", 240)]})
    querier = BatchedQuerier(source, store=PointStore(clock=T0.timestamp))
    querier.select(wanted("a", "b"))
    asked = len(source.calls)

    # When a later batch of the tick asks again for a and b, and for c
    outcomes = querier.select(wanted("a", "b", "c"))

    # Then only c is asked, over the day
    assert [call.promql for call in source.calls[asked:]] == [
        defaults.series_presence(narrowed_selector(SERIES, [(("model", "c"), ("namespace", "ns"))]) or "")
    ]
    assert [present(outcomes, s) for s in wanted("a", "b", "c")] == [True, True, False]


def test_a_selector_that_cannot_be_narrowed_is_asked_as_before() -> None:
    series = "sum(model_requests_total)"  # not a plain selector
    full = defaults.series_presence(series)
    source = StaticSource({full: [seen("a", 240)]})
    query = InstantQuery(full, T0, presence=Presence(series, recent=2 * INTERVAL))
    selection: Selection = (query, (("model", "a"), ("namespace", "ns")))

    outcomes = BatchedQuerier(source).select([selection])

    assert present(outcomes, selection)
    assert source.calls[-1].promql == full


@pytest.mark.parametrize(
    ("series", "narrowed"),
    [
        ("up", 'up{model="m.1", namespace="ns"}'),
        ('x_total{code=~"5.."}', 'x_total{code=~"5..", model="m.1", namespace="ns"}'),
        ("x_total{}", 'x_total{model="m.1", namespace="ns"}'),
        ('x{a="}"}', None),
        ("rate(x[5m])", None),
    ],
)
def test_narrowing_adds_matchers_to_a_plain_selector_only(series: str, narrowed: str | None) -> None:
    assert narrowed_selector(series, [(("model", "m.1"), ("namespace", "ns"))]) == narrowed


def test_several_values_are_matched_literally() -> None:
    narrowed = narrowed_selector("up", [(("model", "m.1"),), (("model", "m+2"),)])
    assert narrowed == 'up{model=~"m\\\\+2|m\\\\.1"}'
