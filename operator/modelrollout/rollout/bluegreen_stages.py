"""The BlueGreen stages' bookkeeping, shared by the transitions and the effects: entering a stage
(once, like a canary step) and the replicas each stage keeps. The stages' work is `bluegreen`'s.

Replicas are not a function of the weights here, as they are for a canary: until the switch the
stable serves all traffic at full size while the candidate runs beside it (at `previewReplicas`,
then at full size), and after the switch the old version stays at full size until the candidate
is accepted, so that switching back is a change of routes alone.
"""

from __future__ import annotations

from datetime import timedelta

from ..api.v1alpha1 import (
    AnalysisStatus,
    BlueGreenStage,
    BlueGreenStatus,
    BlueGreenStrategy,
    Phase,
    Reason,
    format_timestamp,
    parse_duration,
)
from ._decision_state import Run

__all__ = ["blue_green_replicas", "describe_stage", "enter_stage", "preview_service"]

_STAGES = tuple(BlueGreenStage)


def describe_stage(index: int) -> str:
    """How events and messages name a stage (`PrePromotionAnalysis`)."""
    return _STAGES[min(index, len(_STAGES) - 1)].value


def preview_service(run: Run, candidate: str) -> str:
    """The candidate's own Service, which the route providers create as `<rollout>-<version>`."""
    return f"{run.observations.rollout or run.spec.model}-{candidate}"


def _applies(strategy: BlueGreenStrategy, stage: BlueGreenStage) -> bool:
    if stage == BlueGreenStage.PRE_PROMOTION_ANALYSIS:
        return strategy.pre_promotion_analysis is not None
    if stage == BlueGreenStage.POST_PROMOTION_ANALYSIS:
        return strategy.post_promotion_analysis is not None
    if stage == BlueGreenStage.AWAITING_PROMOTION:
        return not strategy.auto_promotion
    return True


def enter_stage(run: Run, index: int) -> None:
    """Stages start here, skipping those the spec leaves out, so `stepStartedAt`, an analysis'
    start and the scale-down time are written exactly once. Each analysis judges only its own
    stage's evidence: the preview traffic before the switch, the live traffic after it."""
    strategy = run.spec.strategy.blue_green
    candidate = run.candidate
    if strategy is None or candidate is None:
        return
    while index < len(_STAGES) - 1 and not _applies(strategy, _STAGES[index]):
        index += 1
    stage = _STAGES[index]
    status = run.status
    now = format_timestamp(run.now)
    status.current_step = index
    status.step_started_at = now
    status.paused_reason = None
    if status.blue_green is None or index == 0:
        status.blue_green = BlueGreenStatus(
            stage=stage, preview_service=preview_service(run, candidate), active_version=run.stable
        )
    status.blue_green.stage = stage
    if strategy.analysis_at(index) is not None:
        status.analysis = AnalysisStatus(started_at=now, evidence_started_at=now)
    if stage == BlueGreenStage.SCALE_DOWN_DELAY:
        delay = strategy.scale_down_delay
        status.blue_green.scale_down_at = format_timestamp(run.now + timedelta(seconds=parse_duration(delay)))
        run.set_phase(
            Phase.PROMOTING,
            Reason.SWITCHED,
            f"{candidate} serves all traffic; {run.stable} stays at full size for scaleDownDelay {delay} "
            f"(until {status.blue_green.scale_down_at}): an abort until then switches back at once",
        )


def blue_green_replicas(run: Run) -> dict[str, int] | None:
    """The replicas of both versions while a BlueGreen stage runs (None: not one): the stable at
    full size throughout, the candidate at `previewReplicas` until it grows for the switch."""
    strategy = run.spec.strategy.blue_green
    staged = run.status.blue_green
    candidate = run.candidate
    if strategy is None or staged is None or candidate is None:
        return None
    if run.status.phase not in (Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING):
        return None
    full = run.spec.replicas
    preview = min(strategy.preview_replicas or full, full)
    grown = staged.stage.order >= BlueGreenStage.SWITCHING.order
    return {run.stable: full, candidate: full if grown else preview}
