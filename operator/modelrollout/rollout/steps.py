"""Running a rollout: the phase-specific work of Progressing, Paused, Promoting and RollingBack.

Forward progress (a step, a promotion) waits while a problem stands or a live pause applies;
a rollback always goes on, since it only ever moves traffic towards the stable.
"""

from __future__ import annotations

from datetime import timedelta

from ..api.v1alpha1 import (
    CanaryStep,
    FailurePolicy,
    InconclusivePolicy,
    Outcome,
    Phase,
    Reason,
    UpstreamFailurePolicy,
    Verdict,
    Weight,
    format_percent,
    format_timestamp,
    parse_duration,
    parse_timestamp,
)
from ._decision_state import (
    CAPACITY_POLL_SECONDS,
    DEPENDENCY_POLL_SECONDS,
    FINAL_LOOK_POLL_SECONDS,
    PROBLEM_RECHECK_SECONDS,
    Run,
    step_weight,
)
from .capacity import Move, deadline_passed, move_capacity
from .evidence import evidence
from .observations import AnalysisObservation
from .route_steps import canary_scale_step, header_route_step, mirror_route_step
from .timing import analysis_final_look, next_window_end
from .transitions import (
    complete_step,
    describe_step,
    finish_promotion,
    finish_rollback,
    start_rollback,
)
from .undo import continue_undo, undoing

__all__ = ["progress", "wait_for_capacity"]

_STICKY_PAUSES = frozenset(
    {
        Reason.PAUSED_BY_USER.value,
        Reason.PAUSED_INCONCLUSIVE.value,
        Reason.PAUSED_ON_FAILURE.value,
        Reason.PROGRESS_DEADLINE_EXCEEDED.value,
    }
)
"""Pauses that last until `resume` (or `promote`); a step pause is handled by its step."""


def progress(run: Run) -> None:
    phase = run.status.phase
    if phase == Phase.ROLLING_BACK:
        if undoing(run):
            continue_undo(run)
        else:
            finish_rollback(run)
        return
    if run.problem is not None:
        run.note(run.problem.reason, f"on hold: {run.problem.message}")
        run.requeue(PROBLEM_RECHECK_SECONDS)
        return
    if run.spec.strategy.blue_green is not None:
        from .bluegreen import progress_blue_green  # it runs this module's analysis and pauses

        progress_blue_green(run)
        return
    if phase == Phase.PROMOTING:
        _promote_when_ready(run)
        return
    if _cascade(run) or _live_pause(run):
        return
    _run_steps(run)
    if run.status.phase == Phase.PROMOTING:
        _promote_when_ready(run)


def _promote_when_ready(run: Run) -> None:
    """Capacity moves to the candidate like any other move; the stable gives its last pods up
    once the candidate is Available at full size, and only then is the candidate the stable."""
    candidate = run.candidate
    if candidate is None:
        return
    move = move_capacity(run, {run.stable: 0, candidate: 100}, candidate)
    if move.done:
        finish_promotion(run)
        return
    if deadline_passed(run):
        _on_progress_deadline(run, f"promoting {candidate}: {move.waiting_for}")
        return
    run.note(Reason.WAITING_FOR_CANDIDATE, f"promoting: waiting for {move.waiting_for}")
    run.requeue(CAPACITY_POLL_SECONDS)


def _cascade(run: Run) -> bool:
    """An upstream rollout failed after this one started: roll back, or pause for as long as
    the failure is reported (`spec.onUpstreamFailure`)."""
    threshold = run.spec.cascade_threshold
    failed = [
        (model, weight) for model, weight in run.observations.upstream.failed_models if weight > threshold
    ]
    if not failed:
        return False
    named = ", ".join(f"{model} (criticality {weight:.2f})" for model, weight in failed)
    message = f"upstream rollout failed: {named} above the cascade threshold {threshold:.2f}"
    if run.spec.on_upstream_failure == UpstreamFailurePolicy.ROLLBACK:
        start_rollback(run, Reason.UPSTREAM_FAILED, message, Outcome.ROLLED_BACK)
        return True
    run.set_phase(Phase.PAUSED, Reason.UPSTREAM_FAILED, message, warning=True, announce_reason=True)
    run.requeue(DEPENDENCY_POLL_SECONDS)
    return True


def _live_pause(run: Run) -> bool:
    """Pauses that last exactly as long as their cause: `spec.paused`, a blocking upstream."""
    if run.spec.paused:
        run.set_phase(Phase.PAUSED, Reason.PAUSED_BY_USER, "paused: spec.paused is true")
        return True
    blocking = run.observations.upstream.blocking_models
    if blocking:
        message = f"waiting for the rollout of upstream {', '.join(blocking)} to finish"
        run.set_phase(Phase.PAUSED, Reason.WAITING_FOR_DEPENDENCY, message, announce_reason=True)
        run.requeue(DEPENDENCY_POLL_SECONDS)
        return True
    return False


def _run_steps(run: Run) -> None:
    """Runs the current step, and the next ones while they complete at once (a step completes
    in the call that observes it done, so a restart can neither repeat nor skip it)."""
    for _ in range(len(run.steps) + 1):
        status = run.status
        if status.phase != Phase.PROGRESSING and status.phase != Phase.PAUSED:
            return
        index = status.current_step or 0
        if index >= len(run.steps):
            return
        if status.paused_reason in _STICKY_PAUSES:
            reason = Reason(status.paused_reason)
            run.set_phase(Phase.PAUSED, reason, _sticky_message(run, reason, index))
            return
        step = run.steps[index]
        if step.set_weight is not None:
            done = _set_weight(run, index, step.set_weight)
        elif step.pause is not None:
            done = _pause(run, index, step)
        elif step.set_header_route is not None:
            done = _capacity_step(run, index, *header_route_step(run, step.set_header_route))
        elif step.set_mirror_route is not None:
            done = _capacity_step(run, index, *mirror_route_step(run, step.set_mirror_route))
        elif step.set_canary_scale is not None:
            done = _capacity_step(run, index, *canary_scale_step(run, step.set_canary_scale))
        else:
            done = _analysis(run, index)
        if done is None:
            return
        complete_step(run, done)


def _resume_phase(run: Run, index: int, message: str) -> None:
    """Back to Progressing after a pause; the Event says which step goes on."""
    if run.status.phase == Phase.PAUSED:
        run.event(Reason.RESUMED, f"resumed at {describe_step(run, index)}")
    run.status.phase = Phase.PROGRESSING
    run.status.message = message


def _set_weight(run: Run, index: int, weight: Weight) -> str | None:
    """Moves capacity to the step's weight (surge first, see `capacity`); the weight counts as
    served, and the step completes, once the Deployments are at the plan for it."""
    candidate = run.candidate
    if candidate is None:
        return None
    target = step_weight(weight)
    growing = candidate if target >= run.status.candidate_weight else run.stable
    move = move_capacity(run, run.weights_for(target), growing)
    if move.done:
        if run.status.candidate_weight != target:
            run.set_candidate_weight(target)
            _resume_phase(
                run, index, f"{describe_step(run, index)}: {candidate} at {format_percent(target)}%"
            )
        return f"{candidate} Available at {format_percent(target)}%"
    doing = f"moving {candidate} to {format_percent(target)}%"
    wait_for_capacity(run, index, describe_step(run, index), move.waiting_for, doing)
    return None


def _capacity_step(run: Run, index: int, how: str, move: Move) -> str | None:
    """A route or scale step (`route_steps`) completes once its move is done; until then it
    waits for the candidate's pods, within `spec.progressDeadline`, as a weight step does."""
    if run.candidate is None:
        return None
    if move.done:
        _resume_phase(run, index, f"{describe_step(run, index)}: {how}")
        return how
    wait_for_capacity(run, index, describe_step(run, index), move.waiting_for)
    return None


def wait_for_capacity(run: Run, index: int, label: str, waiting_for: str, doing: str | None = None) -> None:
    """A step whose pods are not there yet: past `spec.progressDeadline` `onFailure` applies;
    until then the rollout says what it waits for (`label: doing, waiting for ...`) and looks
    again shortly, since a pod becoming Available wakes nothing that would call it."""
    if deadline_passed(run):
        _on_progress_deadline(run, f"{label}: {waiting_for}")
        return
    _resume_phase(run, index, f"{label}: {doing + ', ' if doing else ''}waiting for {waiting_for}")
    run.reason = Reason.WAITING_FOR_CANDIDATE
    run.requeue(CAPACITY_POLL_SECONDS)


def _on_progress_deadline(run: Run, waiting: str) -> None:
    """The move did not reach its plan in time: Degraded, and `onFailure` decides. A rollback
    returns all capacity to the stable; a pause keeps the stable at the capacity of the weights
    it serves (the move's stage is dropped) until a person resumes, which restarts the step."""
    message = f"progressDeadline {run.spec.progress_deadline} exceeded: {waiting}"
    reason = Reason.PROGRESS_DEADLINE_EXCEEDED
    run.capacity = None
    run.status.progress_started_at = None
    if run.spec.analysis.on_failure == FailurePolicy.ROLLBACK:
        start_rollback(run, reason, message, Outcome.ROLLED_BACK)
        return
    run.status.paused_reason = reason.value
    run.set_phase(Phase.PAUSED, reason, f"{message}; waiting for a person", warning=True)


def _pause(run: Run, index: int, step: CanaryStep) -> str | None:
    duration = step.pause.duration if step.pause is not None else None
    run.status.paused_reason = Reason.PAUSED_BY_STEP.value
    if duration is None:
        run.set_phase(
            Phase.PAUSED, Reason.PAUSED_BY_STEP, f"{describe_step(run, index)}: paused until resumed"
        )
        return None
    started = parse_timestamp(run.status.step_started_at) or run.now
    expires = started + timedelta(seconds=parse_duration(duration))
    if run.now >= expires:
        return f"paused for {duration}"
    message = f"{describe_step(run, index)}: paused until {format_timestamp(expires)}"
    run.set_phase(Phase.PAUSED, Reason.PAUSED_BY_STEP, message)
    run.requeue((expires - run.now).total_seconds())
    return None


def _analysis(run: Run, index: int) -> str | None:
    """Takes in a new judgement (once), then: Pass goes on, Fail follows `onFailure`, and no
    verdict by the final look (the window ending at or after the deadline, once judged) follows
    `onInconclusive`."""
    _resume_phase(run, index, f"{describe_step(run, index)}: collecting evidence")
    run.reason = Reason.ANALYSIS_INCONCLUSIVE
    judged = _take_judgement(run)
    final_look = _final_look_judged(run) or (judged is not None and judged.settled)
    if judged is not None:
        _announce(run, judged, goes_on=judged.verdict == Verdict.INCONCLUSIVE and not final_look)
        if judged.verdict == Verdict.PASS:
            return f"analysis passed ({judged.message or 'all metrics pass'})"
        if judged.verdict == Verdict.FAIL:
            _on_failure(run, judged)
            return None
    if final_look:
        return _on_inconclusive(run, index)
    next_end = next_window_end(run.spec, run.status, run.now)
    run.requeue((next_end - run.now).total_seconds() if next_end is not None else FINAL_LOOK_POLL_SECONDS)
    return None


def _final_look_judged(run: Run) -> bool:
    """The window ending at the final look has been judged (Inconclusive, or it would have
    decided): only then does `onInconclusive` apply. Waiting for that judgement rather than for
    the clock keeps the last stretch of evidence, also after a pause that outlasted the deadline.
    A step too short to reach a grid point after its start has no window at all; its deadline
    alone ends it."""
    analysis = run.status.analysis
    final_look = analysis_final_look(run.spec, run.status)
    if analysis is None or final_look is None:
        return False
    started = parse_timestamp(analysis.started_at)
    if started is not None and final_look <= started:
        return run.now >= final_look
    last_run = parse_timestamp(analysis.last_run)
    return last_run is not None and last_run >= final_look


def _take_judgement(run: Run) -> AnalysisObservation | None:
    """Counts an observation once: it must be newer than the last one taken and cover a window of
    this step (every window ends after the step started, so a judgement made at the instant the
    step began belongs to the step before)."""
    observed = run.observations.analysis
    analysis = run.status.analysis
    if observed is None or analysis is None:
        return None
    started = parse_timestamp(analysis.started_at)
    last_run = parse_timestamp(analysis.last_run)
    if started is None or observed.evaluated_at <= started:
        return None
    if last_run is not None and observed.evaluated_at <= last_run:
        return None
    analysis.verdict = observed.verdict
    analysis.score = observed.score
    analysis.last_run = format_timestamp(observed.evaluated_at)
    analysis.runs += 1
    analysis.evidence_intervals = observed.evidence_intervals
    analysis.message = observed.message
    analysis.metrics = list(observed.metrics)
    return observed


def _announce(run: Run, judged: AnalysisObservation, *, goes_on: bool) -> None:
    """Every judgement is announced. One after which the step goes on is a repeat (the same
    news every interval); its message holds no run count, since the message is what names the
    Event series the controller folds repeats into (the count is the Event's own `count`)."""
    reason = {
        Verdict.PASS: Reason.ANALYSIS_PASSED,
        Verdict.FAIL: Reason.ANALYSIS_FAILED,
        Verdict.INCONCLUSIVE: Reason.ANALYSIS_INCONCLUSIVE,
    }[judged.verdict]
    score = f", score {judged.score:.0f}" if judged.score is not None else ""
    # The evidence leads: the judge's explanation can be long, and a message cut to its limit
    # should still say what each deciding metric measured.
    lines = evidence(judged.metrics)
    message = f"analysis {judged.verdict.value}{score}: " + " | ".join(
        part for part in (lines, judged.message) if part
    )
    message = message.rstrip(": ")
    run.event(reason, message, warning=judged.verdict == Verdict.FAIL, repeats=goes_on)


def _on_failure(run: Run, judged: AnalysisObservation) -> None:
    message = f"analysis failed: {judged.message}" if judged.message else "analysis failed"
    if run.spec.analysis.on_failure == FailurePolicy.ROLLBACK:
        start_rollback(run, Reason.ANALYSIS_FAILED, message, Outcome.ROLLED_BACK)
        return
    run.status.paused_reason = Reason.PAUSED_ON_FAILURE.value
    run.set_phase(Phase.PAUSED, Reason.PAUSED_ON_FAILURE, f"{message}; waiting for a person", warning=True)


def _on_inconclusive(run: Run, index: int) -> str | None:
    policy = run.spec.strategy.on_inconclusive() or run.spec.analysis.on_inconclusive
    message = f"no verdict by the end of {describe_step(run, index)}"
    if policy == InconclusivePolicy.PROMOTE:
        return f"{message}; onInconclusive is promote"
    if policy == InconclusivePolicy.ROLLBACK:
        start_rollback(run, Reason.ANALYSIS_INCONCLUSIVE, message, Outcome.ROLLED_BACK)
        return None
    run.status.paused_reason = Reason.PAUSED_INCONCLUSIVE.value
    run.set_phase(Phase.PAUSED, Reason.PAUSED_INCONCLUSIVE, f"{message}; waiting for a person")
    return None


def _sticky_message(run: Run, reason: Reason, index: int) -> str:
    why = {
        Reason.PAUSED_BY_USER: "paused by a user",
        Reason.PAUSED_INCONCLUSIVE: "paused: the analysis reached no verdict",
        Reason.PAUSED_ON_FAILURE: "paused: the analysis failed",
        Reason.PROGRESS_DEADLINE_EXCEEDED: "paused: capacity did not move within progressDeadline",
    }.get(reason, "paused")
    return f"{describe_step(run, index)}: {why}; resume, promote or abort"
