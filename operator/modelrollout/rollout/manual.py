"""Manual actions from the `modelrollout.io/action` annotation, each applied once.

An action that does not fit the current phase is recorded as ignored (with why, and a Warning
Event) rather than kept for later: a `promote` typed during a rollback must not promote the next
rollout. `abort` is the exception to "once per nonce": applying it again is always safe, so an
`abort` whose verb and nonce were used before still aborts whatever is rolling out now (a bare
`abort` typed for the second candidate must not be taken for the first one's).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ..api.v1alpha1 import (
    ActionRecord,
    ModelRolloutSpec,
    ModelRolloutStatus,
    Outcome,
    Phase,
    Reason,
    format_timestamp,
)
from ._decision_state import Run, step_weight
from .bluegreen import promote_blue_green
from .observations import ActionVerb, DeploymentState, ManualAction, Observations
from .route_steps import skip_route_wait
from .transitions import (
    abort_unstarted,
    complete_step,
    enter_step,
    release_candidate,
    start_promoting,
    start_rollback,
    supersede,
)
from .undo import undo, undoing

__all__ = ["fresh_action", "preview_action", "take_action"]

_STEPPING = frozenset({Phase.PROGRESSING, Phase.PAUSED})
_IGNORED = "ignored"
"""How the result of an action that changed nothing begins."""


def fresh_action(run: Run) -> ManualAction | None:
    """The annotation's action unless it is the one already recorded in `status.lastAction`
    (an abort is fresh again while there is something to abort)."""
    action = run.observations.action
    last = run.status.last_action
    if action is None:
        return None
    repeated = last is not None and last.verb == action.verb.value and last.nonce == action.nonce
    if repeated and not (action.verb == ActionVerb.ABORT and _abortable(run)):
        return None
    return action


def preview_action(
    spec: ModelRolloutSpec,
    status: ModelRolloutStatus,
    deployments: Mapping[str, DeploymentState],
    action: ManualAction,
    now: datetime,
) -> str:
    """What `action` would do now, said as `status.lastAction.result` would say it (`ignored:
    ...` when nothing): the plugin asks before writing an annotation the operator would only
    refuse later. Nothing is changed."""
    run = Run(
        spec, status, Observations(generation=status.observed_generation or 0, deployments=deployments), now
    )
    return _apply(run, action)


def take_action(run: Run, action: ManualAction) -> None:
    result = _apply(run, action)
    run.status.last_action = ActionRecord(
        verb=action.verb.value, nonce=action.nonce, at=format_timestamp(run.now), result=result
    )
    if result.startswith(_IGNORED):
        argument = f":{action.version}" if action.version else ""
        written = action.verb.value + argument + (f":{action.nonce}" if action.nonce else "")
        run.event(Reason.ACTION_IGNORED, f"action {written!r} {result}", warning=True)


def _apply(run: Run, action: ManualAction) -> str:
    verb = action.verb
    if verb == ActionVerb.ABORT:
        return _abort(run)
    if verb == ActionVerb.RETRY:
        return _retry(run)
    if verb == ActionVerb.UNDO:
        return undo(run, action)
    if run.status.phase not in _STEPPING:
        return f"ignored: no rollout is progressing (phase {run.status.phase.value})"
    if verb == ActionVerb.PAUSE:
        return _pause(run)
    if verb == ActionVerb.RESUME:
        return _resume(run)
    if run.spec.paused:
        return "ignored: spec.paused is true"
    if run.spec.strategy.blue_green is not None:
        return promote_blue_green(run, full=verb == ActionVerb.PROMOTE_FULL)
    if verb == ActionVerb.PROMOTE_FULL:
        start_promoting(run, Reason.PROMOTED_MANUALLY, "promoted by a user")
        return "promoting: remaining steps skipped"
    index = run.status.current_step or 0
    step = run.steps[index] if index < len(run.steps) else None
    if step is not None and step.set_weight is not None:
        # The person skips the wait for capacity, as for a pause: the step's weight is served now.
        run.set_candidate_weight(step_weight(step.set_weight))
    if step is not None and (step.set_header_route is not None or step.set_mirror_route is not None):
        skip_route_wait(run, step)  # likewise the step's route (an A/B test's segment): in force now
    complete_step(run, "promoted by a user")
    return f"step {index + 1} completed"


def _abortable(run: Run) -> bool:
    """A rollout is under way, or the spec names a candidate that has not started."""
    if run.status.phase in (*_STEPPING, Phase.PROMOTING):
        return True
    desired = run.desired_candidate()
    return desired is not None and run.candidate != desired


def _abort(run: Run) -> str:
    phase = run.status.phase
    if phase in (*_STEPPING, Phase.PROMOTING):
        start_rollback(run, Reason.ABORTED, "aborted by a user", Outcome.ABORTED)
        return "aborted"
    desired = run.desired_candidate()
    if desired is None or run.candidate == desired:
        return (
            "ignored: already rolling back" if phase == Phase.ROLLING_BACK else "ignored: no rollout to abort"
        )
    if undoing(run):
        return "ignored: an undo is under way; it finishes before another rollout can start or stop"
    # Not started yet, or the spec has just replaced a finished candidate (or one still leaving:
    # its rollback keeps its own outcome) with it.
    if phase == Phase.ROLLING_BACK:
        supersede(run, desired)
    elif run.candidate is not None:
        release_candidate(run)
    abort_unstarted(run, desired)
    return "aborted before the rollout started"


def _retry(run: Run) -> str:
    desired = run.desired_candidate()
    if run.status.phase != Phase.ROLLED_BACK or desired is None or run.candidate != desired:
        return "ignored: retry applies to a rolled back candidate still in the spec"
    release_candidate(run)
    return f"retrying {desired} from step 1"


def _pause(run: Run) -> str:
    paused = run.status.paused_reason
    index = run.status.current_step or 0
    step = run.steps[index] if index < len(run.steps) else None
    indefinite_step = step is not None and step.pause is not None and step.pause.duration is None
    if paused is not None and (paused != Reason.PAUSED_BY_STEP.value or indefinite_step):
        return f"ignored: already paused ({paused})"
    run.status.paused_reason = Reason.PAUSED_BY_USER.value
    return "paused"


def _resume(run: Run) -> str:
    paused = run.status.paused_reason
    if run.spec.paused:
        return "ignored: spec.paused is true"
    if paused == Reason.PAUSED_BY_STEP.value:
        complete_step(run, "resumed by a user")
        return "resumed: pause step completed"
    if paused == Reason.PAUSED_BY_USER.value:
        run.status.paused_reason = None
        return "resumed"
    if paused == Reason.PAUSED_INCONCLUSIVE.value:
        enter_step(run, run.status.current_step or 0)
        return "resumed: analysis restarted"
    if paused == Reason.PAUSED_ON_FAILURE.value:
        # A person overrules the Fail: evidence carried from earlier steps would fail it again.
        enter_step(run, run.status.current_step or 0, fresh_evidence=True)
        return "resumed: analysis restarted with fresh evidence"
    if paused == Reason.PROGRESS_DEADLINE_EXCEEDED.value:
        enter_step(run, run.status.current_step or 0)
        return "resumed: the capacity move restarted with a new progressDeadline"
    return "ignored: not paused by a step, a user or an analysis"
