"""Surge first: capacity moves like a Deployment's rolling update. The candidate's pods for a
new weight are Available before the stable gives any up (`maxSurge` / `maxUnavailable`), and a
`progressDeadline` ends the wait for a candidate that never becomes Available."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from modelrollout.api.v1alpha1 import ModelRolloutStatus
from modelrollout.rollout import ActionVerb, DeploymentState, ManualAction, decide
from modelrollout.rollout.capacity import next_stage, surge_limits

from ...fixtures.rollout_world import T0, World, events, make_spec, ready

STEPS = [{"setWeight": 10}, {"pause": {}}, {"setWeight": 60}, {"pause": {}}]


def serving_world(
    steps: list[dict[str, Any]] | None = None, **spec_fields: Any
) -> tuple[World, ModelRolloutStatus]:
    """The stable v7 serves at 3 replicas; the spec asks for candidate v8."""
    spec = make_spec(steps or STEPS, **spec_fields)
    world = World(spec, deployments=ready(v7=3))
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    return world, status


def sizes(world: World) -> dict[str, int]:
    return {version: state.replicas for version, state in sorted(world.deployments.items())}


def never_ready(world: World, version: str = "v8") -> None:
    """The cluster catches up, except that `version`'s pods never become Ready (a nodeSelector
    no node matches)."""
    world.settle()
    if version in world.deployments:
        world.deployments[version] = replace(
            world.deployments[version], ready_replicas=0, available_replicas=0
        )


def test_the_stable_keeps_its_replicas_until_the_candidate_is_available() -> None:
    """Today's bug: one decision grows the candidate and shrinks the stable, before any pod of
    the candidate is ready."""
    world, status = serving_world()
    for _ in range(3):  # start, create the candidate, move to 10%: nothing settles
        status = world.step(status, settle=False).status
    assert world.deployments["v8"].replicas == 1
    assert world.deployments["v8"].available_replicas == 0
    assert world.deployments["v7"].replicas == 3, "the stable shrank before the candidate was Available"


def test_a_weight_counts_as_served_once_capacity_is_at_its_plan() -> None:
    world, status = serving_world()
    status = world.step(status).status
    assert (sizes(world), status.weights) == ({"v7": 3, "v8": 1}, {"v7": 100, "v8": 0}), "surge first"
    assert status.progress_started_at == "2030-01-01T00:00:00Z"
    status = world.step(status).status
    assert (sizes(world), status.weights) == ({"v7": 2, "v8": 1}, {"v7": 90, "v8": 10})
    assert (status.phase.value, status.current_step, status.progress_started_at) == ("Paused", 1, None)

    world.extra["action"] = ManualAction(ActionVerb.RESUME, "r1")
    moving = [sizes(world)]
    for _ in range(4):
        status = world.step(status).status
        moving.append(sizes(world))
    assert moving == [
        {"v7": 2, "v8": 1},
        {"v7": 2, "v8": 2},  # 60% of 3 is 1 + 2: the candidate surges by one (25% of 3, rounded up)
        {"v7": 1, "v8": 2},  # its new pod is Available: the stable gives one up
        {"v7": 1, "v8": 2},
        {"v7": 1, "v8": 2},
    ]
    assert (status.phase.value, status.candidate_weight) == ("Paused", 60)


def test_max_unavailable_lets_the_stable_go_first_and_a_large_surge_grows_at_once() -> None:
    world, _ = serving_world()
    limits = surge_limits(world.spec.strategy.canary, 3)
    assert limits == (1, 0), "defaults: 25% rounded up, 0 unavailable"
    observed = ready(v7=3)
    assert next_stage({"v7": 1, "v8": 2}, observed, surge=0, unavailable=1) == {"v7": 2, "v8": 1}
    assert next_stage({"v7": 1, "v8": 2}, observed, surge=3, unavailable=0) == {"v7": 3, "v8": 2}
    observed = {**ready(v7=3), "v8": DeploymentState(replicas=2, ready_replicas=1, available_replicas=1)}
    assert next_stage({"v7": 1, "v8": 2}, observed, surge=3, unavailable=0) == {"v7": 2, "v8": 2}
    unready = {**ready(v7=3), "v8": DeploymentState(replicas=2)}
    assert next_stage({"v7": 3, "v8": 0}, unready, surge=1, unavailable=0) == {"v7": 3, "v8": 0}, (
        "pods that are not Available serve nothing: they go at once"
    )


def test_percent_limits_round_like_a_deployment() -> None:
    spec = make_spec(STEPS, replicas=10)
    canary = spec.strategy.canary
    assert canary is not None
    assert surge_limits(canary.model_copy(update={"max_surge": "25%", "max_unavailable": "25%"}), 10) == (
        3,
        2,
    )
    assert surge_limits(canary.model_copy(update={"max_surge": 0, "max_unavailable": "10%"}), 5) == (0, 1), (
        "both 0 after rounding: one may be unavailable, or nothing could move"
    )


def test_a_candidate_that_never_becomes_ready_is_rolled_back_at_the_deadline() -> None:
    world, status = serving_world(progress_deadline="1m")
    smallest_stable = 3
    rolling_back_at = None
    for _ in range(40):
        decision = world.step(status, settle=False)
        never_ready(world)
        status = decision.status
        smallest_stable = min(smallest_stable, world.deployments["v7"].replicas)
        if status.phase.value == "RollingBack" and rolling_back_at is None:
            rolling_back_at = world.now
        if status.phase.value == "RolledBack":
            break
        world.now += timedelta(seconds=decision.requeue_after or 5)
    assert smallest_stable == 3, "the stable never gave a pod up"
    assert status.phase.value == "RolledBack"
    assert rolling_back_at is not None and rolling_back_at - T0 <= timedelta(seconds=62), "by the deadline"
    assert sizes(world) == {"v7": 3, "v8": 0}
    assert (status.history[-1].outcome, status.history[-1].reason) == (
        "RolledBack",
        "ProgressDeadlineExceeded",
    )
    degraded = next(c for c in status.conditions if c.type == "Degraded")
    assert (degraded.status, degraded.reason) == ("True", "ProgressDeadlineExceeded")


def test_with_on_failure_pause_the_deadline_pauses_with_the_stable_at_full_capacity() -> None:
    world, status = serving_world(progress_deadline="30s", analysis={"onFailure": "pause"})
    announced: list[tuple[str, str]] = []
    for _ in range(40):
        decision = world.step(status, settle=False)
        never_ready(world)
        announced += events(decision)
        status = decision.status
        if status.phase.value == "Paused":
            break
        world.now += timedelta(seconds=decision.requeue_after or 5)
    assert (status.phase.value, status.paused_reason) == ("Paused", "ProgressDeadlineExceeded")
    assert ("Warning", "ProgressDeadlineExceeded") in announced
    degraded = next(c for c in status.conditions if c.type == "Degraded")
    assert (degraded.status, degraded.reason) == ("True", "ProgressDeadlineExceeded")
    status = world.step(status, settle=False).status
    never_ready(world)
    assert sizes(world) == {"v7": 3, "v8": 0}, "the unready pods go, the stable keeps the capacity it serves"
    world.now += timedelta(hours=1)
    assert world.step(status).status.phase.value == "Paused", "until a person acts"

    world.extra["action"] = ManualAction(ActionVerb.RESUME, "r1")
    resumed = world.step(status, settle=False).status
    assert resumed.phase.value == "Progressing"
    assert resumed.progress_started_at == world.now.isoformat().replace("+00:00", "Z"), "a new deadline"


def test_a_restart_mid_move_keeps_the_deadline() -> None:
    """The clock is in status: a restarted operator (status read back from the apiserver) ends
    the move at the same moment, not a whole deadline later."""
    world, status = serving_world(progress_deadline="1m")
    for _ in range(6):
        decision = world.step(status, settle=False)
        never_ready(world)
        status = decision.status
        world.now += timedelta(seconds=10)
    assert status.phase.value == "Progressing" and status.progress_started_at == "2030-01-01T00:00:00Z"
    restarted = ModelRolloutStatus.model_validate(status.model_dump(mode="json", by_alias=True))
    world.now = T0 + timedelta(seconds=60)
    decision = decide(world.spec, restarted, world.observe(restarted), world.now)
    assert decision.status.phase.value in ("RollingBack", "RolledBack")
    assert ("Warning", "ProgressDeadlineExceeded") in events(decision)
