"""The small parts of the state machine: action parsing, readiness, plans, windows, conditions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rollout_world import T0, make_spec, status_at

from modelrollout.api.v1alpha1 import Condition, ConditionType, Reason
from modelrollout.rollout import (
    ActionVerb,
    DeploymentState,
    ManualAction,
    Observations,
    ReplicaPlan,
    analysis_deadline,
    analysis_due,
    analysis_window,
)
from modelrollout.rollout.conditions import put_condition


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


def test_a_plan_only_counts_for_its_own_weights() -> None:
    observed = Observations(
        generation=1, replica_plan=ReplicaPlan(weights={"v7": 80, "v8": 20}, replicas={"v7": 2, "v8": 1})
    )
    assert observed.planned_replicas({"v7": 80, "v8": 20}) == {"v7": 2, "v8": 1}
    assert observed.planned_replicas({"v7": 50, "v8": 50}) is None
    assert Observations(generation=1).planned_replicas({"v7": 100}) is None


SPEC = make_spec([{"setWeight": 10}, {"analysis": {"maxDuration": "100s"}}], analysis={"interval": "30s"})
ANALYSING = status_at("Progressing", step=1, weight=10, analysis_started=T0)


@pytest.mark.parametrize(
    ("seconds", "end", "due"),
    [
        (0, 0, False),
        (29, 0, False),
        (30, 30, True),
        (59, 30, True),
        (61, 60, True),
        (95, 90, True),
        (100, 100, True),
        (500, 100, True),
    ],
)
def test_windows_end_on_the_interval_grid_and_the_deadline(seconds: float, end: float, due: bool) -> None:
    now = T0 + timedelta(seconds=seconds)
    assert analysis_due(SPEC, ANALYSING, now) is due
    if due:
        assert analysis_window(SPEC, ANALYSING, now) == (T0, T0 + timedelta(seconds=end))
    assert analysis_deadline(SPEC, ANALYSING) == T0 + timedelta(seconds=100)


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
