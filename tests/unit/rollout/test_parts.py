"""The small parts of the state machine: action parsing, readiness, plans, windows, conditions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modelrollout.api.v1alpha1 import Condition, ConditionType, Outcome, Reason
from modelrollout.rollout import (
    ActionVerb,
    DeploymentState,
    ManualAction,
    Observations,
    RolloutOutcome,
    analysis_deadline,
    analysis_due,
    analysis_final_look,
    analysis_window,
)
from modelrollout.rollout.conditions import put_condition

from ...fixtures.rollout_world import T0, make_spec, status_at


@pytest.mark.parametrize(
    ("annotation", "verb", "nonce"),
    [
        ("promote", ActionVerb.PROMOTE, ""),
        ("promote-full:7f3a", ActionVerb.PROMOTE_FULL, "7f3a"),
        (" abort : 2 ", ActionVerb.ABORT, "2"),
        ("retry:a:b", ActionVerb.RETRY, "a:b"),
    ],
)
def test_action_annotation_parses(annotation: str, verb: ActionVerb, nonce: str) -> None:
    assert ManualAction.parse(annotation) == ManualAction(verb, nonce)


@pytest.mark.parametrize("annotation", ["", "promote-all", "PROMOTE", ":x"])
def test_a_bad_action_names_the_verbs(annotation: str) -> None:
    with pytest.raises(ValueError, match="promote, promote-full, abort, pause, resume, retry"):
        ManualAction.parse(annotation)


@pytest.mark.parametrize(
    ("state", "desired", "expected"),
    [
        (DeploymentState(replicas=2, ready_replicas=2, available_replicas=2), 2, True),
        (DeploymentState(replicas=2, ready_replicas=2, available_replicas=1), 2, False),
        (DeploymentState(replicas=2, ready_replicas=2, available_replicas=2, updated=False), 2, False),
        (DeploymentState(replicas=3, ready_replicas=3, available_replicas=3), 2, False),
        (DeploymentState(replicas=0, available_replicas=1), 0, False),
        (DeploymentState(replicas=0), 0, True),
        (DeploymentState(exists=False), 0, True),
        (DeploymentState(exists=False), 1, False),
    ],
)
def test_ready_for_a_size(state: DeploymentState, desired: int, expected: bool) -> None:
    assert state.ready_for(desired) is expected


def test_the_planner_plans_any_weights() -> None:
    """`decide` plans the weights it moves to as well as those it serves."""
    plans = {(80, 20): {"v7": 2, "v8": 1}, (50, 50): {"v7": 2, "v8": 1}, (0, 100): {"v7": 0, "v8": 3}}
    observed = Observations(generation=1, replica_plan=lambda weights: plans[tuple(weights.values())])
    assert observed.planned_replicas({"v7": 80, "v8": 20}) == {"v7": 2, "v8": 1}
    assert observed.planned_replicas({"v7": 0, "v8": 100}) == {"v7": 0, "v8": 3}
    assert Observations(generation=1).planned_replicas({"v7": 100}) is None


SPEC = make_spec([{"setWeight": 10}, {"analysis": {"maxDuration": "100s"}}], analysis={"interval": "30s"})
ANALYSING = status_at("Progressing", step=1, weight=10, analysis_started=T0)
OFF_GRID_START = T0 + timedelta(seconds=7)
"""T0 is a whole multiple of 30 s since the epoch; the step starts 7 s later, off the grid. Its
deadline (start + 100 s) is T0+107, off the grid too; the final look is the first grid point at
or after it, T0+120."""
ANALYSING_OFF_GRID = status_at("Progressing", step=1, weight=10, analysis_started=OFF_GRID_START)


def test_the_reference_time_is_on_the_grid() -> None:
    assert T0.timestamp() % 30 == 0


@pytest.mark.parametrize(
    ("seconds", "end", "due"),
    [
        (7, 7, False),  # the step just started: an empty window
        (29, 7, False),  # no grid point since the start yet
        (30, 30, True),  # the first window is 23 s, shorter than an interval
        (59, 30, True),
        (61, 60, True),
        (95, 90, True),
        (107, 90, True),  # the deadline is not a window end: the grid is
        (119, 90, True),
        (120, 120, True),  # the final look, first grid point at or after the deadline
        (500, 120, True),  # never past the final look
    ],
)
def test_windows_end_on_the_interval_grid_and_the_deadline(seconds: float, end: float, due: bool) -> None:
    now = T0 + timedelta(seconds=seconds)
    assert analysis_due(SPEC, ANALYSING_OFF_GRID, now) is due
    assert analysis_window(SPEC, ANALYSING_OFF_GRID, now) == (OFF_GRID_START, T0 + timedelta(seconds=end))
    assert analysis_deadline(SPEC, ANALYSING_OFF_GRID) == T0 + timedelta(seconds=107)
    assert analysis_final_look(SPEC, ANALYSING_OFF_GRID) == T0 + timedelta(seconds=120)


def test_rollouts_started_apart_share_their_window_ends() -> None:
    """The grid is the epoch's, so rollouts on one interval ask Prometheus for the same ends."""
    now = T0 + timedelta(seconds=75)
    ends = {
        analysis_window(SPEC, status_at("Progressing", step=1, weight=10, analysis_started=started), now)[1]
        for started in (T0 + timedelta(seconds=3), T0 + timedelta(seconds=19), T0 + timedelta(seconds=41))
    }
    assert ends == {T0 + timedelta(seconds=60)}


def test_a_deadline_on_the_grid_is_the_final_look() -> None:
    started = T0 + timedelta(seconds=20)
    on_grid = status_at("Progressing", step=1, weight=10, analysis_started=started)
    deadline = T0 + timedelta(seconds=120)
    assert analysis_deadline(SPEC, on_grid) == deadline
    assert analysis_final_look(SPEC, on_grid) == deadline
    assert analysis_window(SPEC, on_grid, deadline - timedelta(seconds=1)) == (
        started,
        T0 + timedelta(seconds=90),
    )
    assert analysis_window(SPEC, on_grid, deadline + timedelta(hours=1)) == (started, deadline)


def test_a_judged_window_is_not_due_again() -> None:
    judged = status_at(
        "Progressing", step=1, weight=10, analysis_started=T0, last_run=T0 + timedelta(seconds=30)
    )
    assert not analysis_due(SPEC, judged, T0 + timedelta(seconds=45))
    assert analysis_due(SPEC, judged, T0 + timedelta(seconds=60))


def test_no_analysis_outside_an_analysis_step() -> None:
    setting_weight = status_at("Progressing", step=0, weight=10)
    assert not analysis_due(SPEC, setting_weight, T0 + timedelta(hours=1))
    with pytest.raises(ValueError, match="no analysis step"):
        analysis_window(SPEC, setting_weight, T0)
    paused = status_at("Paused", step=1, weight=10, analysis_started=T0)
    assert not analysis_due(SPEC, paused, T0 + timedelta(hours=1))


def test_condition_keeps_its_transition_time_while_its_status_holds() -> None:
    conditions: list[Condition] = []
    assert put_condition(conditions, ConditionType.READY, "True", Reason.STABLE_AVAILABLE, "a", "t1", 1)
    assert not put_condition(conditions, ConditionType.READY, "True", Reason.STABLE_AVAILABLE, "b", "t2", 2)
    assert (conditions[0].last_transition_time, conditions[0].message, conditions[0].observed_generation) == (
        "t1",
        "b",
        2,
    )
    assert put_condition(conditions, ConditionType.READY, "False", Reason.STABLE_UNAVAILABLE, "c", "t3", 2)
    assert conditions[0].last_transition_time == "t3"


def test_the_outcome_vocabulary_is_the_apis() -> None:
    """The controller records `RolloutOutcome` facts into `lineage`, which reads `Outcome`: one
    enum, so the two cannot drift."""
    assert RolloutOutcome is Outcome
