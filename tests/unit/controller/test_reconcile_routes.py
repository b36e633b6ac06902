"""The route half of the traffic provider through the whole controller, against the in-memory
apiserver: routes follow the weights served, a provider that cannot route holds the rollout with
a condition, deletion hands the routes back, and the replicas provider says what it really serves."""

from __future__ import annotations

from typing import Any

from ...fixtures.fake_cluster import CANDIDATE, NAME, NAMESPACE, STABLE, FakeCluster, at, rollout_spec

GATEWAY = {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}}
STEPS = [{"setWeight": 20}, {"pause": {}}]


def http_route() -> dict[str, Any]:
    ref = {"group": "", "kind": "Service", "name": NAME, "port": 8080, "weight": 1}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "public", "namespace": NAMESPACE},
        "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [ref]}]},
    }  # fmt: skip


def gateway_cluster(
    *, served: bool = True, route: bool = True, steps: list[dict[str, Any]] | None = None
) -> FakeCluster:
    spec = rollout_spec(steps or STEPS)
    spec["strategy"]["traffic"] = GATEWAY
    cluster = FakeCluster.with_rollout(spec, service=False)
    cluster.client.add(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": NAME, "namespace": NAMESPACE},
         "spec": {"ports": [{"port": 8080, "targetPort": 8080, "protocol": "TCP"}]}}
    )  # fmt: skip
    if served:
        cluster.client.served_kinds.add("HTTPRoute")
    if route:
        cluster.client.add(http_route())
    return cluster


def backend_weights(cluster: FakeCluster) -> dict[str, int]:
    rule = cluster.client.get("HTTPRoute", NAMESPACE, "public")["spec"]["rules"][0]
    return {ref["name"]: ref["weight"] for ref in rule["backendRefs"]}


def test_the_routes_follow_the_weights_served_step_by_step() -> None:
    cluster = gateway_cluster()
    seen = []
    for _ in range(8):
        status = cluster.step()
        seen.append((status.get("candidateWeight"), backend_weights(cluster)))
        if status.get("phase") == "Paused":
            break
    assert status["phase"] == "Paused"
    assert backend_weights(cluster) == {"fraud-scorer-v1": 800, "fraud-scorer-v2": 200}
    assert status["effectiveWeights"] == {"v1": 80, "v2": 20}
    assert cluster.replicas() == {STABLE: 4, CANDIDATE: 1}, "capacity follows the weight, rounded up"
    for weight, routed in seen:  # the route never runs ahead of the weight served
        if routed.get("fraud-scorer-v2") is not None:
            assert routed["fraud-scorer-v2"] == 10 * weight
    assert cluster.client.get("Service", NAMESPACE, "fraud-scorer-v2")["spec"]["selector"] == {
        "modelrollout.io/rollout": NAME, "modelrollout.io/version": "v2",
    }  # fmt: skip


def test_abort_routes_everything_to_the_stable() -> None:
    cluster = gateway_cluster()
    cluster.run_until(at("Paused"))
    cluster.action("abort:n1")
    cluster.run_until(at("RolledBack"))
    assert backend_weights(cluster) == {"fraud-scorer-v1": 1000, "fraud-scorer-v2": 0}


def test_delete_hands_the_route_back_to_the_service() -> None:
    cluster = gateway_cluster()
    cluster.run_until(at("Paused"))
    cluster.finalize()
    rule = cluster.client.get("HTTPRoute", NAMESPACE, "public")["spec"]["rules"][0]
    assert rule["backendRefs"] == [{"group": "", "kind": "Service", "name": NAME, "port": 8080}]
    owners = {
        s["metadata"]["name"]: s["metadata"].get("ownerReferences") for s in cluster.client.objects("Service")
    }
    assert owners[NAME] is None, "the user's Service is never touched"
    assert all(owners[f"{NAME}-{v}"][0]["kind"] == "ModelRollout" for v in ("v1", "v2")), (
        "the version Services go with the ModelRollout (garbage collection)"
    )
    assert not [
        c for c in cluster.client.calls if c.method == "delete_object" and c.args["kind"] == "Service"
    ]


def test_without_the_crds_the_rollout_waits_with_a_condition_and_the_stable_serves() -> None:
    cluster = gateway_cluster(served=False)
    for _ in range(4):
        status = cluster.step()
    assert status["phase"] == "Pending"
    degraded = cluster.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "TrafficAPINotFound")
    assert "the cluster serves no HTTPRoute (gateway.networking.k8s.io/v1)" in degraded["message"]
    assert cluster.events().count(("Warning", "TrafficAPINotFound")) == 1
    assert cluster.replicas() == {STABLE: 4}, "no candidate was created"


def test_a_missing_route_holds_the_rollout_until_it_is_created() -> None:
    cluster = gateway_cluster(route=False)
    for _ in range(3):
        status = cluster.step()
    degraded = cluster.condition("Degraded")
    assert (status["phase"], degraded["reason"]) == ("Pending", "RouteNotFound")
    assert "HTTPRoute 'public' (spec.strategy.traffic.gatewayAPI.httpRoute) not found" in degraded["message"]
    cluster.client.add(http_route())
    cluster.run_until(at("Paused"))
    assert backend_weights(cluster)["fraud-scorer-v2"] == 200


def test_the_replicas_provider_warns_once_per_step_it_cannot_serve_exactly() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 5}, {"pause": {}}], replicas=3))
    status = cluster.run_until(at("Paused"))
    assert status["weights"] == {"v1": 95, "v2": 5}
    assert status["effectiveWeights"] == {"v1": 67, "v2": 33}
    assert cluster.events().count(("Warning", "WeightApproximated")) == 1
    message = next(e["message"] for e in cluster.client.events() if e["reason"] == "WeightApproximated")
    assert "weights v1 95%, v2 5% are served as v1 67%, v2 33%" in message
    cluster.step()
    assert cluster.events().count(("Warning", "WeightApproximated")) == 1, "said once, not every reconcile"
