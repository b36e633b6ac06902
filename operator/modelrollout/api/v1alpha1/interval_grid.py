"""The grid of `analysis.interval`: whole multiples of the interval since the epoch.

Every analysis window ends on this grid, so the operator (whenever its timer fires, and after a
restart), every rollout sharing an interval (one batched query) and a `backtest` replay all see
the same windows. It lives here, at the bottom of the layers, so that `rollout` (when a window
is due) and `evaluation` (which window to query) compute it once and the same way.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["align", "align_up", "first_interval_end"]


def align(moment: datetime, interval: float) -> datetime:
    """The latest whole multiple of `interval` seconds (since the epoch) at or before `moment`."""
    return _grid_point(math.floor(moment.timestamp() / interval) * interval)


def align_up(moment: datetime, interval: float) -> datetime:
    """The earliest whole multiple of `interval` seconds (since the epoch) at or after `moment`."""
    return _grid_point(_ceil_seconds(moment, interval))


def first_interval_end(started_at: datetime, interval: float) -> datetime:
    """End of the first complete interval after `started_at`; nothing before it counts."""
    return _grid_point(_ceil_seconds(started_at, interval) + interval)


def _ceil_seconds(moment: datetime, interval: float) -> float:
    return math.ceil(moment.timestamp() / interval) * interval


def _grid_point(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
