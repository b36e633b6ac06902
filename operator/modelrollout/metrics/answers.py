"""Prometheus answers parsed straight into what the analysis keeps.

A batched range query answers every rollout's series at once: at 300 rollouts a few thousand
series per query, each a label object and a list of `[time, "value"]` pairs. Parsed into a tree
(dicts, lists, strings per point), then into `RangeSeries`, then regrouped, every tick's answer
peaked at several KB per series of small objects, which CPython's allocator keeps after the tick
(most of the operator's resident size per rollout). Here the JSON decoder's object hook takes each
series as soon as it is decoded: its labels become one flat tuple of interned strings and its
points are appended to two flat arrays, so what an answer leaves until the store takes it is a
few bytes per point and one key per series, and the decoder's own objects for a series are freed
before the next one is decoded. The numbers are the ones the tree gave: the same decoder reads
the same tokens and `float` converts them alike.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from sys import intern
from typing import Any, Protocol, runtime_checkable

from .source import MetricSource, MetricSourceError, RangeSeries, Series

FlatLabels = tuple[str, ...]
"""A series' labels sorted by name, flattened: (name, value, name, value, ...), interned."""


@dataclass
class RangeColumns:
    """A range answer as columns: series `i` has labels `keys[i]` and the points
    `times[ends[i-1]:ends[i]]` / `values[...]`, in the order Prometheus sent them."""

    keys: list[FlatLabels] = field(default_factory=list)
    ends: array[int] = field(default_factory=lambda: array("q"))
    times: array[float] = field(default_factory=lambda: array("d"))
    values: array[float] = field(default_factory=lambda: array("d"))

    def extend(self, other: RangeColumns) -> None:
        """Append `other`'s series (the next chunk of a split query; a key may repeat)."""
        offset = len(self.times)
        self.keys.extend(other.keys)
        self.ends.extend(end + offset for end in other.ends)
        self.times.extend(other.times)
        self.values.extend(other.values)

    def spans(self) -> Iterator[tuple[FlatLabels, int, int]]:
        """Each series' key and the bounds of its points in `times` and `values`."""
        first = 0
        for key, last in zip(self.keys, self.ends, strict=True):
            yield key, first, last
            first = last


@runtime_checkable
class ColumnSource(Protocol):
    """A source that can answer a range query as `RangeColumns` without building series."""

    def query_range_columns(self, promql: str, start: datetime, end: datetime, step: float) -> RangeColumns:
        """`query_range`'s answer as columns."""
        ...


def range_columns(
    source: MetricSource, promql: str, start: datetime, end: datetime, step: float
) -> RangeColumns:
    """`source`'s answer to a range query as columns, parsed straight into them when it can."""
    if isinstance(source, ColumnSource):
        return source.query_range_columns(promql, start, end, step)
    return columns_of(source.query_range(promql, start, end, step))


def columns_of(answer: Iterable[RangeSeries]) -> RangeColumns:
    """Series already built (a source other than Prometheus, a test) as columns."""
    columns = RangeColumns()
    for series in answer:
        columns.keys.append(flat_labels(series.labels.items()))
        for moment, value in series.points:
            columns.times.append(moment)
            columns.values.append(value)
        columns.ends.append(len(columns.times))
    return columns


def flat_labels(pairs: Iterable[tuple[str, str]]) -> FlatLabels:
    # One copy of each label string for the whole process: a thousand rollouts' series repeat
    # a few dozen distinct names and values.
    return tuple(intern(text) for pair in sorted(pairs) for text in pair)


class _Labels(tuple[tuple[str, str], ...]):
    """A decoded object whose values are all strings: a series' `metric`, in Prometheus' order."""


_SERIES = object()
"""What a range series leaves in the decoded result once its columns hold it."""


class _Decoding:
    """The object hook of one answer: series go to `columns` (range) or become `Series` (instant)."""

    def __init__(self) -> None:
        self.columns = RangeColumns()

    def object(self, pairs: list[tuple[str, Any]]) -> Any:
        if all(type(value) is str for _, value in pairs):
            return _Labels(pairs)
        metric: Any = _Labels()
        points: Any = None
        sample: Any = None
        for name, value in pairs:
            if name == "metric":
                metric = value
            elif name == "values":
                points = value
            elif name == "value":
                sample = value
        if points is not None:
            self._range(metric, points)
            return _SERIES
        if sample is not None:
            return Series(
                labels={intern(name): intern(text) for name, text in _pairs(metric)},
                value=float(sample[1]),
                timestamp=float(sample[0]),
            )
        return {name: dict(value) if type(value) is _Labels else value for name, value in pairs}

    def _range(self, metric: Any, points: Any) -> None:
        key = flat_labels(_pairs(metric))
        times, values = self.columns.times, self.columns.values
        for moment, value in points:
            times.append(float(moment))
            values.append(float(value))
        self.columns.keys.append(key)
        self.columns.ends.append(len(times))


def _pairs(metric: Any) -> Iterable[tuple[str, str]]:
    return metric if type(metric) is _Labels else dict(metric).items()


def parse_range(body: bytes, promql: str) -> RangeColumns:
    """A `query_range` answer's body as columns."""
    decoding = _Decoding()
    result = _result(body, decoding, promql)
    try:
        if not isinstance(result, list):
            raise TypeError(f"a range answer holds a list of series, not {type(result).__name__}")
        for item in result:
            if item is not _SERIES:
                raise KeyError("values")
    except (KeyError, TypeError) as error:
        raise MetricSourceError(f"unexpected answer to {promql!r}: {error}") from error
    return decoding.columns


def parse_instant(body: bytes, promql: str) -> list[Series]:
    """A `query` answer's body: one Series per element of a vector; a scalar (e.g. from
    `scalar(...)`) one unlabelled."""
    result = _result(body, _Decoding(), promql)
    try:
        if _is_sample(result):
            return [Series(labels={}, value=float(result[1]), timestamp=float(result[0]))]
        for item in result:
            if not isinstance(item, Series):
                raise KeyError("value")
        return list(result)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise MetricSourceError(f"unexpected answer to {promql!r}: {error}") from error


def _result(body: bytes, decoding: _Decoding, promql: str) -> Any:
    """`data.result` of `body`. Invalid JSON raises ValueError (a malformed answer); a series
    the hook cannot read is an unexpected answer to `promql`, as when it was read from a tree."""
    try:
        answer = json.loads(body, object_pairs_hook=decoding.object)
    except json.JSONDecodeError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise MetricSourceError(f"unexpected answer to {promql!r}: {error}") from error
    if type(answer) is _Labels:
        answer = dict(answer)
    return answer["data"]["result"]


def _is_sample(result: Any) -> bool:
    return (
        isinstance(result, list)
        and len(result) == 2
        and isinstance(result[0], int | float)
        and isinstance(result[1], str)
    )
