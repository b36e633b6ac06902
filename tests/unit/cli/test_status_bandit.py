"""`kubectl modelrollout status` of a bandit: each version's posterior, P(best) and weight."""

from __future__ import annotations

from datetime import UTC, datetime

from modelrollout.cli.status_format import render_status


def _arm(version: str, weight: float, alpha: float, beta: float, best: float) -> dict[str, object]:
    return {
        "version": version, "weight": weight, "alpha": alpha, "beta": beta, "mean": alpha / (alpha + beta),
        "low": 0.1, "high": 0.3, "probabilityBest": best, "pulls": 400.0, "rewards": alpha + beta - 2,
        "successes": alpha - 1,
    }  # fmt: skip


def test_a_bandit_shows_each_version_s_posterior_weight_and_the_regret() -> None:
    ranker = {
        "metadata": {"name": "ranker", "namespace": "default"},
        "spec": {"strategy": {"type": "Bandit", "bandit": {}}},
        "status": {
            "phase": "Progressing",
            "bandit": {
                "candidate": "v2",
                "decision": "Collecting",
                "arms": [_arm("v1", 40, 21, 81, 0.08), _arm("v2", 60, 31, 71, 0.92)],
                "weights": {"v1": 40, "v2": 60},
                "expectedRegret": 12.34,
                "intervals": 3,
                "message": "v2 leads with probability 0.920 < 0.95",
            },
        },
    }
    text = render_status(ranker, [], [], datetime(2030, 1, 1, tzinfo=UTC))
    assert "Bandit:      Collecting (3 intervals, expected regret 12.3 rewards)" in text
    assert "  v2: weight 60%, P(best) 0.920, reward rate 0.3039 [0.1000, 0.3000], Beta(31, 71)" in text
    assert "30/100 rewarded, 400 pulls" in text
    assert "  v2 leads with probability 0.920 < 0.95" in text
