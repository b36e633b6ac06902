"""`kubectl modelrollout get` and `status` on a BlueGreen rollout: its stage where a canary shows
its step, and the live weight as zero behind the preview or all of it once switched."""

from __future__ import annotations

from datetime import UTC, datetime

from modelrollout.cli.get import step_text
from modelrollout.cli.status_format import render_status

from .samples import rollout

NOW = datetime(2026, 12, 6, 10, 4, tzinfo=UTC)
STRATEGY = {
    "type": "BlueGreen",
    "traffic": {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}},
    "blueGreen": {"prePromotionAnalysis": {}, "scaleDownDelay": "30s"},
}
PREVIEW = {
    "phase": "Progressing", "stableVersion": "v1", "candidateVersion": "v2", "currentStep": 1,
    "weights": {"v1": 100, "v2": 0},
    "blueGreen": {"stage": "PrePromotionAnalysis", "previewService": "fraud-scorer-v2", "activeVersion": "v1"},
}  # fmt: skip
SWITCHED = {
    **PREVIEW, "phase": "Promoting", "currentStep": 5, "weights": {"v1": 0, "v2": 100},
    "blueGreen": {**PREVIEW["blueGreen"], "stage": "ScaleDownDelay", "activeVersion": "v2",
                  "switchedAt": "2026-12-06T10:03:00Z", "scaleDownAt": "2026-12-06T10:03:30Z"},
}  # fmt: skip


def test_the_stage_is_the_step_column_and_the_preview_is_named() -> None:
    assert step_text(rollout(PREVIEW, strategy=STRATEGY)) == "PrePromotionAnalysis"
    text = render_status(rollout(PREVIEW, strategy=STRATEGY), [], [], NOW)
    assert "requested  v2 0% (live traffic on v1; v2 behind its preview Service fraud-scorer-v2)" in text
    assert "  ✓  Preview\n  => PrePromotionAnalysis\n     Switching\n     ScaleDownDelay" in text


def test_after_the_switch_all_live_weight_is_the_candidates_until_the_scale_down() -> None:
    text = render_status(rollout(SWITCHED, strategy=STRATEGY), [], [], NOW)
    assert "requested  v2 100% (switched at 2026-12-06T10:03:00Z)" in text
    assert "  => ScaleDownDelay (until 2026-12-06T10:03:30Z)" in text
    assert step_text(rollout({"phase": "Promoted"}, strategy=STRATEGY)) == "-"
