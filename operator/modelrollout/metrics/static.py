"""An in-memory `MetricSource`: the seam unit tests and backtests without Prometheus stand on.

Like httpx's MockTransport, it replaces the network rather than patching a client: tests hand it
the series each PromQL text should return and read back the queries it was asked (`calls`).
The no-op source of a rollout without Prometheus is `NopSource`, not an empty one of these.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .source import MetricSourceError, RangeSeries, Series, check_step

LOOKBACK_SECONDS = 300.0
"""An instant query sees the latest point at most this old, as Prometheus' default lookback."""


@dataclass(frozen=True)
class SourceCall:
    """One query the source was asked; `start`/`end`/`step` are None for instant queries."""

    promql: str
    at: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    step: float | None = None


class StaticSource:
    """Answers each PromQL text with the series registered for exactly that text.

    `series` maps a query's text to its series over time: a range query returns the points inside
    its window (no resampling: register points on the step grid you query), an instant query the
    latest point within the lookback. Texts in `failing`, or every text when `online` is False,
    raise `MetricSourceError`, which is how tests stand in for an unreachable Prometheus.
    """

    def __init__(
        self,
        series: Mapping[str, Sequence[RangeSeries]] | None = None,
        *,
        online: bool = True,
        failing: Collection[str] = (),
    ) -> None:
        self._series = dict(series or {})
        self._failing = frozenset(failing)
        self.online = online
        self.calls: list[SourceCall] = []

    def query(self, promql: str, at: datetime) -> list[Series]:
        self.calls.append(SourceCall(promql, at=at))
        self._raise_if_failing(promql)
        moment = at.timestamp()
        found: list[Series] = []
        for series in self._series.get(promql, ()):
            visible = [p for p in series.points if moment - LOOKBACK_SECONDS < p[0] <= moment]
            if visible:
                _, value = visible[-1]
                found.append(Series(labels=dict(series.labels), value=value, timestamp=moment))
        return found

    def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[RangeSeries]:
        self.calls.append(SourceCall(promql, start=start, end=end, step=step))
        self._raise_if_failing(promql)
        check_step(step)
        low, high = start.timestamp(), end.timestamp()
        found: list[RangeSeries] = []
        for series in self._series.get(promql, ()):
            points = tuple(p for p in series.points if low <= p[0] <= high)
            if points:
                found.append(RangeSeries(labels=dict(series.labels), points=points))
        return found

    def is_online(self) -> bool:
        return self.online

    def _raise_if_failing(self, promql: str) -> None:
        if not self.online:
            raise MetricSourceError("static source is offline")
        if promql in self._failing:
            raise MetricSourceError(f"query failed: {promql}")
