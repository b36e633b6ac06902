"""The no-op `MetricSource`, for an analysis without a Prometheus to ask.

Every query runs and matches nothing: "no data", never an error and never zero. So an analysis
that lists metrics stays Inconclusive instead of passing on nothing, and one without metrics is
judged as it would be anywhere else. `new_metric_source` returns it when no Prometheus is set.
"""

from __future__ import annotations

from datetime import datetime

from .source import RangeSeries, Series, check_step

__all__ = ["NopSource"]


class NopSource:
    """`MetricSource` that answers every query with no series and is always online."""

    def query(self, promql: str, at: datetime) -> list[Series]:
        return []

    def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[RangeSeries]:
        check_step(step)
        return []

    def is_online(self) -> bool:
        return True
