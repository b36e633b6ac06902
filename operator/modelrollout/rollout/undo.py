"""`undo`: return at once to an earlier good version, skipping analysis.

An undo is a person's judgement that the version serving now is worse than one that served
before, typically found after its promotion (a slow regression, a bad business metric). The
versions it can return to are the old stables `revisionHistoryLimit` keeps at zero replicas;
one no longer kept is refused with a Warning Event rather than rebuilt from a template the spec
may no longer hold.

Unlike a rollback, which takes a failing candidate out of traffic at once, an undo moves
capacity like any other move: the version returned to is scaled up from zero first and the
undone one gives its pods up only as the new ones become Available, so users are served
throughout. The undone version then stands as the rollout's candidate, RolledBack with reason
Undone, so the spec's candidate (usually that very version) is not rolled out again until the
spec names another one or a person asks for `retry`.
"""

from __future__ import annotations

from ..api.v1alpha1 import Outcome, Phase, Reason, format_timestamp
from . import history
from ._decision_state import CAPACITY_POLL_SECONDS, Run
from .capacity import deadline_passed, move_capacity
from .observations import ManualAction
from .transitions import finish_rollback, leave_steps

__all__ = ["continue_undo", "undo", "undoing"]


def undo(run: Run, action: ManualAction) -> str:
    """Starts the undo `action` asks for, or says (as `ignored: ...`) why it cannot."""
    status = run.status
    if status.phase != Phase.PROMOTED:
        return (
            f"ignored: undo applies while one version serves alone (phase Promoted, not "
            f"{status.phase.value}); abort stops a rollout under way"
        )
    limit = run.spec.revision_history_limit
    kept = [
        version
        for version in history.old_stables(status, limit)
        if run.observations.deployment(version).exists
    ]
    target = action.version or (kept[0] if kept else None)
    if target is None:
        return f"ignored: no earlier version is kept to return to (revisionHistoryLimit {limit})"
    if target == run.stable:
        return f"ignored: {target} is already the stable version"
    if target not in kept:
        choices = ", ".join(kept) or "none"
        return f"ignored: {target} is not kept for an undo (kept: {choices}; revisionHistoryLimit {limit})"
    undone = run.stable
    _start(run, undone, target)
    return f"undoing {undone}: returning to {target}"


def undoing(run: Run) -> bool:
    """An undo is moving capacity back: it finishes before anything else may change traffic."""
    candidate = run.candidate
    if candidate is None or run.status.phase != Phase.ROLLING_BACK:
        return False
    entry = history.running_entry(run.status, candidate)
    return entry is not None and entry.reason == Reason.UNDONE.value


def continue_undo(run: Run) -> None:
    """One stage of the move back; once the version returned to serves at full size, the undone
    one goes to zero weight and the rollback's own ending records it."""
    undone = run.candidate
    if undone is None:
        return
    if run.status.weights.get(undone, 0) > 0:
        move = move_capacity(run, {run.stable: 100, undone: 0}, run.stable)
        if not move.done:
            late = " (past progressDeadline)" if deadline_passed(run) else ""
            run.note(Reason.UNDONE, f"undo: waiting for {move.waiting_for}{late}; {undone} serves meanwhile")
            run.requeue(CAPACITY_POLL_SECONDS)
            return
        run.set_candidate_weight(0)
    finish_rollback(run)


def _start(run: Run, undone: str, target: str) -> None:
    """`target` becomes the stable at zero weight and `undone` the candidate at all of it: the
    weights served do not change until capacity has moved."""
    status = run.status
    at = format_timestamp(run.now)
    status.stable_version = target
    status.candidate_version = undone
    leave_steps(status)
    run.set_candidate_weight(100)
    history.open_entry(status, undone, target, at)
    history.decide_entry(status, undone, Outcome.ROLLED_BACK, Reason.UNDONE.value)
    run.record(target, Outcome.STABLE)
    run.set_phase(
        Phase.ROLLING_BACK,
        Reason.UNDONE,
        f"undo: returning all traffic from {undone} to {target}",
        warning=True,
    )
