"""The operator's bandit decision: posteriors, stopping, the winner and the regret."""

from __future__ import annotations

import pytest

from modelrollout.analysis import ArmCounts, BanditSettings, bandit_decision, regret_against


def test_posteriors_come_from_feedback_not_pulls() -> None:
    """A pull whose reward never arrived is no evidence: alpha and beta count the feedback."""
    decision = bandit_decision(
        [ArmCounts("stable", 1000, 400, 20), ArmCounts("v2", 900, 300, 21)],
        {"stable": 50.0, "v2": 50.0},
        BanditSettings(prior_alpha=2.0, prior_beta=3.0),
    )
    stable, candidate = decision.arms
    assert (stable.alpha, stable.beta) == (22.0, 383.0)
    assert (candidate.alpha, candidate.beta) == (23.0, 282.0)
    assert candidate.mean == pytest.approx(23 / 305)
    assert candidate.low < candidate.mean < candidate.high
    assert stable.probability_best + candidate.probability_best == pytest.approx(1.0)


def test_stops_when_one_arm_is_best_with_the_stop_probability() -> None:
    arms = [ArmCounts("stable", 2000, 2000, 100), ArmCounts("v2", 2000, 2000, 200)]
    decision = bandit_decision(arms, {"stable": 50.0, "v2": 50.0}, BanditSettings())
    assert decision.stop and decision.winner == "v2"
    assert "v2 is best with probability 1.000" in decision.message


def test_the_stable_can_win() -> None:
    arms = [ArmCounts("stable", 2000, 2000, 200), ArmCounts("v2", 2000, 2000, 100)]
    decision = bandit_decision(arms, {"stable": 50.0, "v2": 50.0}, BanditSettings())
    assert decision.winner == "stable"


def test_no_stop_before_every_arm_has_the_minimum_feedback() -> None:
    arms = [ArmCounts("stable", 60, 60, 0), ArmCounts("v2", 60, 60, 30)]
    decision = bandit_decision(arms, {"stable": 50.0, "v2": 50.0}, BanditSettings(min_feedback=100))
    assert decision.arms[1].probability_best > 0.999
    assert not decision.stop and decision.winner is None
    assert "fewer than 100 rewards" in decision.message


def test_no_stop_below_the_stop_probability() -> None:
    arms = [ArmCounts("stable", 1000, 1000, 50), ArmCounts("v2", 1000, 1000, 58)]
    decision = bandit_decision(arms, {"stable": 50.0, "v2": 50.0}, BanditSettings(stop_probability=0.99))
    assert 0.5 < decision.arms[1].probability_best < 0.99
    assert not decision.stop


def test_expected_regret_is_pulls_times_the_gap_to_the_expected_best() -> None:
    # Two identical flat posteriors: E[max] = 2/3 and each mean is 1/2, so each pull costs 1/6.
    arms = [ArmCounts("stable", 30, 0, 0), ArmCounts("v2", 30, 0, 0)]
    decision = bandit_decision(arms, {"stable": 100.0}, BanditSettings())
    assert decision.expected_regret == pytest.approx(60 / 6, abs=1e-6)
    assert decision.weights == {"stable": 80.0, "v2": 20.0}, "a 20-point step from 100/0 towards 50/50"


def test_regret_against_the_true_rates() -> None:
    assert regret_against([700, 300], [0.05, 0.06]) == pytest.approx(7.0)
    assert regret_against([0, 1000], [0.05, 0.06]) == 0.0


def test_rewards_ahead_of_feedback_are_clipped() -> None:
    decision = bandit_decision(
        [ArmCounts("stable", 10, 10, 10.4), ArmCounts("v2", 10, 10, 3)], {"stable": 100.0}, BanditSettings()
    )
    assert decision.arms[0].beta == 1.0


@pytest.mark.parametrize(
    ("arms", "match"),
    [
        ([], "distinct versions"),
        ([ArmCounts("a", 1, 1, 0), ArmCounts("a", 1, 1, 0)], "distinct versions"),
        ([ArmCounts("a", -1, 1, 0)], "negative"),
    ],
)
def test_bad_counters_are_refused(arms: list[ArmCounts], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bandit_decision(arms, {}, BanditSettings())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stable_floor", 120.0),
        ("max_step", 0.0),
        ("stop_probability", 0.5),
        ("prior_alpha", 0.0),
        ("credible_level", 1.0),
        ("min_feedback", -1.0),
    ],
)
def test_bad_settings_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        BanditSettings(**{field: value})


def test_an_exploration_floor_keeps_a_short_arm_gathering_rewards() -> None:
    """A candidate that starts badly would drop to 0% before the rewards a stop needs; with the
    floor it keeps that share until it has them, then the floor is lifted."""
    from modelrollout.analysis import ArmCounts, BanditSettings, bandit_decision

    arms = [ArmCounts("v1", 160, 160, 96), ArmCounts("v2", 40, 40, 4)]
    starving = bandit_decision(arms, {"v1": 80.0, "v2": 20.0}, BanditSettings(min_feedback=100.0))
    assert starving.weights["v2"] == 0.0 and not starving.stop
    kept = bandit_decision(
        arms, {"v1": 80.0, "v2": 20.0}, BanditSettings(min_feedback=100.0, exploration_floor=10.0)
    )
    assert kept.weights == {"v1": 90.0, "v2": 10.0}
    enough = [ArmCounts("v1", 400, 400, 240), ArmCounts("v2", 100, 100, 10)]
    done = bandit_decision(
        enough, {"v1": 90.0, "v2": 10.0}, BanditSettings(min_feedback=100.0, exploration_floor=10.0)
    )
    assert done.weights["v2"] == 0.0 and done.stop and done.winner == "v1"
