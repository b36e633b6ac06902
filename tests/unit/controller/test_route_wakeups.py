"""A change to a route object a rollout uses wakes that rollout's daemon, and only it: the HTTPRoute
its spec names, its VirtualService and DestinationRule, its router ConfigMap, its version Services.
So a person who sets the weights back by hand sees them put right at once, not at the next
analysis tick or safety resync; and the reconcile's own write of the route wakes nobody."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from modelrollout.api.router_config import CONFIG_KEY, config_map_name
from modelrollout.controller.wakeups import Wakeups
from modelrollout.k8s import CachedKubeClient

from ...fixtures.fake_cluster import CANDIDATE, NAME, NAMESPACE, FakeCluster, at, rollout_spec
from .test_cached_reads import _cached, _pump
from .test_cached_routes import _istio_spec, _virtual_service, _virtual_service_routes
from .test_reconcile_routes import backend_weights, gateway_cluster

OTHER = "other-scorer"
"""A second rollout of the namespace, of another model, behind an HTTPRoute of its own."""
PAUSED_WEIGHTS = {"fraud-scorer-v1": 800, "fraud-scorer-v2": 200}


def _paused(cluster: FakeCluster) -> CachedKubeClient:
    """The rollout reconciled through the caches until it pauses at 20%; every cache current."""
    cached = _cached(cluster)
    for _ in range(10):
        status = cluster.step()
        _pump(cached)
        if at("Paused")(status):
            return cached
    raise AssertionError(f"not paused: {cluster.status()}")


def _woken(wakeups: Wakeups, cached: CachedKubeClient, change: Callable[[], object]) -> set[str]:
    """The rollouts (of `NAME` and `OTHER`) whose daemons `change()` and its watch events wake."""

    async def scenario() -> set[str]:
        daemons = {name: wakeups.register(NAMESPACE, name) for name in (NAME, OTHER)}
        for wakeup in daemons.values():
            wakeup.begin()
        change()
        _pump(cached)
        await asyncio.sleep(0)  # the informers' calls into the loop run
        return {name for name, wakeup in daemons.items() if wakeups.due(NAMESPACE, name, wakeup)}

    return asyncio.run(scenario())


def _two_gateway_rollouts() -> tuple[FakeCluster, CachedKubeClient, Wakeups]:
    """`NAME` paused at 20% behind HTTPRoute `public`; `OTHER` names HTTPRoute `private`."""
    cluster = gateway_cluster()
    other = rollout_spec([{"setWeight": 20}, {"pause": {}}], model=OTHER, service=OTHER)
    other["strategy"]["traffic"] = {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "private"}}
    cluster.client.add_rollout(NAMESPACE, OTHER, other)
    ref = {"group": "", "kind": "Service", "name": OTHER, "port": 8080, "weight": 1}
    cluster.client.add(
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
         "metadata": {"name": "private", "namespace": NAMESPACE},
         "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [ref]}]}}
    )  # fmt: skip
    cached = _paused(cluster)
    assert backend_weights(cluster) == PAUSED_WEIGHTS
    return cluster, cached, Wakeups(cached)


def _set_weights(cluster: FakeCluster, route: str, refs: list[dict[str, Any]]) -> None:
    """A person's `kubectl patch` of the route's backendRefs."""
    cluster.client.edit("HTTPRoute", NAMESPACE, route, {"spec": {"rules": [{"backendRefs": refs}]}})


def test_a_persons_edit_of_the_httproute_wakes_the_rollout_naming_it_and_no_other() -> None:
    cluster, cached, wakeups = _two_gateway_rollouts()
    by_hand = [{"group": "", "kind": "Service", "name": NAME, "port": 8080, "weight": 1}]

    assert _woken(wakeups, cached, lambda: _set_weights(cluster, "public", by_hand)) == {NAME}
    # its reconcile puts the weights back; that write is its own and wakes nobody
    assert _woken(wakeups, cached, cluster.reconcile) == set()
    assert backend_weights(cluster) == PAUSED_WEIGHTS
    assert _woken(wakeups, cached, lambda: _set_weights(cluster, "private", [])) == {OTHER}
    assert _woken(wakeups, cached, lambda: cluster.client.delete("HTTPRoute", NAMESPACE, "public")) == {NAME}


def test_a_version_service_deleted_by_hand_wakes_its_rollout_which_creates_it_again() -> None:
    cluster, cached, wakeups = _two_gateway_rollouts()

    assert _woken(wakeups, cached, lambda: cluster.client.delete("Service", NAMESPACE, CANDIDATE)) == {NAME}
    assert _woken(wakeups, cached, cluster.reconcile) == set()
    assert (
        cluster.client.get("Service", NAMESPACE, CANDIDATE)["spec"]["selector"]["modelrollout.io/version"]
        == "v2"
    )


def test_an_edit_of_its_virtual_service_or_destination_rule_wakes_the_istio_rollout() -> None:
    cluster = FakeCluster.with_rollout(_istio_spec(), service=True)
    cluster.client.served_kinds.update({"VirtualService", "DestinationRule"})
    cluster.client.add(_virtual_service())
    cached = _paused(cluster)
    wakeups = Wakeups(cached)
    by_hand = {"spec": {"http": [{"route": [{"destination": {"host": NAME}}]}]}}

    assert _woken(
        wakeups, cached, lambda: cluster.client.edit("VirtualService", NAMESPACE, "scoring", by_hand)
    ) == {NAME}
    assert _woken(wakeups, cached, cluster.reconcile) == set()
    assert {r["destination"]["subset"]: r["weight"] for r in _virtual_service_routes(cluster)} == {
        "v1": 80,
        "v2": 20,
    }
    subsets = {"spec": {"subsets": []}}
    rule = f"{NAME}-versions"
    assert _woken(
        wakeups, cached, lambda: cluster.client.edit("DestinationRule", NAMESPACE, rule, subsets)
    ) == {NAME}


def test_a_destination_rule_named_in_the_spec_wakes_the_rollout_even_without_its_labels() -> None:
    spec = _istio_spec()
    spec["strategy"]["traffic"]["istio"]["destinationRule"] = "scoring-subsets"
    cluster = FakeCluster.with_rollout(spec, service=True)
    cluster.client.served_kinds.update({"VirtualService", "DestinationRule"})
    cluster.client.add(_virtual_service())
    cached = _paused(cluster)
    wakeups = Wakeups(cached)
    unlabelled = {"metadata": {"labels": None}}

    assert _woken(
        wakeups,
        cached,
        lambda: cluster.client.edit("DestinationRule", NAMESPACE, "scoring-subsets", unlabelled),
    ) == {NAME}


def test_an_edit_of_its_router_config_map_wakes_the_router_rollout_which_puts_it_right() -> None:
    spec = rollout_spec([{"setWeight": 20}, {"pause": {}}])
    spec["strategy"]["traffic"] = {"provider": "router"}
    cluster = FakeCluster.with_rollout(spec, service=False)
    cluster.client.add(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": NAME, "namespace": NAMESPACE},
         "spec": {"ports": [{"port": 8080, "targetPort": 8080, "protocol": "TCP"}]}}
    )  # fmt: skip
    cached = _paused(cluster)
    wakeups = Wakeups(cached)
    name = config_map_name(NAME)
    written = cluster.client.get("ConfigMap", NAMESPACE, name)["data"][CONFIG_KEY]

    by_hand = {"data": {CONFIG_KEY: written.replace('"weight": 20.0', '"weight": 0.0')}}
    assert by_hand["data"][CONFIG_KEY] != written
    assert _woken(wakeups, cached, lambda: cluster.client.edit("ConfigMap", NAMESPACE, name, by_hand)) == {
        NAME
    }
    assert _woken(wakeups, cached, cluster.reconcile) == set()
    assert cluster.client.get("ConfigMap", NAMESPACE, name)["data"][CONFIG_KEY] == written
