"""Route providers reconciled through the watch caches (`CachedKubeClient` over the in-memory
apiserver): once the caches have listed, a reconcile reads no route object, version Service or
router ConfigMap from the apiserver; the routes still follow the weights, abort and deletion still
hand them back; and a write is read back before its watch event, so a reconcile after it writes
nothing again."""

from __future__ import annotations

from typing import Any

from modelrollout.controller.finalize import finalize
from modelrollout.controller.observe import load
from modelrollout.k8s import CachedKubeClient

from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, rollout_spec
from .test_cached_reads import _cached, _pump
from .test_reconcile_routes import backend_weights, gateway_cluster

ISTIO = {"provider": "istio", "istio": {"virtualService": "scoring"}}


def _gets(cluster: FakeCluster) -> list[str]:
    return [f"{c.args['kind']}/{c.args['name']}" for c in cluster.client.calls_to("get_object")]


def _step(cluster: FakeCluster, cached: CachedKubeClient) -> dict[str, Any]:
    status = cluster.step()
    _pump(cached)
    return status


def test_a_gateway_rollout_reads_its_routes_from_the_apiserver_only_until_their_watch_listed() -> None:
    cluster = gateway_cluster()
    cached = _cached(cluster)

    status = _step(cluster, cached)  # reads the HTTPRoute from the apiserver: its watch starts
    assert set(_gets(cluster)) == {"HTTPRoute/public"}
    cluster.client.calls.clear()
    for _ in range(10):
        if at("Paused")(status):
            break
        status = _step(cluster, cached)
    assert status["phase"] == "Paused"
    assert backend_weights(cluster) == {"fraud-scorer-v1": 800, "fraud-scorer-v2": 200}
    cluster.action("abort:n1")
    for _ in range(10):
        if at("RolledBack")(_step(cluster, cached)):
            break
    assert backend_weights(cluster) == {"fraud-scorer-v1": 1000, "fraud-scorer-v2": 0}
    finalize(cached, load(cluster.rollout()), 1e18)
    rule = cluster.client.get("HTTPRoute", NAMESPACE, "public")["spec"]["rules"][0]
    assert [ref["name"] for ref in rule["backendRefs"]] == [NAME], "deletion hands the route back"

    assert _gets(cluster) == [], "every later read from the caches"


def test_a_write_is_read_back_so_the_next_reconciles_write_nothing_again() -> None:
    cluster = FakeCluster.with_rollout(_istio_spec(), service=True)
    cluster.client.served_kinds.update({"VirtualService", "DestinationRule"})
    cluster.client.add(_virtual_service())
    cached = _cached(cluster)
    cluster.step()  # reads both kinds from the apiserver: their watches start
    for informer in cached.routes.informers.values():
        informer.relist()  # listed once; no watch event of theirs is ever taken in
    for _ in range(10):  # the Deployments' changes reach their cache
        status = cluster.step()
        for informer in cached.informers.values():
            informer.run_once()
        if at("Paused")(status):
            break
    assert status["phase"] == "Paused" and cluster.client.calls_to("apply_object")
    cluster.client.calls.clear()

    for _ in range(3):
        cluster.step()

    assert cluster.client.calls_to("apply_object") == [], "a stale read would apply again and again"
    weights = {r["destination"]["subset"]: r["weight"] for r in _virtual_service_routes(cluster)}
    assert weights == {"v1": 80, "v2": 20}
    assert _gets(cluster) == []


def _istio_spec() -> dict[str, Any]:
    spec = rollout_spec([{"setWeight": 20}, {"pause": {}}])
    spec["strategy"]["traffic"] = ISTIO
    return spec


def _virtual_service() -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "scoring", "namespace": NAMESPACE},
        "spec": {"hosts": [NAME], "http": [{"route": [{"destination": {"host": NAME}}]}]},
    }  # fmt: skip


def _virtual_service_routes(cluster: FakeCluster) -> list[dict[str, Any]]:
    routes: list[dict[str, Any]] = cluster.client.get("VirtualService", NAMESPACE, "scoring")["spec"]["http"][
        0
    ]["route"]
    return routes
