"""The route steps in `decide`: a header route or mirror enters `status.routes` once the candidate
has a pod to answer it, stays until removed, and goes when the rollout leaves its steps (promote,
abort); `setCanaryScale` sizes the candidate apart from its weight."""

from __future__ import annotations

from typing import Any

from modelrollout.api.v1alpha1 import (
    CanaryStep,
    HeaderRoute,
    MirrorRoute,
    ModelRolloutStatus,
    RouteMatch,
    StrategySpec,
    TrafficSpec,
)
from modelrollout.rollout import ActionVerb, ManualAction
from modelrollout.rollout.route_steps import describe_route_step
from modelrollout.traffic import GatewayAPIProvider

from ...fixtures.rollout_world import World, make_spec, ready

BETA = {"headerName": "x-beta", "headerValue": {"exact": "true"}}
TRAFFIC = TrafficSpec.model_validate({"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}})


def world_for(steps: list[dict[str, Any]], replicas: int = 4) -> tuple[World, ModelRolloutStatus]:
    strategy = StrategySpec.model_validate({"traffic": TRAFFIC, "canary": {"steps": steps}})
    spec = make_spec(replicas=replicas).model_copy(update={"strategy": strategy})
    world = World(spec, deployments=ready(v7=replicas), provider=GatewayAPIProvider())  # type: ignore[arg-type]
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    return world, status


def run_until(world: World, status: ModelRolloutStatus, phase: str, limit: int = 12) -> ModelRolloutStatus:
    for _ in range(limit):
        status = world.step(status).status
        if status.phase.value == phase:
            return status
    raise AssertionError(f"never reached {phase}: {status.phase.value} {status.message}")


def sizes(world: World) -> dict[str, int]:
    return {version: state.replicas for version, state in sorted(world.deployments.items())}


def test_a_header_route_waits_for_a_candidate_pod_then_stands_whatever_the_weight() -> None:
    world, status = world_for([{"setHeaderRoute": {"name": "beta", "match": [BETA]}}, {"pause": {}}])
    status = world.step(status, settle=False).status
    assert status.routes is None, "no route to a candidate without an Available pod"
    assert sizes(world) == {"v7": 4, "v8": 1}, "its one pod comes first (surge)"
    status = run_until(world, status, "Paused")
    assert status.routes is not None and status.routes.headers == [
        HeaderRoute(name="beta", version="v8", match=[RouteMatch.model_validate(BETA)])
    ]
    assert (status.weights, sizes(world)) == ({"v7": 100, "v8": 0}, {"v7": 4, "v8": 1})


def test_abort_takes_every_route_and_the_candidates_pod_away() -> None:
    world, status = world_for([{"setHeaderRoute": {"name": "beta", "match": [BETA]}},
                               {"setMirrorRoute": {"name": "copy", "percentage": 20}}, {"pause": {}}])  # fmt: skip
    status = run_until(world, status, "Paused")
    assert status.routes is not None and status.routes.mirrors == [
        MirrorRoute(name="copy", version="v8", percentage=20)
    ]
    world.extra["action"] = ManualAction(ActionVerb.ABORT, "a1")
    status = run_until(world, status, "RolledBack")
    assert (status.routes, status.canary_scale, status.weights) == (None, None, {"v7": 100, "v8": 0})
    assert sizes(world).get("v8", 0) == 0


def test_a_header_route_without_match_removes_it_and_the_candidate_returns_to_its_weight() -> None:
    world, status = world_for([
        {"setHeaderRoute": {"name": "beta", "match": [BETA]}},
        {"setHeaderRoute": {"name": "other", "match": [{"cookie": {"name": "seg", "value": "b"}}]}},
        {"pause": {}},
        {"setHeaderRoute": {"name": "beta"}},
        {"setHeaderRoute": {"name": "other"}},
        {"pause": {}},
    ])  # fmt: skip
    status = run_until(world, status, "Paused")
    assert status.routes is not None and [route.name for route in status.routes.headers] == ["beta", "other"]
    world.extra["action"] = ManualAction(ActionVerb.RESUME, "r1")
    status = world.step(status).status
    world.extra.pop("action")
    status = run_until(world, status, "Paused")
    assert (status.current_step, status.routes) == (5, None)
    world.step(status)
    assert sizes(world)["v8"] == 0, "weight 0 and no route: no pod"


def test_a_mirror_replaced_by_name_keeps_its_place() -> None:
    world, status = world_for([
        {"setWeight": 10},
        {"setMirrorRoute": {"name": "a", "percentage": 10}},
        {"setMirrorRoute": {"name": "b", "percentage": 5, "match": [BETA]}},
        {"setMirrorRoute": {"name": "a", "percentage": 50}},
        {"pause": {}},
    ])  # fmt: skip
    status = run_until(world, status, "Paused")
    assert status.routes is not None
    assert [(m.name, m.percentage, len(m.match)) for m in status.routes.mirrors] == [
        ("a", 50, 0),
        ("b", 5, 1),
    ]


def test_canary_scale_sizes_the_candidate_apart_from_its_weight_until_it_follows_it_again() -> None:
    world, status = world_for([
        {"setCanaryScale": {"replicas": 3}},
        {"setWeight": 10},
        {"pause": {}},
        {"setCanaryScale": {"weight": 50}},
        {"pause": {}},
        {"setCanaryScale": {"matchTrafficWeight": True}},
        {"pause": {}},
    ])  # fmt: skip
    status = run_until(world, status, "Paused")
    assert (status.weights, sizes(world)) == ({"v7": 90, "v8": 10}, {"v7": 4, "v8": 3})
    assert status.canary_scale is not None and status.canary_scale.replicas == 3
    for expected in ({"v7": 4, "v8": 2}, {"v7": 4, "v8": 1}):
        world.extra["action"] = ManualAction(ActionVerb.RESUME, f"r{expected['v8']}")
        status = world.step(status).status
        world.extra.pop("action")
        status = run_until(world, status, "Paused")
        world.step(status)
        assert sizes(world) == expected
    assert status.canary_scale is None


def test_promotion_clears_the_routes_and_the_scale() -> None:
    world, status = world_for(
        [{"setHeaderRoute": {"name": "beta", "match": [BETA]}}, {"setCanaryScale": {"replicas": 2}}]
    )
    status = run_until(world, status, "Promoted")
    assert (status.routes, status.canary_scale, status.weights) == (None, None, {"v8": 100})
    assert sizes(world) == {"v7": 0, "v8": 4}


def test_events_and_messages_name_the_route_step() -> None:
    def named(step: dict[str, Any]) -> str:
        return describe_route_step(CanaryStep.model_validate(step))

    assert named({"setHeaderRoute": {"name": "beta", "match": [BETA]}}) == "setHeaderRoute beta"
    assert named({"setHeaderRoute": {"name": "beta"}}) == "setHeaderRoute beta removed"
    assert named({"setMirrorRoute": {"name": "copy", "match": [BETA]}}) == "setMirrorRoute copy 100%"
    assert named({"setMirrorRoute": {"name": "copy"}}) == "setMirrorRoute copy removed"
    assert named({"setCanaryScale": {"replicas": 2}}) == "setCanaryScale 2 replicas"
    assert named({"setCanaryScale": {"weight": 30}}) == "setCanaryScale 30%"
    assert named({"setCanaryScale": {"matchTrafficWeight": True}}) == "setCanaryScale matchTrafficWeight"


def test_a_scale_of_zero_keeps_one_pod_while_the_candidate_has_a_weight() -> None:
    world, status = world_for([{"setWeight": 10}, {"setCanaryScale": {"replicas": 0}}, {"pause": {}}])
    status = run_until(world, status, "Paused")
    world.step(status)
    assert (status.weights, sizes(world)) == ({"v7": 90, "v8": 10}, {"v7": 4, "v8": 1})
