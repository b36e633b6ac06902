"""Batching: many rollouts' queries in, each distinct query run once, results fanned back out.

A range query is keyed by (promql, step, end). Rollouts whose analyses started at different
times but share a query text, step and evaluation time are served by ONE range query over the
union of their windows; each gets back only the points inside its own window. Because the
built-in queries carry no per-rollout filter, a fleet of rollouts with the same interval costs
one query per template per interval.

With a `PointStore` (the analysis batcher keeps one per Prometheus) range queries are keyed by
(promql, step) alone and ask only for the points the store does not hold yet, normally the
newest interval and the previous one again (`points` says why); each requester's answer is
assembled from the store, picking its own series by label instead of scanning the fleet's.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar, cast

from .answers import RangeColumns, range_columns
from .points import LabelIndex, PointStore, PointTable, Selector, label_key, series_labels
from .presence import HeldPresence, Presence, ask_presence
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
    presence: Presence | None = field(default=None, compare=False)
    """Set on a presence query (`promql` asks it over the whole fleet and lookback): the querier
    then asks it in two cheaper steps (`presence`) when it knows which series are wanted."""


Query = RangeQuery | InstantQuery
_Answer = TypeVar("_Answer")
QueryOutcome = list[RangeSeries] | list[Series] | MetricSourceError
"""The series a query returned, or why it could not be answered."""
Selection = tuple[Query, Selector]
"""A query and the labels its wanted series carry (`()`: the whole answer)."""


class BatchedQuerier:
    """Runs a batch of queries against one source with each distinct query sent once.

    `executed` counts the requests actually sent, which is what batching is judged by. Past
    `deadline` (a `time.monotonic()` value) no query is sent: each fails at once, so a batch
    against a server that holds every query ends soon after the caller stopped waiting for it.
    With a `store`, what earlier batches read is reused and only the rest is asked.
    """

    def __init__(
        self,
        source: MetricSource,
        *,
        max_points: int = MAX_POINTS_PER_QUERY,
        deadline: float | None = None,
        store: PointStore | None = None,
    ) -> None:
        self.source = source
        self.max_points = max_points
        self.deadline = deadline
        self.store = store
        self.executed = 0

    def select(self, wanted: Iterable[Selection]) -> Mapping[Selection, QueryOutcome]:
        """Each query's series carrying its selection's labels, each distinct query sent once.
        With a store, a selection's series are assembled when it is read (`_Assembled`)."""
        wanted = set(wanted)
        if self.store is not None:
            return self._select_held(self.store, wanted)
        selectors = _selectors(wanted)
        presences = {
            query: labels
            for query, labels in selectors.items()
            if isinstance(query, InstantQuery) and query.presence is not None
        }
        outcomes = self.fetch(query for query in selectors if query not in presences)
        for query, labels in presences.items():
            held = self._presence(query, labels, None)
            outcomes[query] = held if isinstance(held, MetricSourceError) else held.answer
        return _picked(outcomes, wanted)

    def fetch(self, queries: Iterable[Query]) -> dict[Query, QueryOutcome]:
        """Every series of each query's answer (`select` picks a requester's own)."""
        wanted = set(queries)
        if self.store is not None:
            held = self._select_held(self.store, {(query, ()) for query in wanted})
            return {query: held[(query, ())] for query in wanted}
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

    def _select_held(self, store: PointStore, wanted: set[Selection]) -> Mapping[Selection, QueryOutcome]:
        if not store.lock.acquire(timeout=self._wait()):
            busy = MetricSourceError("not sent: the previous analysis is still waiting for this Prometheus")
            return dict.fromkeys(wanted, busy)
        try:
            return self._select_locked(store, wanted)
        finally:
            store.lock.release()

    def _wait(self) -> float:
        """Seconds the store's lock may be waited for: until the deadline (-1: for ever)."""
        return -1.0 if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def _select_locked(self, store: PointStore, wanted: set[Selection]) -> Mapping[Selection, QueryOutcome]:
        now = store.clock()
        ranges: dict[tuple[str, float], list[RangeQuery]] = defaultdict(list)
        instants: dict[InstantQuery, set[Selector]] = defaultdict(set)
        for query, labels in wanted:
            if isinstance(query, InstantQuery):
                instants[query].add(labels)
            else:
                ranges[(query.promql, query.step)].append(query)
        tables: dict[tuple[str, float], PointTable | MetricSourceError] = {}
        for (promql, step), members in ranges.items():
            table = store.table(promql, step, {member.start for member in members}, now)
            start, end = min(m.start for m in members), max(m.end for m in members)
            tables[(promql, step)] = self._refresh(store, table, promql, start, end, now)
        picked: dict[InstantQuery, LabelIndex[Series] | MetricSourceError] = {}
        for query, selectors in instants.items():
            answer = self._held_instant(store, query, now, selectors)
            picked[query] = (
                answer if isinstance(answer, MetricSourceError) else LabelIndex(answer, series_labels)
            )
        store.forget(now)
        return _Assembled(store, self._wait, wanted, tables, picked)

    def _refresh(
        self, store: PointStore, table: PointTable, promql: str, start: datetime, end: datetime, now: float
    ) -> PointTable | MetricSourceError:
        """`table` once it holds `start`..`end`, or why the missing part could not be read."""
        settle = store.settle_for(table)
        for low, high in table.missing(start, end, now, settle):
            read_at = store.clock()
            answer = self._range_columns(promql, low, high, table.step)
            if isinstance(answer, MetricSourceError):
                return answer
            table.store(low, high, answer, read_at, settle)
        return table

    def _held_instant(
        self, store: PointStore, query: InstantQuery, now: float, selectors: set[Selector]
    ) -> list[Series] | MetricSourceError:
        """The answer read earlier at the same `at` (one presence query per text per tick),
        completed for `selectors` when it is a presence query."""
        held = store.instant(query.promql, query.at, now)
        if query.presence is not None:
            presence = self._presence(query, selectors, held if isinstance(held, HeldPresence) else None)
            if isinstance(presence, MetricSourceError):
                return presence
            store.keep_instant(query.promql, query.at, presence, now)
            return presence.answer
        if held is not None:
            return held.answer if isinstance(held, HeldPresence) else held
        answer = self._instant(query)
        if not isinstance(answer, MetricSourceError):
            store.keep_instant(query.promql, query.at, answer, now)
        return answer

    def _presence(
        self, query: InstantQuery, selectors: set[Selector], held: HeldPresence | None
    ) -> HeldPresence | MetricSourceError:
        assert query.presence is not None
        return ask_presence(self._send_instant, query.promql, query.presence, query.at, selectors, held)

    def _send_instant(self, promql: str, at: datetime) -> list[Series] | MetricSourceError:
        return self._instant(InstantQuery(promql, at))

    def _late(self) -> MetricSourceError | None:
        if self.deadline is None or time.monotonic() < self.deadline:
            return None
        return MetricSourceError("not sent: the analysis ran out of time")

    def _instant(self, query: InstantQuery) -> list[Series] | MetricSourceError:
        return self._send(lambda: self.source.query(query.promql, query.at))

    def _send(self, ask: Callable[[], _Answer]) -> _Answer | MetricSourceError:
        """One request to the source, unless the deadline has passed; its error as a value."""
        late = self._late()
        if late is not None:
            return late
        self.executed += 1
        try:
            return ask()
        except MetricSourceError as error:
            return error

    def _range(
        self, promql: str, start: datetime, end: datetime, step: float
    ) -> list[RangeSeries] | MetricSourceError:
        """One range query, split in chunks when it would exceed Prometheus' point limit."""
        points: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = defaultdict(list)
        for low, high in self._chunks(start, end, step):
            answer = self._send(partial(self.source.query_range, promql, low, high, step))
            if isinstance(answer, MetricSourceError):
                return answer
            for series in answer:
                points[label_key(series.labels)].extend(series.points)
        return [RangeSeries(labels=dict(key), points=tuple(sorted(values))) for key, values in points.items()]

    def _range_columns(
        self, promql: str, start: datetime, end: datetime, step: float
    ) -> RangeColumns | MetricSourceError:
        """`_range` for the store: the chunks' columns one after the other (the store places
        each point by its time, so a series split across chunks needs no regrouping)."""
        columns = RangeColumns()
        for low, high in self._chunks(start, end, step):
            answer = self._send(partial(range_columns, self.source, promql, low, high, step))
            if isinstance(answer, MetricSourceError):
                return answer
            columns.extend(answer)
        return columns

    def _chunks(self, start: datetime, end: datetime, step: float) -> Iterator[tuple[datetime, datetime]]:
        """`start`..`end` in spans of at most `max_points` points."""
        chunk = timedelta(seconds=step * self.max_points)
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + chunk - timedelta(seconds=step))
            yield chunk_start, chunk_end
            chunk_start = chunk_end + timedelta(seconds=step)


class _Assembled(Mapping[Selection, QueryOutcome]):
    """Each selection's series, assembled from the store when the evaluation reads it.

    As objects a point costs about 100 bytes (a tuple and two floats) against 9 in the store:
    assembling every rollout's selections at once made a tick's peak grow with the window and the
    fleet, while one rollout's at a time is what its evaluation needs. A read takes the store's
    lock (a later batch may be refreshing the tables); what it reads stays held meanwhile, since
    the store keeps every window start asked in its last intervals.
    """

    def __init__(
        self,
        store: PointStore,
        wait: Callable[[], float],
        wanted: set[Selection],
        tables: dict[tuple[str, float], PointTable | MetricSourceError],
        instants: dict[InstantQuery, LabelIndex[Series] | MetricSourceError],
    ) -> None:
        self._store, self._wait, self._wanted = store, wait, wanted
        self._tables, self._instants = tables, instants

    def __getitem__(self, selection: Selection) -> QueryOutcome:
        if selection not in self._wanted:
            raise KeyError(selection)
        query, labels = selection
        if isinstance(query, InstantQuery):
            index = self._instants[query]
            return index if isinstance(index, MetricSourceError) else index.pick(labels)
        held = self._tables[(query.promql, query.step)]
        if isinstance(held, MetricSourceError):
            return held
        if not self._store.lock.acquire(timeout=self._wait()):
            return MetricSourceError("not read: the next analysis held this Prometheus' points too long")
        try:
            return held.select(query.start, query.end, labels)
        finally:
            self._store.lock.release()

    def __iter__(self) -> Iterator[Selection]:
        return iter(self._wanted)

    def __len__(self) -> int:
        return len(self._wanted)


def _selectors(wanted: Iterable[Selection]) -> dict[Query, set[Selector]]:
    selectors: dict[Query, set[Selector]] = defaultdict(set)
    for query, labels in wanted:
        selectors[query].add(labels)
    return selectors


def _picked(
    outcomes: dict[Query, QueryOutcome], wanted: Iterable[Selection]
) -> dict[Selection, QueryOutcome]:
    """Each selection's series of its query's outcome, through one label index per query."""
    indexes: dict[Query, LabelIndex[RangeSeries | Series] | MetricSourceError] = {}
    picked: dict[Selection, QueryOutcome] = {}
    for query, labels in wanted:
        index = indexes.get(query)
        if index is None:
            outcome = outcomes[query]
            index = indexes[query] = (
                outcome if isinstance(outcome, MetricSourceError) else LabelIndex(outcome, series_labels)
            )
        picked[(query, labels)] = (
            index if isinstance(index, MetricSourceError) else cast(QueryOutcome, index.pick(labels))
        )
    return picked


def _within(merged: list[RangeSeries], query: RangeQuery) -> list[RangeSeries]:
    low, high = query.start.timestamp(), query.end.timestamp()
    clipped = (
        RangeSeries(labels=s.labels, points=tuple(p for p in s.points if low <= p[0] <= high)) for s in merged
    )
    return [series for series in clipped if series.points]
