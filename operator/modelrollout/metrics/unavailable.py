"""A `MetricSource` that cannot answer, for a Prometheus the operator knows it cannot reach.

The controller uses it when the Secret holding Prometheus' credentials cannot be read: querying
without them would only swap a clear cause for a 401, so every query fails with the cause
instead, and the analysis shows it as Inconclusive (never a pass, never a failure).
"""

from __future__ import annotations

from datetime import datetime

from .source import MetricSourceError, RangeSeries, Series


class UnavailableSource:
    """Fails every query with `reason`, a message a person can act on."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def query(self, promql: str, at: datetime) -> list[Series]:
        raise MetricSourceError(self.reason)

    def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[RangeSeries]:
        raise MetricSourceError(self.reason)

    def is_online(self) -> bool:
        return False
