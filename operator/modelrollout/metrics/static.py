"""An in-memory `MetricSource`: the seam unit tests and backtests without Prometheus stand on.

Like httpx's MockTransport, it replaces the network rather than patching a client: tests hand it
the series each PromQL text should return and read back the queries it was asked (`calls`).
The no-op source of a rollout without Prometheus is `NopSource`, not an empty one of these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..api.v1alpha1 import parse_duration
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
        registered, lookback = self._series.get(promql), LOOKBACK_SECONDS
        if registered is None and (narrowed := self._narrowed_presence(promql)) is not None:
            registered, lookback = narrowed
        found: list[Series] = []
        for series in registered or ():
            visible = [p for p in series.points if moment - lookback < p[0] <= moment]
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

    def _narrowed_presence(self, promql: str) -> tuple[list[RangeSeries], float] | None:
        """A presence query the querier narrowed (`metrics.presence`: a shorter lookback, or
        matchers added to the selector), answered from the one registered for the whole fleet:
        its series that the added matchers keep, seen within the shorter of the two lookbacks."""
        asked = _presence_parts(promql)
        if asked is None:
            return None
        labels, name, matchers, lookback = asked
        for text, registered in self._series.items():
            held = _presence_parts(text)
            if held is None or held[:2] != (labels, name) or not set(held[2]) <= set(matchers):
                continue
            extra = [m for m in matchers if m not in held[2]]
            if any(_label_name(m) not in labels.split(", ") for m in extra):
                continue  # narrowing adds matchers on the grouping labels only
            added = [_label_test(m) for m in extra]
            kept = [s for s in registered if all(test(s.labels) for test in added)]
            return kept, min(lookback, LOOKBACK_SECONDS)
        return None

    def _raise_if_failing(self, promql: str) -> None:
        if not self.online:
            raise MetricSourceError("static source is offline")
        if promql in self._failing:
            raise MetricSourceError(f"query failed: {promql}")


_PRESENCE = re.compile(
    r"group by \((?P<labels>[^)]*)\) \(last_over_time\((?P<name>[A-Za-z_:][A-Za-z0-9_:]*)"
    r"(?:\{(?P<matchers>[^{}]*)\})?\[(?P<lookback>[0-9hms]+)\]\)\)"
)
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _presence_parts(promql: str) -> tuple[str, str, tuple[str, ...], float] | None:
    """(grouping, metric name, matchers, lookback seconds) of a `series_presence` text."""
    match = _PRESENCE.fullmatch(promql)
    if match is None:
        return None
    matchers = tuple(
        m.group(0).strip().rstrip(",").strip() for m in _MATCHER.finditer(match["matchers"] or "")
    )
    return match["labels"], match["name"], matchers, parse_duration(match["lookback"])


def _label_name(matcher: str) -> str:
    return matcher.split("=", 1)[0].split("!", 1)[0].strip()


def _label_test(matcher: str) -> Callable[[Mapping[str, str]], bool]:
    parsed = _MATCHER.fullmatch(matcher)
    assert parsed is not None, matcher
    name, operator, quoted = parsed.groups()
    value = quoted.encode().decode("unicode_escape")
    if operator in ("=", "!="):
        return lambda labels: (labels.get(name, "") == value) == (operator == "=")
    pattern = re.compile(value)
    return lambda labels: (pattern.fullmatch(labels.get(name, "")) is not None) == (operator == "=~")
