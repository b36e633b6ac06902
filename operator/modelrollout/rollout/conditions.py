"""`status.conditions` in the metav1.Condition shape: Ready, Progressing, AnalysisPassing, Degraded.

`lastTransitionTime` moves only when a condition's status changes; reason and message follow the
rollout on every call. Conditions of other types (written by someone else) are kept as they are.
"""

from __future__ import annotations

from typing import Literal

from ..api.v1alpha1 import Condition, ConditionType, Outcome, Phase, Reason, Verdict, format_timestamp
from . import history
from ._decision_state import Run

__all__ = ["put_condition", "refresh_conditions"]

ConditionStatus = Literal["True", "False", "Unknown"]

_ORDER = (
    ConditionType.READY.value,
    ConditionType.PROGRESSING.value,
    ConditionType.ANALYSIS_PASSING.value,
    ConditionType.DEGRADED.value,
)

_PROBLEM_REASONS = frozenset(
    {
        Reason.SERVICE_NOT_FOUND,
        Reason.INVALID_TEMPLATE,
        Reason.DEPENDENCY_CYCLE,
        Reason.DEPENDENCY_NOT_FOUND,
        Reason.STABLE_UNAVAILABLE,
        Reason.METRIC_NOT_FOUND,
        Reason.METRIC_SHAPE_INVALID,
        Reason.PROMETHEUS_REFUSED,
        Reason.TRAFFIC_API_NOT_FOUND,
        Reason.ROUTE_NOT_FOUND,
        Reason.ROUTE_CONFLICT,
    }
)
"""Degraded reasons that no phase transition announces: they get an Event of their own."""


def put_condition(
    conditions: list[Condition],
    kind: ConditionType,
    status: ConditionStatus,
    reason: Reason,
    message: str,
    at: str,
    generation: int,
) -> bool:
    """Sets one condition in place; True when its status changed (or it is new)."""
    for condition in conditions:
        if condition.type == kind.value:
            changed = condition.status != status
            condition.status = status
            condition.reason = reason.value
            condition.message = message
            condition.observed_generation = generation
            if changed:
                condition.last_transition_time = at
            return changed
    conditions.append(
        Condition(
            type=kind.value,
            status=status,
            reason=reason.value,
            message=message,
            last_transition_time=at,
            observed_generation=generation,
        )
    )
    return True


def refresh_conditions(run: Run) -> None:
    status = run.status
    at = format_timestamp(run.now, whole_seconds=True)
    generation = run.observations.generation
    conditions = [condition.model_copy() for condition in status.conditions]
    # Read before `put_condition` updates the same object in place: compared afterwards, every
    # problem would look old, and one appearing after the first reconcile would go unannounced.
    previous = _find(conditions, ConditionType.DEGRADED)
    previous_degraded = (previous.status, previous.reason) if previous is not None else None

    ready = _ready(run)
    put_condition(conditions, ConditionType.READY, *ready, at, generation)
    put_condition(conditions, ConditionType.PROGRESSING, *_progressing(run), at, generation)
    if status.analysis is not None and status.analysis.verdict is not None:
        put_condition(conditions, ConditionType.ANALYSIS_PASSING, *_analysis(run), at, generation)
    degraded = _degraded(run, ready[0] == "True")
    put_condition(conditions, ConditionType.DEGRADED, *degraded, at, generation)

    is_new_problem = previous_degraded != ("True", degraded[1].value)
    if degraded[0] == "True" and degraded[1] in _PROBLEM_REASONS and is_new_problem:
        run.event(degraded[1], degraded[2], warning=True)

    known = [c for kind in _ORDER for c in conditions if c.type == kind]
    others = [c for c in conditions if c.type not in _ORDER]
    status.conditions = (known + others)[:8]


def _find(conditions: list[Condition], kind: ConditionType) -> Condition | None:
    return next((c for c in conditions if c.type == kind.value), None)


def _ready(run: Run) -> tuple[ConditionStatus, Reason, str]:
    stable = run.stable
    deployment = run.observations.deployment(stable)
    if deployment.serving:
        return (
            "True",
            Reason.STABLE_AVAILABLE,
            f"{stable} has {deployment.available_replicas} available replicas",
        )
    return "False", Reason.STABLE_UNAVAILABLE, f"{stable} has no available replica"


def _progressing(run: Run) -> tuple[ConditionStatus, Reason, str]:
    status = run.status
    message = status.message
    phase = status.phase
    if phase in (Phase.PROGRESSING, Phase.PROMOTING, Phase.ROLLING_BACK):
        return "True", run.reason or Reason.ROLLOUT_STARTED, message
    if phase == Phase.PAUSED:
        return "Unknown", run.reason or _paused_reason(run), message
    if phase == Phase.ROLLED_BACK:
        return "False", _rolled_back_reason(run), message
    if phase == Phase.PROMOTED:
        last = status.history[-1] if status.history else None
        promoted = last is not None and last.outcome == Outcome.PROMOTED.value
        return "False", Reason.PROMOTED if promoted else Reason.NO_CANDIDATE, message
    return "False", run.reason or Reason.NO_CANDIDATE, message


def _paused_reason(run: Run) -> Reason:
    try:
        return Reason(run.status.paused_reason or Reason.PAUSED_BY_USER)
    except ValueError:
        return Reason.PAUSED_BY_USER


def _rolled_back_reason(run: Run) -> Reason:
    candidate = run.candidate
    last = run.status.history[-1] if run.status.history else None
    if last is not None and last.candidate == candidate and last.outcome == Outcome.ABORTED.value:
        return Reason.ABORTED
    if last is not None and last.candidate == candidate and last.reason == Reason.UNDONE.value:
        return Reason.UNDONE
    return Reason.ROLLED_BACK


def _analysis(run: Run) -> tuple[ConditionStatus, Reason, str]:
    analysis = run.status.analysis
    verdict = analysis.verdict if analysis is not None else None
    message = analysis.message if analysis is not None else ""
    if verdict == Verdict.PASS:
        return "True", Reason.ANALYSIS_PASSED, message
    if verdict == Verdict.FAIL:
        return "False", Reason.ANALYSIS_FAILED, message
    return "Unknown", Reason.ANALYSIS_INCONCLUSIVE, message


def _misconfigured_metric(run: Run) -> tuple[ConditionStatus, Reason, str] | None:
    """Degraded while the analysis under way has a metric whose query is wrong (its series does
    not exist, or its answer has the wrong shape): the step cannot pass until a person fixes the
    spec, so it is said where people look, and announced once."""
    analysis = run.status.analysis
    if analysis is None or run.status.phase not in (Phase.PROGRESSING, Phase.PAUSED):
        return None
    wrong = [metric for metric in analysis.metrics if metric.configuration_error]
    if not wrong:
        return None
    try:
        reason = Reason(wrong[0].configuration_error or Reason.METRIC_NOT_FOUND)
    except ValueError:
        reason = Reason.METRIC_NOT_FOUND
    message = "; ".join(f"metric {metric.name}: {metric.explanation}" for metric in wrong)
    return "True", reason, message


def _degraded(run: Run, stable_serving: bool) -> tuple[ConditionStatus, Reason, str]:
    status = run.status
    if run.problem is not None:
        return "True", run.problem.reason, run.problem.message
    if not stable_serving and status.phase != Phase.PENDING:
        return "True", Reason.STABLE_UNAVAILABLE, f"the stable version {run.stable} has no available replica"
    if (misconfigured := _misconfigured_metric(run)) is not None:
        return misconfigured
    candidate = run.candidate
    if candidate is not None and status.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK):
        entry = history.running_entry(status, candidate) or (status.history[-1] if status.history else None)
        deliberate = entry is not None and (
            entry.outcome == Outcome.ABORTED.value or entry.reason == Reason.UNDONE.value
        )
        if entry is not None and not deliberate:
            deadline = entry.reason == Reason.PROGRESS_DEADLINE_EXCEEDED.value
            reason = Reason.PROGRESS_DEADLINE_EXCEEDED if deadline else Reason.ROLLED_BACK
            return "True", reason, f"{candidate} rolled back: {entry.reason or 'failed'}"
    if status.phase == Phase.PAUSED and run.reason in (Reason.PAUSED_ON_FAILURE, Reason.UPSTREAM_FAILED):
        return "True", run.reason, status.message
    if status.phase == Phase.PAUSED and status.paused_reason == Reason.PROGRESS_DEADLINE_EXCEEDED.value:
        return "True", Reason.PROGRESS_DEADLINE_EXCEEDED, status.message
    return "False", Reason.HEALTHY, "nothing needs attention"
