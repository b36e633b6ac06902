"""What `kubectl modelrollout plot` draws, read from the Prometheus the rollout's spec names:
each version's p95 latency, error rate and mean prediction (the drift panel: the prediction
distribution's location, whose divergence from the stable's is what a drift metric gates) over
the rollout, and the rollout's Events as markers. Pure apart from `fetch`.

The queries use the default series of each metric type (metrics/queries.py), or the
`metricName` of the rollout's first metric of that type, selected by the rollout's namespace
and `spec.model`, grouped by `version`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..api.v1alpha1 import parse_duration, parse_timestamp
from ..metrics import MetricSource, MetricSourceError, escape_label_value
from .common import CliError, Obj, event_time, status_of

POINTS = 300
"""About how many points per line: the range query's step is the rollout's span over this."""
CONTEXT = 10.0
"""Seconds shown at least before the rollout started and after it ended."""
MIN_WINDOW = 5.0
"""Seconds: the shortest rate window (at least a few scrapes)."""

DEFAULT_NAMES = {
    "latency": "model_request_duration_seconds",
    "errorRate": "model_requests_total",
    "drift": "model_prediction",
}


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    promql: str


@dataclass
class PlotData:
    start: datetime
    end: datetime
    panels: list[tuple[Panel, dict[str, list[tuple[float, float]]]]] = field(default_factory=list)
    """Each panel and its points (unix seconds, value) per version."""
    markers: list[tuple[float, str]] = field(default_factory=list)
    """(unix seconds, Event reason) of the rollout's Events inside the range."""
    verdict: str = ""
    """The outcome (or the analysis verdict while running), for the title."""


def metric_names(rollout: Obj) -> dict[str, str]:
    """The series each panel reads: the first metric of the type's `metricName`, else the default."""
    names = dict(DEFAULT_NAMES)
    analysis = (rollout.get("spec") or {}).get("analysis") or {}
    for metric in reversed(analysis.get("metrics") or []):
        if metric.get("type") in names and metric.get("metricName"):
            names[metric["type"]] = metric["metricName"]
    return names


def panels(rollout: Obj, window: float) -> list[Panel]:
    metadata = rollout.get("metadata") or {}
    spec = rollout.get("spec") or {}
    selector = (
        f'namespace="{escape_label_value(str(metadata.get("namespace", "")))}",'
        f'model="{escape_label_value(str(spec.get("model", "")))}"'
    )
    w = f"{max(int(window), 1)}s"
    names = metric_names(rollout)
    latency, requests, prediction = names["latency"], names["errorRate"], names["drift"]
    all_requests = f"sum by (version) (rate({requests}{{{selector}}}[{w}]))"
    errors = f'sum by (version) (rate({requests}{{{selector},outcome="error"}}[{w}]))'
    return [
        Panel(
            "p95 latency", "seconds",
            f"histogram_quantile(0.95, sum by (version, le) (rate({latency}_bucket{{{selector}}}[{w}])))",
        ),
        Panel("error rate", "errors per request", f"({errors} or 0 * {all_requests}) / {all_requests}"),
        Panel(
            "drift: mean prediction", "prediction",
            f"sum by (version) (rate({prediction}_sum{{{selector}}}[{w}]))"
            f" / sum by (version) (rate({prediction}_count{{{selector}}}[{w}]))",
        ),
    ]  # fmt: skip


def time_range(rollout: Obj, now: datetime) -> tuple[datetime, datetime]:
    """From the current (or last) rollout's start to its end, or now while it runs, with a tenth
    of that (at least `CONTEXT` seconds) before the start to show the stable alone."""
    status = status_of(rollout)
    history = status.get("history") or []
    running = status.get("candidateVersion") is not None and status.get("phase") not in (
        "Promoted", "RolledBack",
    )  # fmt: skip
    start = parse_timestamp(status.get("rolloutStartedAt"))
    end: datetime | None = now
    if not running and history:
        start = parse_timestamp(history[-1].get("startedAt")) or start
        end = parse_timestamp(history[-1].get("finishedAt")) or now
    if start is None:
        start = parse_timestamp((rollout.get("metadata") or {}).get("creationTimestamp")) or now
    assert end is not None
    begin = start - max(timedelta(seconds=CONTEXT), (end - start) / 10)
    return begin, max(end + timedelta(seconds=CONTEXT), begin + timedelta(seconds=30))


def analysis_window(rollout: Obj, step: float) -> float:
    """The analysis interval (the window the operator judges), at least two steps."""
    interval = ((rollout.get("spec") or {}).get("analysis") or {}).get("interval") or "30s"
    return max(parse_duration(str(interval)), 2 * step, MIN_WINDOW)


def verdict_text(rollout: Obj) -> str:
    status = status_of(rollout)
    history = status.get("history") or []
    phase = status.get("phase", "Pending")
    analysis = (status.get("analysis") or {}).get("verdict")
    if phase in ("Promoted", "RolledBack") and history:
        last = history[-1]
        return f"{last['candidate']} {last.get('outcome', '')} ({last.get('reason', '')})"
    return f"{phase}" + (f", analysis {analysis}" if analysis else "")


def markers(events: Sequence[Obj], start: datetime, end: datetime) -> list[tuple[float, str]]:
    """The Events inside the range, those closer than a fiftieth of it merged into one marker
    naming each reason once, so labels drawn side by side do not overprint."""
    found: list[tuple[float, str]] = []
    close = (end - start).total_seconds() / 50
    for event in sorted(events, key=_event_seconds):
        seconds = _event_seconds(event)
        if not start.timestamp() <= seconds <= end.timestamp():
            continue
        reason = str(event.get("reason", ""))
        if found and seconds - found[-1][0] <= close:
            at, reasons = found[-1]
            if reason not in reasons.split(", "):
                found[-1] = (at, f"{reasons}, {reason}")
        else:
            found.append((seconds, reason))
    return found


def _event_seconds(event: Obj) -> float:
    when = parse_timestamp(event_time(event))
    return when.timestamp() if when is not None else 0.0


def fetch(source: MetricSource, rollout: Obj, events: Sequence[Obj], now: datetime) -> PlotData:
    start, end = time_range(rollout, now)
    step = max(1.0, (end - start).total_seconds() / POINTS)
    data = PlotData(start, end, markers=markers(events, start, end), verdict=verdict_text(rollout))
    for panel in panels(rollout, analysis_window(rollout, step)):
        try:
            series = source.query_range(panel.promql, start, end, step)
        except MetricSourceError as error:
            raise CliError(f"Prometheus did not answer the {panel.title} query: {error}") from None
        data.panels.append((panel, by_version(series)))
    if not any(lines for _, lines in data.panels):
        raise CliError(
            f"Prometheus has no series for the rollout between {start:%H:%M:%S} and {end:%H:%M:%S} UTC "
            f"(first query: {data.panels[0][0].promql})"
        )
    return data


def by_version(series: Sequence[Any]) -> dict[str, list[tuple[float, float]]]:
    lines: dict[str, list[tuple[float, float]]] = {}
    for one in series:
        labels: Mapping[str, str] = one.labels
        version = labels.get("version", "?")
        lines.setdefault(version, []).extend((t, v) for t, v in one.points if v == v)  # not NaN
    return {version: sorted(points) for version, points in sorted(lines.items())}
