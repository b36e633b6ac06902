"""The operator's own work as metrics: how long reconciles take, how many fail, and what the
analysis asks of Prometheus (queries sent, how long each took, how many failed).

Prometheus queries are counted here, where the controller hands the analysis its source
(`InstrumentedSource` wraps it), so `metrics/` stays free of the exporter: a query counted is a
request the source was asked to send, after batching and the point store (what they save is
never sent, so never counted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from prometheus_client import Counter, Histogram

from ..metrics import MetricSource, RangeSeries, Series
from ..metrics.answers import RangeColumns, range_columns

RECONCILE_DURATION = Histogram(
    "modelrollout_reconcile_duration_seconds",
    "Time one reconcile takes (load, decide, apply, write status), analysis queries excluded.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RECONCILE_ERRORS = Counter(
    "modelrollout_reconcile_errors", "Reconciles that failed with an error (retried with backoff)."
)
PROMETHEUS_QUERIES = Counter(
    "modelrollout_prometheus_queries",
    "Queries the analysis sent to Prometheus, by kind (instant, range) and outcome (ok, error).",
    ("kind", "outcome"),
)
PROMETHEUS_QUERY_DURATION = Histogram(
    "modelrollout_prometheus_query_duration_seconds",
    "Time Prometheus took to answer one analysis query (failed ones included).",
    ("kind",),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

_T = TypeVar("_T")


class InstrumentedSource:
    """A `MetricSource` that counts and times every query it passes on."""

    def __init__(self, source: MetricSource) -> None:
        self.source = source

    def query(self, promql: str, at: datetime) -> list[Series]:
        return _timed("instant", lambda: self.source.query(promql, at))

    def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[RangeSeries]:
        return _timed("range", lambda: self.source.query_range(promql, start, end, step))

    def query_range_columns(self, promql: str, start: datetime, end: datetime, step: float) -> RangeColumns:
        return _timed("range", lambda: range_columns(self.source, promql, start, end, step))

    def is_online(self) -> bool:
        return self.source.is_online()


def _timed(kind: str, send: Callable[[], _T]) -> _T:
    started = time.monotonic()
    outcome = "error"
    try:
        answer = send()
        outcome = "ok"
        return answer
    finally:
        PROMETHEUS_QUERY_DURATION.labels(kind).observe(time.monotonic() - started)
        PROMETHEUS_QUERIES.labels(kind, outcome).inc()
