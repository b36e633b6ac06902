"""A `setWeight: 0.5` step through the whole controller against the in-memory apiserver: status
says 99.5/0.5 (whole weights stay integers), the HTTPRoute says 995/5, and a provider that cannot
serve tenths (istio, whole percents) shows what it serves with one WeightApproximated Warning."""

from __future__ import annotations

from typing import Any

from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, rollout_spec
from .test_reconcile_routes import backend_weights, gateway_cluster

VIRTUAL_SERVICE = {
    "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
    "metadata": {"name": "scoring", "namespace": NAMESPACE},
    "spec": {"hosts": [NAME], "http": [{"route": [{"destination": {"host": NAME, "port": {"number": 8080}}}]}]},
}  # fmt: skip


def istio_cluster(steps: list[dict[str, Any]]) -> FakeCluster:
    spec = rollout_spec(steps)
    spec["strategy"]["traffic"] = {"provider": "istio", "istio": {"virtualService": "scoring"}}
    cluster = FakeCluster.with_rollout(spec)
    cluster.client.served_kinds |= {"VirtualService", "DestinationRule"}
    cluster.client.add(VIRTUAL_SERVICE)
    return cluster


def subset_weights(cluster: FakeCluster) -> dict[str, int]:
    entry = cluster.client.get("VirtualService", NAMESPACE, "scoring")["spec"]["http"][0]
    return {route["destination"]["subset"]: route["weight"] for route in entry["route"]}


def test_half_a_percent_is_served_exactly_by_the_gateway_api() -> None:
    cluster = gateway_cluster(steps=[{"setWeight": 0.5}, {"pause": {}}])
    status = cluster.run_until(at("Paused"))
    assert (status["candidateWeight"], status["weights"]) == (0.5, {"v1": 99.5, "v2": 0.5})
    assert status["effectiveWeights"] == {"v1": 99.5, "v2": 0.5}
    assert backend_weights(cluster) == {"fraud-scorer-v1": 995, "fraud-scorer-v2": 5}
    assert cluster.events().count(("Warning", "WeightApproximated")) == 0


def test_whole_weights_stay_integers_in_status() -> None:
    status = gateway_cluster().run_until(at("Paused"))
    assert status["weights"] == {"v1": 80, "v2": 20}
    assert all(type(weight) is int for weight in (*status["weights"].values(), status["candidateWeight"]))


def test_istio_serves_whole_percents_and_says_so_once_per_step() -> None:
    cluster = istio_cluster([{"setWeight": 0.5}, {"pause": {}}, {"setWeight": 12.5}, {"pause": {}}])
    status = cluster.run_until(at("Paused"))
    assert (status["weights"], status["effectiveWeights"]) == ({"v1": 99.5, "v2": 0.5}, {"v1": 99, "v2": 1})
    assert subset_weights(cluster) == {"v1": 99, "v2": 1}
    messages = [e["message"] for e in cluster.client.events() if e["reason"] == "WeightApproximated"]
    assert len(messages) == 1
    assert (
        "weights v1 99.5%, v2 0.5% are served as v1 99%, v2 1%: the istio provider writes whole percents"
        in (messages[0])
    )
    cluster.step()
    assert cluster.events().count(("Warning", "WeightApproximated")) == 1, "said once, not every reconcile"
    cluster.action("resume:n1")
    status = cluster.run_until(lambda s: s.get("currentStep") == 3 and s.get("phase") == "Paused")
    assert status["effectiveWeights"] == {"v1": 88, "v2": 12}
    assert cluster.events().count(("Warning", "WeightApproximated")) == 2
