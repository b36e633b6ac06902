"""What the operator holds of Prometheus' answers between ticks, so a tick asks only for what is new.

Every rollout sharing an interval reads the same batched range queries over a window that grows
by one interval per tick. Re-reading each window whole costs Prometheus, the network and the
JSON parser the window's length times the fleet's series (about 1.4 million points per query at
1,000 rollouts and an hour); holding the answers costs memory, which a compact layout keeps to a
few bytes per point. The store is only a cache: an empty one (after a restart) is filled from
Prometheus on the first tick, so no verdict depends on what it held.

Scrape lag: a point read at its own boundary may still miss the interval's last scrape. A point
is settled only once it was read `settle` seconds (by default one step) after its timestamp;
until then the next tick that can settle it reads it again, so a tick normally reads two points,
the previous one again and the newest. A later request of the same tick reads nothing: a point
that cannot settle yet would come back just as provisional.

Memory stays bounded: points older than every window start asked in the last
`retain_intervals` intervals are dropped (one dropped too early costs only a re-read), and so is
a whole query nobody asked for in that time; the series of a deleted rollout therefore go away.
"""

from __future__ import annotations

import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

from .answers import FlatLabels, RangeColumns, columns_of
from .source import RangeSeries, Series

if TYPE_CHECKING:
    from .presence import HeldPresence

LabelKey = tuple[tuple[str, str], ...]
Selector = tuple[tuple[str, str], ...]
"""Labels a series must carry, sorted by name; the empty selector takes every series."""

Labelled = TypeVar("Labelled")

RETAIN_INTERVALS = 3
"""Intervals a window start (or a whole query) is remembered after it was last asked for."""


def label_key(labels: Mapping[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


@dataclass
class LabelIndex(Generic[Labelled]):
    """Series by the values of some of their labels, built once per set of label names: a
    thousand rollouts picking their own series each scan only their own."""

    items: Sequence[Labelled]
    labels_of: Callable[[Labelled], Mapping[str, str]]
    _by_names: dict[tuple[str, ...], dict[tuple[str | None, ...], list[Labelled]]] = field(
        default_factory=dict
    )

    def pick(self, selector: Selector) -> list[Labelled]:
        if not selector:
            return list(self.items)
        names = tuple(name for name, _ in selector)
        index = self._by_names.get(names)
        if index is None:
            index = self._by_names[names] = {}
            for item in self.items:
                labels = self.labels_of(item)
                index.setdefault(tuple(labels.get(name) for name in names), []).append(item)
        return index.get(tuple(value for _, value in selector), [])


class _Held:
    """A copy of one held series (its labels, its value and presence per time of the table), for
    callers that list a table's series; the table itself holds the points by time."""

    __slots__ = ("key", "present", "values")

    def __init__(self, key: FlatLabels, values: array[float], present: bytearray) -> None:
        self.key = key
        self.values = values
        self.present = present

    @property
    def labels(self) -> dict[str, str]:
        return _labels(self.key)


def _labels(key: FlatLabels) -> dict[str, str]:
    return dict(zip(key[::2], key[1::2], strict=True))


@dataclass
class PointTable:
    """The held answers of one range query text at one step.

    `times` is shared by every series (a batched query answers all of them on the same grid), and
    the points are held by time: one array of values and one of presence bytes per grid time, a
    row per series. A point costs 9 bytes and a series its labels and a row number: a few hundred
    bytes less than an object with arrays of its own (about 6 KB per rollout). A series' labels
    are one flat tuple of interned strings (name, value, name, value, ...), its key in `rows`.
    `low`..`high` is the contiguous span of grid points already queried, whether or not any
    series had a point there.
    """

    step: float
    times: array[float] = field(default_factory=lambda: array("d"))
    rows: dict[FlatLabels, int] = field(default_factory=dict)
    low: datetime | None = None
    high: datetime | None = None
    unsettled: dict[datetime, float] = field(default_factory=dict)
    """Grid points read before they could settle, with the wall time they were read."""
    starts: dict[datetime, float] = field(default_factory=dict)
    """Window starts asked for, with the wall time each was last asked: what must stay held."""
    asked: float = 0.0
    _keys: list[FlatLabels] = field(default_factory=list)
    _values: list[array[float]] = field(default_factory=list)
    """Per time of `times`, each row's value."""
    _present: list[bytearray] = field(default_factory=list)
    """Per time of `times`, 1 for each row with a point there."""
    _index: LabelIndex[int] | None = None

    @property
    def series(self) -> dict[FlatLabels, _Held]:
        return {
            key: _Held(
                key,
                array("d", (values[row] for values in self._values)),
                bytearray(present[row] for present in self._present),
            )
            for row, key in enumerate(self._keys)
        }

    def missing(
        self, start: datetime, end: datetime, now: float, settle: float
    ) -> list[tuple[datetime, datetime]]:
        """The spans to query so that `start`..`end` is held and every point in it that can
        settle by now has: the older part not held, then from the first stale point on. What is
        held but no longer joins the window (a query unused for a while) is dropped here, so
        the table always covers one contiguous span."""
        step = timedelta(seconds=self.step)
        if self.low is None or self.high is None or start > self.high + step:
            self.clear()
            return [(start, end)]
        spans: list[tuple[datetime, datetime]] = []
        if start < self.low:
            spans.append((start, self.low - step))
        stale = [t for t in self.unsettled if start <= t <= end and now - t.timestamp() >= settle]
        tail = min(stale, default=None)
        if end > self.high:
            tail = min(tail or self.high + step, self.high + step)
        if tail is not None:
            if spans and spans[-1][1] + step >= tail:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((tail, end))
        return spans

    def store(
        self,
        start: datetime,
        end: datetime,
        answer: RangeColumns | Sequence[RangeSeries],
        read_at: float,
        settle: float,
    ) -> None:
        """Take `answer`, read at `read_at`, as the whole truth about `start`..`end`."""
        columns = answer if isinstance(answer, RangeColumns) else columns_of(answer)
        low, high = start.timestamp(), end.timestamp()
        times = columns.times
        for moment in sorted({t for t in times if low <= t <= high}):
            self._add_time(moment)
        first, last = bisect_left(self.times, low), bisect_right(self.times, high)
        position = {self.times[i]: i for i in range(first, last)}
        for i in range(first, last):
            self._present[i] = bytearray(len(self._keys))
        values = columns.values
        for key, begin, stop in columns.spans():
            row = self._row(key)
            for i in range(begin, stop):
                moment = times[i]
                if low <= moment <= high:
                    index = position[moment]
                    self._values[index][row] = values[i]
                    self._present[index][row] = 1
        self._drop_empty_rows()
        self.low = start if self.low is None else min(self.low, start)
        self.high = end if self.high is None else max(self.high, end)
        grid_point = start
        while grid_point <= end:
            if read_at - grid_point.timestamp() >= settle:
                self.unsettled.pop(grid_point, None)
            else:
                self.unsettled[grid_point] = read_at
            grid_point += timedelta(seconds=self.step)

    def select(self, start: datetime, end: datetime, selector: Selector) -> list[RangeSeries]:
        """The held series carrying `selector`'s labels, clipped to `start`..`end` (a series
        without a point there is left out, as a range query would)."""
        first, last = bisect_left(self.times, start.timestamp()), bisect_right(self.times, end.timestamp())
        keys = self._keys
        if self._index is None:
            self._index = LabelIndex(range(len(keys)), lambda row: _labels(keys[row]))
        found: list[RangeSeries] = []
        times, values, present = self.times, self._values[first:last], self._present[first:last]
        for row in self._index.pick(selector):
            points = tuple(
                (times[first + i], column[row]) for i, column in enumerate(values) if present[i][row]
            )
            if points:
                found.append(RangeSeries(labels=_labels(keys[row]), points=points))
        return found

    def forget_before(self, moment: datetime) -> None:
        """Drop the points before `moment` and the series left without any."""
        if self.low is None or moment <= self.low:
            return
        cut = bisect_left(self.times, moment.timestamp())
        del self.times[:cut]
        del self._values[:cut]
        del self._present[:cut]
        self._drop_empty_rows()
        self.unsettled = {t: read for t, read in self.unsettled.items() if t >= moment}
        if self.high is not None and moment > self.high:
            self.clear()
        else:
            self.low = moment

    def clear(self) -> None:
        self.times = array("d")
        self.rows.clear()
        self._keys.clear()
        self._values.clear()
        self._present.clear()
        self._index = None
        self.unsettled.clear()
        self.low = self.high = None

    def point_count(self) -> int:
        return len(self.times) * len(self._keys)

    def _add_time(self, moment: float) -> None:
        at = bisect_left(self.times, moment)
        if at < len(self.times) and self.times[at] == moment:
            return
        self.times.insert(at, moment)
        self._values.insert(at, array("d", bytes(8 * len(self._keys))))
        self._present.insert(at, bytearray(len(self._keys)))

    def _row(self, key: FlatLabels) -> int:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = len(self._keys)
            self._keys.append(key)
            for values in self._values:
                values.append(0.0)
            for present in self._present:
                present.append(0)
            self._index = None
        return row

    def _drop_empty_rows(self) -> None:
        """Forget the series without a point left (a deleted rollout's, once its window passed)."""
        if not self._keys:
            return
        held = 0
        for present in self._present:
            held |= int.from_bytes(present, "little")
        flags = held.to_bytes(len(self._keys), "little")
        if 0 not in flags:
            return
        kept = [row for row, flag in enumerate(flags) if flag]
        self._keys = [self._keys[row] for row in kept]
        self.rows = {key: row for row, key in enumerate(self._keys)}
        self._values = [array("d", (values[row] for row in kept)) for values in self._values]
        self._present = [bytearray(present[row] for row in kept) for present in self._present]
        self._index = None


def series_labels(series: RangeSeries | Series) -> Mapping[str, str]:
    return series.labels


@dataclass
class _Instant:
    at: datetime
    answer: list[Series] | HeldPresence
    asked: float


@dataclass
class PointStore:
    """The held answers of one Prometheus, kept by the analysis batcher across ticks.

    `lock` is held by the one batch that reads and updates the store: a batch left running past
    its deadline must not interleave with the next one.
    """

    settle: float | None = None
    """Seconds after its timestamp a point must be read to be final; None: one step (an
    analysis interval), which covers a scrape interval of up to half the analysis interval (the
    rule of `queries`) plus Prometheus' own ingestion delay."""
    retain_intervals: int = RETAIN_INTERVALS
    clock: Callable[[], float] = time.time
    """Wall time in unix seconds (tests pass their own)."""
    tables: dict[tuple[str, float], PointTable] = field(default_factory=dict)
    instants: dict[str, _Instant] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def settle_for(self, table: PointTable) -> float:
        return table.step if self.settle is None else self.settle

    def table(self, promql: str, step: float, starts: Iterable[datetime], now: float) -> PointTable:
        """The table of `promql` at `step`, noting that `starts` are asked for now."""
        table = self.tables.get((promql, step))
        if table is None:
            table = self.tables[(promql, step)] = PointTable(step)
        table.asked = now
        for start in starts:
            table.starts[start] = now
        return table

    def instant(self, promql: str, at: datetime, now: float) -> list[Series] | HeldPresence | None:
        """The answer already read for `promql` at `at` (in an earlier batch of this tick)."""
        held = self.instants.get(promql)
        if held is None or held.at != at:
            return None
        held.asked = now
        return held.answer

    def keep_instant(
        self, promql: str, at: datetime, answer: list[Series] | HeldPresence, now: float
    ) -> None:
        self.instants[promql] = _Instant(at, answer, now)

    def forget(self, now: float) -> None:
        """Drop what nobody asked for in `retain_intervals` intervals: whole queries, window
        starts, and the points older than every start still asked for."""
        for key, table in list(self.tables.items()):
            horizon = now - self.retain_intervals * table.step
            if table.asked < horizon:
                del self.tables[key]
                continue
            table.starts = {start: asked for start, asked in table.starts.items() if asked >= horizon}
            if table.starts:
                table.forget_before(min(table.starts))
        longest = max((table.step for table in self.tables.values()), default=0.0)
        horizon = now - self.retain_intervals * longest
        self.instants = {text: held for text, held in self.instants.items() if held.asked >= horizon}

    def point_count(self) -> int:
        return sum(table.point_count() for table in self.tables.values())

    def empty(self) -> bool:
        return not self.tables and not self.instants
