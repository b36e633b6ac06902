"""`kubectl modelrollout status` says how far back the evidence of a later step reaches."""

from __future__ import annotations

from datetime import UTC, datetime

from modelrollout.cli.status_format import render_status

from .samples import ANALYSING, rollout

NOW = datetime(2026, 12, 6, 10, 4, tzinfo=UTC)


def test_evidence_carried_across_steps_shows_its_span() -> None:
    analysis = {**ANALYSING["analysis"], "evidenceStartedAt": "2026-12-06T09:40:00Z", "evidenceIntervals": 14}

    text = render_status(rollout({**ANALYSING, "analysis": analysis}), [], [], NOW)

    assert (
        "Analysis:    Inconclusive (3 intervals, evidence over 14 intervals since 2026-12-06T09:40:00Z,"
        in text
    )


def test_evidence_of_the_step_alone_adds_nothing() -> None:
    analysis = {
        **ANALYSING["analysis"],
        "evidenceStartedAt": ANALYSING["analysis"].get("startedAt"),
        "evidenceIntervals": 3,
    }

    text = render_status(rollout({**ANALYSING, "analysis": analysis}), [], [], NOW)

    assert "evidence over" not in text
