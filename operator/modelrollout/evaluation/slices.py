"""What a probe is: the slices of query answers one metric reads, and how it turns them into a
`MetricTest`. Kept apart from the planner so the evaluation loop and the planner share the names."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..analysis import MetricTest
from ..api.v1alpha1 import MetricSpec, Verdict
from ..metrics import Query, RangeSeries, Series

Answer = Sequence[RangeSeries | Series]
Answers = Mapping[str, Answer]
"""Slice name -> the series of that slice."""
Measure = Callable[[Answers], MetricTest]

STABLE, CANDIDATE = "stable", "candidate"


@dataclass(frozen=True)
class Slice:
    query: Query
    labels: Mapping[str, str] | None = None
    """Labels a series must carry to belong here; None: the whole answer does."""


@dataclass(frozen=True)
class Probe:
    metric: MetricSpec
    measure: Measure
    slices: Mapping[str, Slice] = field(default_factory=dict)


def inconclusive(method: str, explanation: str) -> MetricTest:
    return MetricTest(verdict=Verdict.INCONCLUSIVE, method=method, explanation=explanation)


def settled(metric: MetricSpec, result: MetricTest) -> Probe:
    """A probe that needs no query: its result is known at planning time."""

    def measure(_: Answers) -> MetricTest:
        return result

    return Probe(metric, measure)


def ranges(answers: Answers, key: str) -> list[RangeSeries]:
    return [series for series in answers.get(key, []) if isinstance(series, RangeSeries)]
