"""The moves between phases and steps; each writes status, history, lineage facts and an Event.

Every function here is called at most once per transition: callers check the phase first, and
the status they write makes the same call a no-op the next time.
"""

from __future__ import annotations

from ..api.v1alpha1 import (
    AnalysisStatus,
    CanaryStep,
    EvidenceSpan,
    ModelRolloutStatus,
    Outcome,
    Phase,
    Reason,
    format_percent,
    format_timestamp,
)
from . import history
from ._decision_state import WAIT_POLL_SECONDS, Run
from .bluegreen_stages import describe_stage, enter_stage
from .route_steps import clear_routes, describe_route_step

__all__ = [
    "abort_unstarted",
    "complete_step",
    "describe_step",
    "enter_step",
    "finish_promotion",
    "finish_rollback",
    "leave_steps",
    "release_candidate",
    "start_promoting",
    "start_rollback",
    "start_rollout",
    "supersede",
]

_REASONS = frozenset(reason.value for reason in Reason)


def leave_steps(status: ModelRolloutStatus) -> None:
    """The candidate is no longer walking the steps (promoted, released, aborted before it
    started, undone): no step, no step clock, no pause left to resume."""
    status.current_step = None
    status.step_started_at = None
    status.paused_reason = None


def describe_step(run: Run, index: int) -> str:
    """`step 2/6 (setWeight 25)`: how events and messages name a step (a BlueGreen stage: its name)."""
    if run.spec.strategy.blue_green is not None:
        return describe_stage(index)
    step: CanaryStep = run.steps[index]
    if step.set_weight is not None:
        kind = f"setWeight {format_percent(step.set_weight)}"
    elif step.pause is not None:
        kind = f"pause {step.pause.duration}" if step.pause.duration else "pause"
    elif step.analysis is None:
        kind = describe_route_step(step)
    else:
        kind = "analysis"
    return f"step {index + 1}/{len(run.steps)} ({kind})"


def start_rollout(run: Run, candidate: str) -> None:
    status = run.status
    status.candidate_version = candidate
    status.rollout_started_at = format_timestamp(run.now)
    status.paused_reason = None
    status.analysis = None
    clear_routes(run)  # a superseded candidate's routes and scale end with it
    run.set_candidate_weight(0)
    history.open_entry(status, candidate, run.stable, format_timestamp(run.now))
    run.record(
        candidate,
        Outcome.PROGRESSING,
        parent=run.stable,
        parameters=run.candidate_parameters(candidate),
    )
    run.set_phase(Phase.PROGRESSING, Reason.ROLLOUT_STARTED, f"rolling out {candidate} from {run.stable}")
    enter_step(run, 0)


def enter_step(run: Run, index: int, *, fresh_evidence: bool = False) -> None:
    """Steps start here, so `stepStartedAt` (pause durations), `analysis.startedAt` (deadline,
        `minSamples`) and `analysis.evidenceStartedAt` (the window) are written exactly once per step.
        The evidence start is carried from the rollout's earlier analysis step while
        `analysis.evidence` is `carry` (`start_rollout` clears the earlier one for a new candidate), and
    with it the times the split changed since (`analysis.splitChanges`): a weight step's start here,
    its weight counting as served in `Run.set_candidate_weight`. A BlueGreen rollout's stages
    start in `bluegreen_stages`."""
    if run.spec.strategy.blue_green is not None:
        enter_stage(run, index)
        return
    status = run.status
    status.current_step = index
    status.step_started_at = format_timestamp(run.now)
    status.paused_reason = None
    if index >= len(run.steps):
        start_promoting(run, Reason.STEP_COMPLETED, "all steps completed")
        return
    if run.steps[index].analysis is not None:
        now = format_timestamp(run.now)
        earlier = status.analysis
        carried, changes = None, []
        if earlier is not None and not fresh_evidence and run.spec.analysis.evidence == EvidenceSpan.CARRY:
            carried = earlier.evidence_started_at or earlier.started_at
            changes = list(earlier.split_changes)
        status.analysis = AnalysisStatus(
            started_at=now, evidence_started_at=carried or now, split_changes=changes
        )
    elif run.steps[index].set_weight not in (None, status.candidate_weight):
        run.note_split_change()  # the capacity move starts now; its weight counts once it is done


def complete_step(run: Run, how: str) -> None:
    index = run.status.current_step or 0
    run.event(Reason.STEP_COMPLETED, f"{describe_step(run, index)} completed: {how}")
    enter_step(run, index + 1)


def start_promoting(run: Run, reason: Reason, how: str) -> None:
    """Capacity moves to the candidate (`capacity`); the weights stay those served until the
    candidate is Available at full size and `finish_promotion` makes it the stable."""
    candidate = run.candidate
    if candidate is None:
        return
    status = run.status
    status.current_step = len(run.steps)
    status.step_started_at = format_timestamp(run.now)
    status.paused_reason = None
    if reason == Reason.PROMOTED_MANUALLY:
        history.decide_entry(status, candidate, Outcome.PROGRESSING, reason.value)
    run.set_phase(Phase.PROMOTING, reason, f"{how}: promoting {candidate} to full size")


def finish_promotion(run: Run) -> None:
    status = run.status
    candidate = run.candidate
    if candidate is None:
        return
    old_stable = run.stable
    entry = history.close_entry(status, candidate, Outcome.PROMOTED, None, format_timestamp(run.now))
    reason = entry.reason if entry is not None and entry.reason else Reason.PROMOTED.value
    metrics = tuple(status.analysis.metrics) if status.analysis is not None else None
    run.record(candidate, Outcome.PROMOTED, reason=reason, metrics=metrics or None)
    status.stable_version = candidate
    status.candidate_version = None
    leave_steps(status)
    run.set_candidate_weight(0)
    run.set_phase(
        Phase.PROMOTED,
        Reason.PROMOTED,
        f"{candidate} promoted; {old_stable} scaled to zero and kept for a quick revert",
    )


def start_rollback(run: Run, reason: Reason, message: str, outcome: Outcome) -> None:
    candidate = run.candidate
    if candidate is None:
        return
    run.status.paused_reason = None
    run.set_candidate_weight(0)
    history.decide_entry(run.status, candidate, outcome, reason.value)
    run.set_phase(
        Phase.ROLLING_BACK, reason, f"{message}: returning all traffic to {run.stable}", warning=True
    )
    finish_rollback(run)


def finish_rollback(run: Run) -> None:
    """Final once no pod of the candidate is asked for or available."""
    candidate = run.candidate
    if candidate is None:
        return
    if not run.observations.deployment(candidate).scaled_down:
        entry = history.running_entry(run.status, candidate)
        why = entry.reason if entry is not None and entry.reason else Reason.ROLLED_BACK.value
        reason = Reason(why) if why in _REASONS else Reason.ROLLED_BACK
        run.note(reason, f"rolling back ({why}): waiting for {candidate} to scale to zero")
        run.requeue(WAIT_POLL_SECONDS)
        return
    entry = history.close_entry(run.status, candidate, None, None, format_timestamp(run.now))
    outcome = Outcome(entry.outcome) if entry is not None else Outcome.ROLLED_BACK
    if outcome not in (Outcome.ABORTED, Outcome.ROLLED_BACK):
        outcome = Outcome.ROLLED_BACK
    why = entry.reason if entry is not None and entry.reason else outcome.value
    metrics = tuple(run.status.analysis.metrics) if run.status.analysis is not None else None
    run.record(candidate, outcome, reason=why, metrics=metrics or None)
    final_reason = Reason.ABORTED if outcome == Outcome.ABORTED else Reason.ROLLED_BACK
    if why == Reason.UNDONE.value:
        final_reason = Reason.UNDONE  # a person's choice, announced as such rather than as a failure
    run.set_phase(
        Phase.ROLLED_BACK,
        final_reason,
        f"{candidate} is at zero weight and zero replicas ({why}); {run.stable} serves all traffic",
        warning=final_reason == Reason.ROLLED_BACK,
    )


def supersede(run: Run, by: str | None) -> None:
    """The spec no longer asks for the running candidate: it leaves traffic now. A rollback
    already under way keeps its own outcome; otherwise the outcome is Superseded."""
    candidate = run.candidate
    if candidate is None:
        return
    status = run.status
    entry = history.running_entry(status, candidate)
    decided = entry is not None and entry.outcome != Outcome.PROGRESSING.value
    outcome = Outcome(entry.outcome) if entry is not None and decided else Outcome.SUPERSEDED
    why = f"superseded by {by}" if by else "candidate removed from the spec"
    reason = entry.reason if entry is not None and decided else why
    history.close_entry(status, candidate, outcome, reason, format_timestamp(run.now))
    run.record(candidate, outcome, reason=reason)
    run.event(Reason.SUPERSEDED, f"rollout of {candidate} stopped: {why}")
    release_candidate(run)
    status.phase = Phase.PROMOTED
    status.message = f"{run.stable} serves all traffic"
    run.reason = Reason.SUPERSEDED


def release_candidate(run: Run) -> None:
    """Forget a finished candidate so another can start; its Deployment is retired and pruned."""
    status = run.status
    status.candidate_version = None
    leave_steps(status)
    run.set_candidate_weight(0)


def abort_unstarted(run: Run, candidate: str) -> None:
    """An abort before the rollout could start (it waited for a dependency): the candidate is
    marked aborted so it does not start later, as if rolled back at once."""
    status = run.status
    status.candidate_version = candidate
    leave_steps(status)
    run.set_candidate_weight(0)
    at = format_timestamp(run.now)
    history.open_entry(status, candidate, run.stable, at)
    history.close_entry(status, candidate, Outcome.ABORTED, Reason.ABORTED.value, at)
    run.record(
        candidate,
        Outcome.ABORTED,
        parent=run.stable,
        parameters=run.candidate_parameters(candidate),
        reason=Reason.ABORTED.value,
    )
    run.set_phase(Phase.ROLLED_BACK, Reason.ABORTED, f"{candidate} aborted before its rollout started")
