"""Batching: many rollouts' queries in, each distinct query run once, results fanned back out.

A range query is keyed by (promql, step, end). Rollouts whose analyses started at different
times but share a query text, step and evaluation time are served by ONE range query over the
union of their windows; each gets back only the points inside its own window. Because the
built-in queries carry no per-rollout filter, a fleet of rollouts with the same interval costs
one query per template per interval.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .source import MetricSource, MetricSourceError, RangeSeries, Series

MAX_POINTS_PER_QUERY = 10_000
"""Prometheus refuses range queries of more than 11,000 points per series; longer windows are split."""


@dataclass(frozen=True)
class RangeQuery:
    promql: str
    start: datetime
    end: datetime
    step: float
    """Seconds; start, end and every point between are whole multiples of it."""


@dataclass(frozen=True)
class InstantQuery:
    promql: str
    at: datetime


Query = RangeQuery | InstantQuery
QueryOutcome = list[RangeSeries] | list[Series] | MetricSourceError
"""The series a query returned, or why it could not be answered."""


class BatchedQuerier:
    """Runs a batch of queries against one source with each distinct query sent once.

    `executed` counts the requests actually sent, which is what batching is judged by. Past
    `deadline` (a `time.monotonic()` value) no query is sent: each fails at once, so a batch
    against a server that holds every query ends soon after the caller stopped waiting for it.
    """

    def __init__(
        self, source: MetricSource, *, max_points: int = MAX_POINTS_PER_QUERY, deadline: float | None = None
    ) -> None:
        self.source = source
        self.max_points = max_points
        self.deadline = deadline
        self.executed = 0

    def fetch(self, queries: Iterable[Query]) -> dict[Query, QueryOutcome]:
        wanted = set(queries)
        outcomes: dict[Query, QueryOutcome] = {}
        ranges: dict[tuple[str, float, datetime], list[RangeQuery]] = defaultdict(list)
        for query in wanted:
            if isinstance(query, InstantQuery):
                outcomes[query] = self._instant(query)
            else:
                ranges[(query.promql, query.step, query.end)].append(query)
        for (promql, step, end), members in ranges.items():
            start = min(member.start for member in members)
            merged = self._range(promql, start, end, step)
            for member in members:
                outcomes[member] = (
                    merged if isinstance(merged, MetricSourceError) else _within(merged, member)
                )
        return outcomes

    def _late(self) -> MetricSourceError | None:
        if self.deadline is None or time.monotonic() < self.deadline:
            return None
        return MetricSourceError("not sent: the analysis ran out of time")

    def _instant(self, query: InstantQuery) -> QueryOutcome:
        late = self._late()
        if late is not None:
            return late
        self.executed += 1
        try:
            return self.source.query(query.promql, query.at)
        except MetricSourceError as error:
            return error

    def _range(
        self, promql: str, start: datetime, end: datetime, step: float
    ) -> list[RangeSeries] | MetricSourceError:
        """One range query, split in chunks when it would exceed Prometheus' point limit."""
        chunk = timedelta(seconds=step * self.max_points)
        points: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = defaultdict(list)
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + chunk - timedelta(seconds=step))
            late = self._late()
            if late is not None:
                return late
            self.executed += 1
            try:
                answer = self.source.query_range(promql, chunk_start, chunk_end, step)
            except MetricSourceError as error:
                return error
            for series in answer:
                points[_label_key(series.labels)].extend(series.points)
            chunk_start = chunk_end + timedelta(seconds=step)
        return [RangeSeries(labels=dict(key), points=tuple(sorted(values))) for key, values in points.items()]


def _label_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _within(merged: list[RangeSeries], query: RangeQuery) -> list[RangeSeries]:
    low, high = query.start.timestamp(), query.end.timestamp()
    clipped = (
        RangeSeries(labels=s.labels, points=tuple(p for p in s.points if low <= p[0] <= high)) for s in merged
    )
    return [series for series in clipped if series.points]
