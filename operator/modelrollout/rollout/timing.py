"""When the controller should run an analysis interval, and over which window.

Windows start when the analysis step started and end on whole multiples of `analysis.interval`
after it, so the `backtest` CLI, replaying the same grid, sees exactly the windows the operator
saw. The last window ends at the step's deadline (`maxDuration`), which is the final look of a
`fixed` test even when the deadline is not on the grid.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from ..api.v1alpha1 import CanaryStep, ModelRolloutSpec, ModelRolloutStatus, Phase, parse_duration
from ._time import read_stamp, utc

__all__ = [
    "analysis_deadline",
    "analysis_due",
    "analysis_window",
    "canary_steps",
    "current_step",
    "step_max_duration",
]


def canary_steps(spec: ModelRolloutSpec) -> list[CanaryStep]:
    canary = spec.strategy.canary
    return list(canary.steps) if canary is not None else []


def current_step(spec: ModelRolloutSpec, status: ModelRolloutStatus) -> CanaryStep | None:
    """None outside the steps (before a rollout, or in Promoting and after)."""
    steps = canary_steps(spec)
    index = status.current_step
    if index is None or not 0 <= index < len(steps):
        return None
    return steps[index]


def step_max_duration(spec: ModelRolloutSpec, step: CanaryStep) -> float:
    """Seconds an analysis step may collect evidence; the step's own value wins."""
    override = step.analysis.max_duration if step.analysis is not None else None
    return parse_duration(override or spec.analysis.max_duration)


def _analysis_span(spec: ModelRolloutSpec, status: ModelRolloutStatus) -> tuple[datetime, datetime] | None:
    step = current_step(spec, status)
    started = read_stamp(status.analysis.started_at) if status.analysis is not None else None
    if step is None or step.analysis is None or started is None:
        return None
    return started, started + timedelta(seconds=step_max_duration(spec, step))


def analysis_deadline(spec: ModelRolloutSpec, status: ModelRolloutStatus) -> datetime | None:
    """When the current analysis step runs out of time; None when no analysis step is running."""
    span = _analysis_span(spec, status)
    return span[1] if span is not None else None


def analysis_window(
    spec: ModelRolloutSpec, status: ModelRolloutStatus, now: datetime
) -> tuple[datetime, datetime]:
    """(start, end) of the evidence to judge now: from the start of the analysis step to the
    latest grid point not after `now`, capped at the deadline. Counts are cumulative over the
    whole window, as the sequential tests expect. ValueError outside an analysis step."""
    span = _analysis_span(spec, status)
    if span is None:
        raise ValueError("no analysis step is running")
    started, deadline = span
    interval = parse_duration(spec.analysis.interval)
    elapsed = (utc(now) - started).total_seconds()
    grid_points = math.floor(elapsed / interval) if elapsed > 0 else 0
    end = deadline if utc(now) >= deadline else started + timedelta(seconds=grid_points * interval)
    return started, end


def analysis_due(spec: ModelRolloutSpec, status: ModelRolloutStatus, now: datetime) -> bool:
    """True when a window has closed since the last judged one: the controller should run one
    interval over `analysis_window` and pass its judgement to `decide`. Only a running
    (Progressing) analysis step is judged; a paused one waits."""
    if status.phase != Phase.PROGRESSING or status.analysis is None:
        return False
    if _analysis_span(spec, status) is None:
        return False
    started, end = analysis_window(spec, status, now)
    judged_until = read_stamp(status.analysis.last_run) or started
    return end > judged_until
