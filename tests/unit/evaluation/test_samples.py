"""From range answers to cumulative counts, per look and in total."""

from __future__ import annotations

import math

from modelrollout.evaluation import samples
from modelrollout.metrics import RangeSeries


def series(*points: tuple[float, float], **labels: str) -> RangeSeries:
    return RangeSeries(labels=labels, points=points)


def test_running_totals_add_every_series_at_each_look_and_skip_what_is_not_finite() -> None:
    answer = [
        series((30.0, 2.0), (60.0, 3.0), (90.0, math.nan), pod="a"),
        series((60.0, 1.0), (90.0, 4.0), pod="b"),
    ]
    times = samples.look_times(answer)
    assert times == [30.0, 60.0, 90.0]
    assert samples.running_totals(answer, times) == [2.0, 6.0, 10.0]
    assert samples.total(answer) == 10.0


def test_a_look_only_another_answer_holds_adds_nothing() -> None:
    requests = [series((30.0, 10.0), (60.0, 10.0), (90.0, 10.0))]
    errors = [series((90.0, 1.0))]
    times = samples.look_times(requests, errors)
    assert samples.running_totals(errors, times) == [0.0, 0.0, 1.0]
    assert samples.running_totals(requests, times) == [10.0, 20.0, 30.0]


def test_a_value_query_has_one_value_per_look_of_the_grid_or_none() -> None:
    looks = samples.look_grid(30.0, 120.0, 30.0)
    answer = [series((30.0, 0.9), (60.000_000_1, 0.8), (90.0, math.nan))]

    assert looks == [30.0, 60.0, 90.0, 120.0]
    assert samples.values_at(answer, looks) == [0.9, 0.8, None, None]
    assert samples.values_at([], looks) == [None] * 4


def test_two_values_at_one_look_are_not_one_number() -> None:
    answer = [series((30.0, 0.9), pod="a"), series((30.0, 0.7), pod="b")]

    assert samples.values_at(answer, [30.0]) is None
    assert samples.values_at([series((30.0, 0.9), pod="a"), series((60.0, 0.7), pod="b")], [30.0, 60.0]) == [
        0.9,
        0.7,
    ]
