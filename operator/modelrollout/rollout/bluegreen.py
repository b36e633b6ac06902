"""Running a BlueGreen rollout: the stages of Progressing and Paused, and Promoting.

Preview -> [PrePromotionAnalysis] -> [AwaitingPromotion] -> Switching -> [PostPromotionAnalysis]
-> ScaleDownDelay (Promoting) -> Promoted; a stage in brackets runs when the spec asks for it.
The candidate runs at zero live weight behind its own Service until the switch, which moves the
weights from 100/0 to 0/100 in one route write; the old version stays at full size until the
scale-down time, so an abort, a failed post-promotion analysis or a new candidate sends all
traffic back to it at once (the rollback transitions are the canary's: `transitions`).

The analysis, pauses, cascades and the progress deadline are the canary steps' own (`steps`);
the stages' bookkeeping is `bluegreen_stages`'.
"""

from __future__ import annotations

from ..api.v1alpha1 import BlueGreenStage, Outcome, Phase, Reason, format_timestamp, parse_timestamp
from . import history
from ._decision_state import Run
from .bluegreen_stages import blue_green_replicas, describe_stage
from .steps import (
    _STICKY_PAUSES,
    _analysis,
    _cascade,
    _live_pause,
    _sticky_message,
    wait_for_capacity,
)
from .transitions import complete_step, enter_step, finish_promotion

__all__ = ["progress_blue_green", "promote_blue_green"]

_STAGES = tuple(BlueGreenStage)


def progress_blue_green(run: Run) -> None:
    """Progressing, Paused and Promoting of a BlueGreen rollout; RollingBack and a standing
    problem are handled before, as for a canary."""
    if run.status.phase == Phase.PROMOTING:
        _scale_down_when_due(run)
        return
    if _cascade(run) or _live_pause(run):
        return
    if run.status.blue_green is None:  # the strategy became BlueGreen mid-rollout: from the preview
        run.set_candidate_weight(0)
        enter_step(run, 0)
    for _ in range(len(_STAGES) + 1):
        status = run.status
        if status.phase not in (Phase.PROGRESSING, Phase.PAUSED) or status.blue_green is None:
            return
        index = status.current_step or 0
        if status.paused_reason in _STICKY_PAUSES:
            reason = Reason(status.paused_reason)
            run.set_phase(Phase.PAUSED, reason, _sticky_message(run, reason, index))
            return
        done = _run_stage(run, _STAGES[index], index)
        if done is None:
            return
        complete_step(run, done)


def promote_blue_green(run: Run, *, full: bool) -> str:
    """`promote` ends the current stage (the promotion pause, an analysis); `promote-full` skips
    every analysis and pause up to the switch, or after it to the scale-down delay. Neither
    switches to a candidate not yet Available at full size."""
    index = run.status.current_step or 0
    stage = _STAGES[index]
    candidate = run.candidate
    if stage == BlueGreenStage.SWITCHING or candidate is None:
        return f"ignored: the switch waits for {candidate} to be Available at {run.spec.replicas} replicas"
    if not full:
        complete_step(run, "promoted by a user")
        return f"{stage.value} completed"
    history.decide_entry(run.status, candidate, Outcome.PROGRESSING, Reason.PROMOTED_MANUALLY.value)
    target = BlueGreenStage.SWITCHING if not stage.switched else BlueGreenStage.SCALE_DOWN_DELAY
    run.event(
        Reason.PROMOTED_MANUALLY, f"{describe_stage(index)} and every stage before {target.value} skipped"
    )
    enter_step(run, target.order)
    return f"promoting: stages up to {target.value} skipped"


def _run_stage(run: Run, stage: BlueGreenStage, index: int) -> str | None:
    """The stage's work; what it did when it is done, None while it waits."""
    if stage in (BlueGreenStage.PRE_PROMOTION_ANALYSIS, BlueGreenStage.POST_PROMOTION_ANALYSIS):
        return _analysis(run, index)
    if stage == BlueGreenStage.AWAITING_PROMOTION:
        run.status.paused_reason = Reason.PAUSED_BY_STEP.value  # `resume` or `promote` ends it
        message = (
            f"{stage.value}: {run.candidate} is ready behind Service {_preview(run)}; "
            "`kubectl modelrollout promote` switches the live traffic to it"
        )
        run.set_phase(Phase.PAUSED, Reason.AWAITING_PROMOTION, message)
        return None
    if stage == BlueGreenStage.SWITCHING:
        return _switch(run, index)
    return _preview_ready(run, index)


def _preview(run: Run) -> str:
    staged = run.status.blue_green
    return staged.preview_service if staged is not None else "-"


def _capacity_ready(run: Run, index: int, waiting: str) -> bool:
    """The candidate is Available at the size its stage keeps; while it is not, the sizes are
    asked for and `progressDeadline` counts (then `onFailure` applies, as for a canary's move)."""
    sizes = blue_green_replicas(run)
    candidate = run.candidate
    if sizes is None or candidate is None:
        return False
    if run.observations.deployment(candidate).ready_for(sizes[candidate]):
        run.status.progress_started_at = None
        return True
    run.capacity = sizes
    if run.status.progress_started_at is None:
        run.status.progress_started_at = format_timestamp(run.now)
    available = run.observations.deployment(candidate).available_replicas
    detail = f"{candidate} to be Available at {sizes[candidate]} replicas ({available} now)"
    wait_for_capacity(run, index, describe_stage(index), detail, waiting)
    return False


def _preview_ready(run: Run, index: int) -> str | None:
    waiting = f"{run.stable} serves all traffic"
    if not _capacity_ready(run, index, waiting):
        return None
    return f"{run.candidate} Available behind Service {_preview(run)} at zero live weight"


def _switch(run: Run, index: int) -> str | None:
    """All live traffic to the candidate in one change of weights, once it is at full size."""
    candidate = run.candidate
    staged = run.status.blue_green
    if candidate is None or staged is None:
        return None
    if not _capacity_ready(run, index, f"growing for the switch; {run.stable} serves all traffic"):
        return None
    old = run.stable
    run.set_candidate_weight(100)
    staged.active_version = candidate
    staged.switched_at = format_timestamp(run.now)
    run.event(
        Reason.SWITCHED,
        f"live traffic switched from {old} to {candidate} at once; {old} stays at {run.spec.replicas} replicas",
    )
    return f"live traffic on {candidate}"


def _scale_down_when_due(run: Run) -> None:
    """The old version goes once the scale-down time has come: the candidate becomes the stable
    and the old version, out of the weights, is scaled to zero (`effects`)."""
    staged = run.status.blue_green
    due = parse_timestamp(staged.scale_down_at) if staged is not None else None
    if due is not None and run.now < due:
        run.note(Reason.SWITCHED, run.status.message)
        run.requeue((due - run.now).total_seconds())
        return
    finish_promotion(run)
