"""The operator's bandit weights: Thompson shares held back by the stable's floor and the step."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelrollout.analysis import ArmCounts, BanditSettings, bandit_decision


def _arms(*counts: tuple[float, float, float]) -> list[ArmCounts]:
    return [ArmCounts(f"v{i}", *c) for i, c in enumerate(counts)]


def test_a_clear_winner_moves_at_most_one_step_per_interval() -> None:
    arms = _arms((1000, 1000, 50), (1000, 1000, 100))
    decision = bandit_decision(arms, {"v0": 50.0, "v1": 50.0}, BanditSettings(max_step=20.0))
    assert decision.arms[1].probability_best > 0.999
    assert decision.weights == {"v0": 30.0, "v1": 70.0}
    nxt = bandit_decision(arms, decision.weights, BanditSettings(max_step=20.0))
    assert nxt.weights == {"v0": 10.0, "v1": 90.0}, "the stable keeps its floor of 10%"
    assert bandit_decision(arms, nxt.weights, BanditSettings()).weights == nxt.weights


def test_without_guards_the_weights_are_the_probabilities_of_being_best() -> None:
    arms = _arms((100, 100, 5), (100, 100, 8), (100, 100, 6))
    loose = BanditSettings(stable_floor=0.0, max_step=100.0, resolution=0.01, min_feedback=0)
    decision = bandit_decision(arms, {"v0": 100.0}, loose)
    for arm in decision.arms:
        assert arm.weight == pytest.approx(100.0 * arm.probability_best, abs=0.01)
    assert sum(decision.weights.values()) == pytest.approx(100.0, abs=1e-6)


def test_a_broken_floor_is_restored_even_past_the_step() -> None:
    """Weights written before the floor was raised: the floor wins over the damper."""
    arms = _arms((10, 10, 0), (10, 10, 9))
    decision = bandit_decision(
        arms, {"v0": 0.0, "v1": 100.0}, BanditSettings(stable_floor=25.0, max_step=5.0)
    )
    assert decision.weights["v0"] == 25.0


def test_restart_gives_the_same_decision() -> None:
    """A function of the counters and the weights in force: nothing else to lose on a restart."""
    arms = _arms((5000, 4000, 210), (5200, 4100, 260))
    previous = {"v0": 45.0, "v1": 55.0}
    assert bandit_decision(arms, previous, BanditSettings()) == bandit_decision(
        arms, previous, BanditSettings()
    )


@settings(max_examples=150, deadline=None)
@given(
    ideal_counts=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 100)), min_size=2, max_size=5),
    previous_units=st.lists(st.integers(0, 100), min_size=5, max_size=5),
    floor=st.integers(0, 50),
    step=st.integers(1, 60),
    resolution=st.sampled_from([1.0, 0.5, 0.1]),
)
def test_guards_always_hold(
    ideal_counts: list[tuple[int, int]], previous_units: list[int], floor: int, step: int, resolution: float
) -> None:
    arms = [ArmCounts(f"v{i}", n, n, min(r, n)) for i, (n, r) in enumerate(ideal_counts)]
    raw = previous_units[: len(arms)]
    total = sum(raw) or 1
    previous = [100.0 * r / total for r in raw] if sum(raw) else [100.0] + [0.0] * (len(arms) - 1)
    # Previous weights from this policy are on the grid and meet the floor.
    units = [round(p / resolution) for p in previous]
    units[0] += round(100 / resolution) - sum(units)
    previous = [u * resolution for u in units]
    rule = BanditSettings(stable_floor=float(floor), max_step=float(step), resolution=resolution)
    weights = bandit_decision(arms, {a.version: w for a, w in zip(arms, previous, strict=True)}, rule).weights
    values = list(weights.values())
    assert sum(values) == pytest.approx(100.0, abs=1e-6)
    assert all(abs(v / resolution - round(v / resolution)) < 1e-6 for v in values)
    assert all(v >= -1e-9 for v in values)
    if previous[0] >= floor:
        assert values[0] >= floor - 1e-9
        assert all(abs(v - p) <= step + 1e-9 for v, p in zip(values, previous, strict=True))
    else:
        assert values[0] >= floor - 1e-9


def test_resolution_must_divide_100() -> None:
    with pytest.raises(ValueError, match="does not divide 100"):
        bandit_decision(_arms((1, 1, 1), (1, 1, 0)), {"v0": 100.0}, BanditSettings(resolution=0.3))
