"""`kubectl modelrollout status` of a Shadow rollout: the share copied, the agreement and score
difference with their intervals and verdicts."""

from __future__ import annotations

from datetime import UTC, datetime

from modelrollout.cli.status_format import render_status

SCORER = {
    "metadata": {"name": "scorer", "namespace": "default"},
    "spec": {
        "model": "scorer",
        "service": "scorer",
        "stable": {"version": "v1"},
        "candidate": {"version": "v2"},
        "strategy": {"type": "Shadow", "traffic": {"provider": "router"}, "shadow": {"percentage": 50}},
    },
    "status": {
        "phase": "Progressing",
        "currentStep": 1,
        "shadow": {
            "percentage": 50,
            "decision": "Collecting",
            "verdict": "Inconclusive",
            "agreement": 0.982,
            "agreementLow": 0.951,
            "agreementHigh": 0.994,
            "agreementVerdict": "Pass",
            "scoreDifference": 0.0123,
            "scoreDifferenceLow": 0.0,
            "scoreDifferenceHigh": 0.061,
            "scoreDifferenceVerdict": "Inconclusive",
            "compared": 640,
            "scoresCompared": 640,
            "intervals": 4,
            "endsAt": "2030-01-01T00:10:00Z",
        },
    },
}


def test_a_shadow_rollout_shows_its_comparison() -> None:
    text = render_status(SCORER, [], [], datetime(2030, 1, 1, tzinfo=UTC))
    assert (
        "Shadow:      Collecting (50% of requests copied, 4 intervals, ends by 2030-01-01T00:10:00Z)" in text
    )
    assert "agreement 0.982 [0.951, 0.994] Pass over 640 requests" in text
    assert "score difference 0.0123 [0, 0.061] Inconclusive over 640 scores" in text


def test_other_rollouts_show_no_shadow_block() -> None:
    other = {**SCORER, "status": {"phase": "Promoted"}}
    assert "Shadow:" not in render_status(other, [], [], datetime(2030, 1, 1, tzinfo=UTC))
