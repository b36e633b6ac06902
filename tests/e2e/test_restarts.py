"""Killing the operator (SIGKILL) in each phase of a rollout and starting it again: the rollout
goes on to its verdict with no step done twice and none skipped.

The kill comes the moment a watch sees the status of the phase written, so the operator usually
dies between writing its status and applying what that status asks for (the crash the controller
is built to survive). What proves "once, in order": each step is announced by exactly one
StepCompleted Event, in step order; the rollout started and ended once (one history entry); the
lineage and the final replicas are those of a clean run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modelrollout_dev.model_traffic import Behaviour

from .given import Given
from .specs import base_spec
from .then import Then
from .when import When

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

METRICS = [
    {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.10},
    {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01, "critical": True},
]

STEPS = [
    {"setWeight": 25},
    {"analysis": {}},
    {"pause": {}},
    {"setWeight": 50},
    {"pause": {"duration": "1s"}},
]
STEP_NAMES = [
    "step 1/5 (setWeight 25)",
    "step 2/5 (analysis)",
    "step 3/5 (pause)",
    "step 4/5 (setWeight 50)",
    "step 5/5 (pause 1s)",
]
PAUSE_STEP = 2

DOWN_SECONDS = 2.0
"""How long the operator stays dead: long enough for pods to become ready behind its back."""

Status = dict[str, Any]


def _at(phase: str, step: int | None = None) -> Callable[[Status], bool]:
    def matches(status: Status) -> bool:
        return status.get("phase") == phase and (step is None or status.get("currentStep") == step)

    return matches


KILL_POINTS: dict[str, tuple[str, Callable[[Status], bool]]] = {
    "Pending": ("Pending", _at("Pending")),
    "Progressing-setWeight": ("Progressing", _at("Progressing", 0)),
    "Progressing-analysis": ("Progressing", _at("Progressing", 1)),
    "Paused": ("Paused", _at("Paused", PAUSE_STEP)),
    "Promoting": ("Promoting", _at("Promoting")),
}


def _crash_and_restart(when: When, kill_point: str) -> When:
    caught = KILL_POINTS[kill_point][1]
    return when.kill_operator_when(caught, f"{kill_point} written").sleep(DOWN_SECONDS).start_operator()


def _steps_completed(events: list[tuple[str, str]]) -> list[str]:
    """The step each StepCompleted Event names (the Promoting transition shares the reason but
    names no step)."""
    return [
        message.split(" completed")[0]
        for reason, message in events
        if reason == "StepCompleted" and message.startswith("step ")
    ]


def _listed(events: list[tuple[str, str]]) -> str:
    return "\n".join(f"{reason}: {message}" for reason, message in events)


def _caught(then: Then, phase: str) -> Then:
    """The operator really died in `phase`: the status it left is still in that phase."""
    left = then.env.extra["status_at_kill"]
    assert left.get("phase") == phase, f"killed in {left.get('phase')!r}, not {phase!r}: {left}"
    return then


@pytest.mark.parametrize("kill_point", list(KILL_POINTS))
def test_a_killed_operator_continues_a_good_canary_to_promotion(given: Given, kill_point: str) -> None:
    given.service().model_traffic({"v1": Behaviour(), "v2": Behaviour()})
    spec = base_spec(given.env, steps=STEPS, analysis=given.analysis(METRICS, maxDuration="60s"))

    when = given.rollout(spec)
    for point in ("Pending", "Progressing-setWeight", "Progressing-analysis"):
        if point == kill_point:
            _crash_and_restart(when, point)
    if kill_point == "Paused":
        when.kill_operator_when(KILL_POINTS["Paused"][1], "the pause step written")
        when.action("resume").sleep(DOWN_SECONDS).start_operator()
    else:
        when.wait_for_status_of(
            given.env.name, _at("Paused", PAUSE_STEP), "paused at the pause step", timeout=60
        )
        when.action("resume")
    if kill_point == "Promoting":
        _crash_and_restart(when, kill_point)
    when.wait_for_phase("Promoted", timeout=60)

    then = _caught(when.then(), KILL_POINTS[kill_point][0])
    events = given.env.rollout_events()
    reasons = [reason for reason, _ in events]
    assert _steps_completed(events) == STEP_NAMES, _listed(events)
    assert reasons.count("RolloutStarted") == 1, _listed(events)
    assert reasons.count("AnalysisPassed") == 1, _listed(events)
    assert reasons.count("Resumed") == 1, _listed(events)
    assert reasons.count("Promoted") == 1, _listed(events)
    then.phase("Promoted").stable_version("v2").that(lambda s: s["weights"] == {"v2": 100}, "all on v2")
    then.that(lambda s: [(h["candidate"], h["outcome"]) for h in s["history"]] == [("v2", "Promoted")],
              "one rollout in the history, promoted")  # fmt: skip
    then.that(lambda s: s["lastAction"]["result"] == "resumed: pause step completed", "resume taken once")
    then.lineage_outcomes({"v1": "Stable", "v2": "Promoted"})
    then.replicas({"fraud-scorer-v2": 4, "fraud-scorer-v1": 0})


def test_a_killed_operator_finishes_a_rollback(given: Given) -> None:
    given.service().model_traffic({"v1": Behaviour(error_rate=0.01), "v2": Behaviour(error_rate=0.08)})
    steps = [{"setWeight": 50}, {"analysis": {}}, {"setWeight": 100}]
    spec = base_spec(given.env, steps=steps, analysis=given.analysis(METRICS, maxDuration="30s"))

    when = given.rollout(spec).kill_operator_when(_at("RollingBack"), "RollingBack written", timeout=60)
    when.sleep(DOWN_SECONDS).start_operator().wait_for_phase("RolledBack", timeout=45)

    then = _caught(when.then(), "RollingBack")
    events = given.env.rollout_events()
    reasons = [reason for reason, _ in events]
    assert _steps_completed(events) == ["step 1/3 (setWeight 50)"], _listed(events)
    assert reasons.count("AnalysisFailed") == 2, _listed(events)  # the verdict's, then the rollback's
    assert reasons.count("RolledBack") == 1, _listed(events)
    then.phase("RolledBack").stable_version("v1").candidate_weight(0)
    then.that(lambda s: [(h["candidate"], h["outcome"]) for h in s["history"]] == [("v2", "RolledBack")],
              "one rollout in the history, rolled back")  # fmt: skip
    then.lineage_outcomes({"v1": "Stable", "v2": "RolledBack"})
    then.replicas({"fraud-scorer-v1": 4, "fraud-scorer-v2": 0})
