"""`kubectl modelrollout status` of an interleaving experiment: the rankings merged, the wins, the
interval and evidence, and the decision."""

from __future__ import annotations

from datetime import UTC, datetime

from modelrollout.cli.status_format import render_status


def test_an_interleaving_experiment_shows_its_wins_interval_evidence_and_decision() -> None:
    feed = {
        "metadata": {"name": "feed", "namespace": "default"},
        "spec": {
            "model": "feed",
            "service": "feed",
            "stable": {"version": "v1"},
            "candidate": {"version": "v2"},
            "strategy": {"type": "Interleaved", "traffic": {"provider": "router"}, "interleaved": {}},
        },
        "status": {
            "phase": "Progressing",
            "currentStep": 1,
            "routes": {"interleaving": {"versions": ["v1", "v2"], "listField": "ranking", "length": 10}},
            "interleaved": {
                "decision": "Collecting",
                "verdict": "Inconclusive",
                "impressions": 420,
                "candidateWins": 61,
                "stableWins": 48,
                "ties": 250,
                "winShare": 0.5596,
                "intervalLow": 0.41,
                "intervalHigh": 0.7,
                "eValue": 1.3,
                "minImpressions": 100,
                "intervals": 7,
                "endsAt": "2030-01-01T02:00:00Z",
                "message": "no preference shown yet",
            },
        },
    }
    text = render_status(feed, [], [], datetime(2030, 1, 1, tzinfo=UTC))
    assert (
        "Interleaved: Collecting (v1 and v2 merged, 10 items of ranking, 7 intervals, ends by 2030-01-01T02:00:00Z)"
        in text
    )
    assert (
        "  420 impressions: candidate won 61, stable 48, ties 250; win share 0.5596 [0.41, 0.7], e-value 1.3"
        in text
    )
    assert "  no preference shown yet" in text


def test_a_canary_shows_no_interleaving() -> None:
    rollout = {"metadata": {"name": "m", "namespace": "d"}, "spec": {}, "status": {"phase": "Promoted"}}
    assert "Interleaved:" not in render_status(rollout, [], [], datetime(2030, 1, 1, tzinfo=UTC))
