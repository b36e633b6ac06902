"""From query answers to the counts the statistical tests take.

Range answers hold one increase per interval; a version's cumulative count is their sum over the
analysis window. Summing increases (rather than differencing raw counters) is what makes the
evidence survive counter resets and operator restarts: nothing is remembered between intervals.
"Absent" (None) and zero stay apart throughout: a version without series has no data.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from ..analysis import HistogramSample, RateSample
from ..metrics import RangeSeries

BUCKET_LABEL = "le"


def total(answer: Sequence[RangeSeries]) -> float | None:
    """Sum of every finite point; None when the answer holds no finite point at all."""
    values = [value for series in answer for _, value in series.points if math.isfinite(value)]
    return math.fsum(values) if values else None


def running_totals(answer: Sequence[RangeSeries], times: Sequence[float]) -> list[float]:
    """The cumulative sum of every finite point at each of ``times`` (sorted), a look at a time.

    ``times`` is the union of the looks every answer of a metric holds: a look where this answer
    has no point added nothing to it.
    """
    per_time: dict[float, list[float]] = defaultdict(list)
    for series in answer:
        for time, value in series.points:
            if math.isfinite(value):
                per_time[time].append(value)
    running, totals = 0.0, []
    for time in times:
        running += math.fsum(per_time.get(time, ()))
        totals.append(running)
    return totals


def look_times(*answers: Sequence[RangeSeries]) -> list[float]:
    """Every time at which any of ``answers`` holds a finite point, in order."""
    return sorted(
        {
            time
            for answer in answers
            for series in answer
            for time, value in series.points
            if math.isfinite(value)
        }
    )


def rate_path(
    stable_events: Sequence[RangeSeries],
    stable_requests: Sequence[RangeSeries],
    candidate_events: Sequence[RangeSeries],
    candidate_requests: Sequence[RangeSeries],
    segments: Sequence[float] = (),
) -> RateSample:
    """The cumulative counts at the last look, with every earlier look of the window behind it
    and the looks where a new split starts among them (``segments``: their times).

    Event counters appear at their first increment: with requests present (and the event series
    known to exist for the model, which the caller checks), absent is zero.
    """
    answers = (stable_events, stable_requests, candidate_events, candidate_requests)
    times = look_times(*answers)
    running = [running_totals(answer, times) for answer in answers]
    looks = [
        RateSample(
            stable_events=running[0][index],
            stable_exposure=running[1][index],
            candidate_events=running[2][index],
            candidate_exposure=running[3][index],
        )
        for index in range(len(times))
    ]
    return replace(looks[-1], earlier=tuple(looks[:-1]), segment_starts=segment_starts(times, segments))


def segment_starts(times: Sequence[float], segments: Sequence[float]) -> tuple[int, ...]:
    """Indices into the looks at ``times`` of the first look at or after each of ``segments`` (the
    looks where a new split starts); a start at the first look, or after the last, starts nothing.
    A look missing from the answers moves its segment's start to the next look there is."""
    starts = {bisect.bisect_left(times, time - 5e-4) for time in segments}
    return tuple(sorted(index for index in starts if 0 < index < len(times)))


def histogram_path(
    sample: HistogramSample,
    stable: Sequence[RangeSeries],
    candidate: Sequence[RangeSeries],
    segments: Sequence[float],
) -> HistogramSample:
    """``sample`` (the window's totals) with the cumulative buckets at the last look of every
    earlier segment behind it (``segments``: the times of the looks where the split changed);
    unchanged without segments.

    The path is reduced to those looks, each then a segment of its own: the latency evidence at
    the last look depends on no other (each earlier segment's counts are final at its end,
    `analysis.sequential.last_look_path`), so this path gives the full path's value at a fraction
    of the cost of building a histogram per look."""
    times = look_times(stable, candidate)
    starts = segment_starts(times, segments)
    if not starts:
        return sample
    ends = [times[start - 1] for start in starts]
    stable_at, candidate_at = (_bucket_totals_until(answer, ends) for answer in (stable, candidate))
    earlier = tuple(
        # A look without a shared total stands on no edges: the evidence leaves it out.
        histogram(
            {edge: totals[index] for edge, totals in stable_at.items()},
            {edge: totals[index] for edge, totals in candidate_at.items()},
        )
        or HistogramSample((), (), ())
        for index in range(len(ends))
    )
    return replace(sample, earlier=earlier, segment_starts=tuple(range(1, len(ends) + 1)))


def _bucket_totals_until(answer: Sequence[RangeSeries], ends: Sequence[float]) -> dict[float, list[float]]:
    """Per `le` edge, the cumulative count up to and including each of ``ends`` (sorted)."""
    parts: dict[float, list[list[float]]] = defaultdict(lambda: [[] for _ in ends])
    for series in answer:
        edge = _edge(series.labels)
        if edge is None:
            continue
        found = parts[edge]
        for time, value in series.points:
            index = bisect.bisect_left(ends, time - 5e-4)
            if index < len(ends) and math.isfinite(value):
                found[index].append(value)
    return {
        edge: list(itertools.accumulate(math.fsum(part) for part in found)) for edge, found in parts.items()
    }


def bucket_totals(answer: Sequence[RangeSeries]) -> dict[float, float] | None:
    """Cumulative count per `le` edge, summed over the window; None without any bucket series."""
    counts: dict[float, list[float]] = defaultdict(list)
    for series in answer:
        edge = _edge(series.labels)
        if edge is None:
            continue
        counts[edge].extend(value for _, value in series.points if math.isfinite(value))
    found = {edge: math.fsum(values) for edge, values in counts.items() if values}
    return found or None


def histogram(
    stable: Mapping[float, float],
    candidate: Mapping[float, float],
    stable_sum: float | None = None,
    candidate_sum: float | None = None,
) -> HistogramSample | None:
    """A sample on the edges both versions have (dropping an edge of a cumulative histogram only
    merges two buckets); None when they share no `+Inf` bucket, i.e. no total count."""
    edges = sorted(set(stable) & set(candidate))
    if not edges or edges[-1] != math.inf:
        return None
    return HistogramSample(
        edges=tuple(edges),
        stable_counts=_monotone(stable[edge] for edge in edges),
        candidate_counts=_monotone(candidate[edge] for edge in edges),
        stable_sum=stable_sum,
        candidate_sum=candidate_sum,
    )


def look_grid(start: float, end: float, step: float) -> list[float]:
    """The times a range query from ``start`` to ``end`` evaluates at: one look per interval."""
    count = math.floor((end - start) / step + 1e-9) + 1
    return [start + index * step for index in range(max(0, count))]


def values_at(answer: Sequence[RangeSeries], looks: Sequence[float]) -> list[float | None] | None:
    """The one value of a must-yield-one-number query at each look; None at a look where it
    has none (no point, or NaN). The whole result is None when some look holds more than one
    value: the query does not yield one number."""
    per_look: dict[float, list[float]] = defaultdict(list)
    for series in answer:
        for time, value in series.points:
            if math.isfinite(value):
                per_look[_look_key(time)].append(value)
    found = [per_look.get(_look_key(time), []) for time in looks]
    if any(len(values) > 1 for values in found):
        return None
    return [values[0] if values else None for values in found]


def _look_key(time: float) -> float:
    """Times to the millisecond, Prometheus' resolution, so float noise never splits a look."""
    return round(time, 3)


def _monotone(values: Iterable[float]) -> tuple[float, ...]:
    """Cumulative counts made non-decreasing: `increase` extrapolates each bucket separately, so
    neighbouring edges can disagree by a fraction of a request."""
    result: list[float] = []
    running = 0.0
    for value in values:
        running = max(running, value)
        result.append(running)
    return tuple(result)


def _edge(labels: Mapping[str, str]) -> float | None:
    text = labels.get(BUCKET_LABEL)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None
