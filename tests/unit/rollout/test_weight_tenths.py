"""`decide` at tenths of a percent: a `setWeight: 0.5` step serves 99.5/0.5 exactly (summing to
exactly 100), a move from 0.5% to 1.5% is a change of split for the carried evidence like any
other, and a step of 99.5 is served as asked while 100 is still held at 99 until promotion."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from modelrollout.api.v1alpha1 import ModelRolloutStatus, Verdict
from modelrollout.rollout import Decision, EmitEvent

from ...fixtures.rollout_world import World, drive, make_spec, ready

ANALYSIS = {"interval": "30s", "maxDuration": "2m", "onInconclusive": "promote"}


def _at_step(steps: list[dict[str, Any]], index: int) -> tuple[ModelRolloutStatus, list[Decision]]:
    world = World(make_spec(steps, analysis=ANALYSIS), deployments=ready(v7=3))
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    return drive(world, status, verdict=Verdict.INCONCLUSIVE, until=lambda s: (s.current_step or 0) >= index)


def test_half_a_percent_is_served_exactly() -> None:
    status, decisions = _at_step([{"setWeight": 0.5}, {"pause": {}}], 1)
    assert status.weights == {"v7": Fraction(199, 2), "v8": Fraction(1, 2)}
    assert sum(status.weights.values()) == 100
    assert status.candidate_weight == Fraction(1, 2)
    said = [action.message for d in decisions for action in d.actions if isinstance(action, EmitEvent)]
    assert "step 1/2 (setWeight 0.5) completed: v8 Available at 0.5%" in said
    assert status.model_dump(by_alias=True, mode="json")["weights"] == {"v7": 99.5, "v8": 0.5}


def test_a_move_between_tenths_is_a_change_of_split_for_the_evidence() -> None:
    steps = [
        {"setWeight": 0.5},
        {"analysis": {}},
        {"setWeight": 1.5},
        {"pause": {"duration": "1m"}},
        {"analysis": {}},
    ]
    before, _ = _at_step(steps, 1)
    after, _ = _at_step(steps, 4)
    assert before.analysis is not None and after.analysis is not None
    assert len(after.analysis.split_changes) > len(before.analysis.split_changes)
    assert after.weights == {"v7": Fraction(985, 10), "v8": Fraction(15, 10)}


def test_a_step_below_100_is_served_as_asked_and_100_is_held_at_99() -> None:
    assert _at_step([{"setWeight": 99.5}, {"pause": {}}], 1)[0].candidate_weight == Fraction(199, 2)
    assert _at_step([{"setWeight": 100}, {"pause": {}}], 1)[0].candidate_weight == 99
