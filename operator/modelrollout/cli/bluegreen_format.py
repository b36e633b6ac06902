"""How `kubectl modelrollout get` and `status` show a BlueGreen rollout: its stages where a
canary shows its steps (`status.blueGreen`, `status.currentStep` is the stage's order)."""

from __future__ import annotations

from typing import Any

from ..api.v1alpha1 import BlueGreenStage
from .common import Obj, status_of

_BACK = ("RollingBack", "RolledBack")


def is_blue_green(rollout: Obj) -> bool:
    strategy = ((rollout.get("spec") or {}).get("strategy")) or {}
    return strategy.get("type") == "BlueGreen"


def stage_text(rollout: Obj) -> str:
    """`get`'s step column: the stage (`PrePromotionAnalysis`), `-` when none runs."""
    staged = status_of(rollout).get("blueGreen") or {}
    return str(staged.get("stage") or "-")


def requested_weight(rollout: Obj) -> str:
    """The candidate's live weight and why: zero behind the preview, all of it once switched."""
    status = status_of(rollout)
    candidate = status.get("candidateVersion")
    staged = status.get("blueGreen") or {}
    if candidate is None:
        return "-"
    if status.get("phase") in _BACK:
        return f"{candidate} 0% (rolled back)"
    where = f"preview Service {staged['previewService']}" if staged.get("previewService") else "preview"
    if not staged.get("switchedAt"):
        return (
            f"{candidate} 0% (live traffic on {status.get('stableVersion')}; {candidate} behind its {where})"
        )
    return f"{candidate} 100% (switched at {staged['switchedAt']})"


def stage_lines(rollout: Obj) -> list[str]:
    """The stages the spec runs, the current one marked with `=>`, finished ones ticked."""
    settings: dict[str, Any] = (((rollout.get("spec") or {}).get("strategy")) or {}).get("blueGreen") or {}
    status = status_of(rollout)
    current = status.get("currentStep") if status.get("blueGreen") else None
    runs = {
        BlueGreenStage.PRE_PROMOTION_ANALYSIS: "prePromotionAnalysis" in settings,
        BlueGreenStage.AWAITING_PROMOTION: settings.get("autoPromotion") is False,
        BlueGreenStage.POST_PROMOTION_ANALYSIS: "postPromotionAnalysis" in settings,
    }
    lines = []
    for stage in BlueGreenStage:
        if not runs.get(stage, True):
            continue
        mark = "  "
        if current is not None and stage.order == current:
            mark = "=>"
        elif current is not None and stage.order < current:
            mark = "✓ "
        detail = (
            f" (until {status['blueGreen'].get('scaleDownAt')})"
            if mark == "=>" and stage == BlueGreenStage.SCALE_DOWN_DELAY
            else ""
        )
        lines.append(f"  {mark} {stage.value}{detail}")
    return lines
