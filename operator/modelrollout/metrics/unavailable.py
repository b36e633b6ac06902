"""A `MetricSource` that cannot answer, for a Prometheus the operator knows it cannot reach.

The controller uses it when the Secret holding Prometheus' credentials cannot be read: querying
without them would only swap a clear cause for a 401, so every query fails with the cause
instead, and the analysis shows it as Inconclusive (never a pass, never a failure). It also
stands for a Prometheus the operator refuses to call (`access`): then every query is refused.
"""

from __future__ import annotations

from datetime import datetime

from .source import MetricSourceError, MetricSourceRefused, RangeSeries, Series


class UnavailableSource:
    """Fails every query with `reason`, a message a person can act on; with
    `configuration_error`, as `MetricSourceRefused` (the operator refuses this Prometheus)."""

    def __init__(self, reason: str, configuration_error: str | None = None) -> None:
        self.reason = reason
        self.configuration_error = configuration_error

    def _error(self) -> MetricSourceError:
        if self.configuration_error is None:
            return MetricSourceError(self.reason)
        return MetricSourceRefused(self.reason, self.configuration_error)

    def query(self, promql: str, at: datetime) -> list[Series]:
        raise self._error()

    def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[RangeSeries]:
        raise self._error()

    def is_online(self) -> bool:
        return False
