"""`kubectl modelrollout status` says when a canary is sticky, by what, and whether it holds now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from modelrollout.cli.status_format import render_status


def rendered(stickiness: dict[str, str] | None, weights: dict[str, Any]) -> str:
    canary: dict[str, Any] = {"steps": [{"setWeight": 20}]}
    if stickiness is not None:
        canary["stickiness"] = stickiness
    rollout = {
        "metadata": {"name": "fraud", "namespace": "ml"},
        "spec": {"strategy": {"traffic": {"provider": "router"}, "canary": canary}},
        "status": {"phase": "Paused", "weights": weights},
    }
    return render_status(rollout, [], [], datetime(2030, 1, 1, tzinfo=UTC))


def test_a_sticky_split_in_force_is_shown_under_the_weights() -> None:
    text = rendered({"header": "x-user-id"}, {"v1": 80, "v2": 20})
    assert "  sticky     by header x-user-id: each user keeps one version\n" in text


def test_a_sticky_split_waits_for_the_weights_to_split() -> None:
    text = rendered({"cookie": "session"}, {"v1": 100, "v2": 0})
    assert "  sticky     by cookie session: applies while the weights split\n" in text


def test_a_canary_without_stickiness_shows_no_line() -> None:
    assert "sticky" not in rendered(None, {"v1": 80, "v2": 20})
