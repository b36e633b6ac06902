"""When the controller should run an analysis interval, and over which window.

Windows start when the analysis step started and end on whole multiples of `analysis.interval`
since the epoch (`api.v1alpha1.interval_grid`, the grid the evaluation layer queries on): every
rollout sharing an interval asks Prometheus for the same windows (one batched query), and the
`backtest` CLI, replaying the same grid, sees the windows the operator saw. The first window may be shorter than
an interval (the step rarely starts on the grid). The final look is the first grid point at or
after the step's deadline (`maxDuration`): its window is judged before `decide` applies
`onInconclusive`, so a verdict reached in the last stretch of evidence is never lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..api.v1alpha1 import (
    CanaryStep,
    ModelRolloutSpec,
    ModelRolloutStatus,
    Phase,
    align,
    align_up,
    parse_duration,
    parse_timestamp,
    strategy_steps,
    utc,
)

__all__ = [
    "analysis_deadline",
    "analysis_due",
    "analysis_final_look",
    "analysis_window",
    "canary_steps",
    "current_step",
    "next_window_end",
    "step_max_duration",
]


def canary_steps(spec: ModelRolloutSpec) -> list[CanaryStep]:
    """The steps the strategy runs (an A/B test's too: `strategy_steps`)."""
    return strategy_steps(spec)


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
    """The running analysis (a canary step's, a BlueGreen stage's) from its start to its deadline."""
    index = status.current_step
    analysis = spec.strategy.analysis_at(index) if index is not None else None
    started = parse_timestamp(status.analysis.started_at) if status.analysis is not None else None
    if analysis is None or started is None:
        return None
    seconds = parse_duration(analysis.max_duration or spec.analysis.max_duration)
    return started, started + timedelta(seconds=seconds)


def analysis_deadline(spec: ModelRolloutSpec, status: ModelRolloutStatus) -> datetime | None:
    """When the current analysis step runs out of time; None when no analysis step is running."""
    span = _analysis_span(spec, status)
    return span[1] if span is not None else None


def analysis_final_look(spec: ModelRolloutSpec, status: ModelRolloutStatus) -> datetime | None:
    """The end of the last window: the first grid point at or after the deadline. None when no
    analysis step is running."""
    span = _analysis_span(spec, status)
    if span is None:
        return None
    return align_up(span[1], parse_duration(spec.analysis.interval))


def analysis_window(
    spec: ModelRolloutSpec, status: ModelRolloutStatus, now: datetime
) -> tuple[datetime, datetime]:
    """(start, end) of the evidence to judge now: from the start of the analysis step to the
    latest grid point not after `now`, and not past the final look. Counts are cumulative over
    the whole window, as the sequential tests expect. Before the first grid point after the
    start the window is empty (end == start) and nothing is due. ValueError outside an
    analysis step."""
    span = _analysis_span(spec, status)
    if span is None:
        raise ValueError("no analysis step is running")
    started, deadline = span
    interval = parse_duration(spec.analysis.interval)
    end = min(align(utc(now), interval), align_up(deadline, interval))
    return started, max(end, started)


def next_window_end(spec: ModelRolloutSpec, status: ModelRolloutStatus, now: datetime) -> datetime | None:
    """When the next window closes: the first grid point after `now`, up to the final look. None
    once the final look has passed (or outside an analysis step)."""
    final_look = analysis_final_look(spec, status)
    if final_look is None or utc(now) >= final_look:
        return None
    interval = parse_duration(spec.analysis.interval)
    return min(align(utc(now), interval) + timedelta(seconds=interval), final_look)


def analysis_due(spec: ModelRolloutSpec, status: ModelRolloutStatus, now: datetime) -> bool:
    """True when a window has closed since the last judged one: the controller should run one
    interval over `analysis_window` and pass its judgement to `decide`. Only a running
    (Progressing) analysis step is judged; a paused one waits."""
    if status.phase != Phase.PROGRESSING or status.analysis is None:
        return False
    if _analysis_span(spec, status) is None:
        return False
    started, end = analysis_window(spec, status, now)
    judged_until = parse_timestamp(status.analysis.last_run) or started
    return end > judged_until
