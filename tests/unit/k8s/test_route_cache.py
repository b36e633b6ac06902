"""The route providers' reads through `CachedKubeClient` against the in-memory apiserver: a kind
the cluster does not serve starts no watch and stays `KindNotServed`; once served, the first read
starts its watch and later reads come from it; a write is read back before its watch event; a
deletion (the operator's or a person's) is seen; a CRD deleted while watched stops the watch and
reads ask the apiserver again; ConfigMaps without the rollout label are read from the apiserver."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import LABEL_ROLLOUT
from modelrollout.k8s import CachedKubeClient, FakeKubeClient, InformerTiming, KindNotServed, NotFound

NS = "team"
ROUTE = ("gateway.networking.k8s.io/v1", "HTTPRoute")
PUMP = InformerTiming(watch_timeout_seconds=0.0, backoff_seconds=0.01)


def _route(name: str = "public", service: str = "model") -> dict[str, Any]:
    return {
        "apiVersion": ROUTE[0],
        "kind": ROUTE[1],
        "metadata": {"name": name, "namespace": NS},
        "spec": {"rules": [{"backendRefs": [{"name": service, "port": 80}]}]},
    }


def _cached(fake: FakeKubeClient) -> CachedKubeClient:
    cached = CachedKubeClient(fake, fake, [NS], PUMP)
    _pump(cached)
    return cached


def _pump(cached: CachedKubeClient) -> None:
    """Every informer takes in what its watch has (what its thread would have done)."""
    for informer in [*cached.informers.values(), *cached.routes.informers.values()]:
        informer.run_once()


def _gets(fake: FakeKubeClient) -> list[str]:
    return [f"{c.args['kind']}/{c.args['name']}" for c in fake.calls_to("get_object")]


def _wait(probe: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not probe():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_kind_not_served_starts_no_watch_and_once_served_is_read_from_its_watch() -> None:
    fake = FakeKubeClient()
    cached = _cached(fake)

    with pytest.raises(KindNotServed):
        cached.get_object(*ROUTE, NS, "public")
    assert cached.routes.informers == {}, "no watch of a kind the cluster does not serve"

    fake.served_kinds.add("HTTPRoute")  # the Gateway API CRDs installed, no restart
    fake.add(_route())
    assert cached.get_object(*ROUTE, NS, "public")["spec"] == _route()["spec"]  # from the apiserver
    _pump(cached)
    fake.calls.clear()

    for _ in range(3):
        found = cached.get_object(*ROUTE, NS, "public")
    assert (found["apiVersion"], found["kind"]) == ROUTE
    with pytest.raises(NotFound):
        cached.get_object(*ROUTE, NS, "nobody")
    assert _gets(fake) == [], "every read after the first list comes from the cache"


def test_a_write_is_read_back_before_its_watch_event_and_an_older_event_never_replaces_it() -> None:
    fake = FakeKubeClient()
    fake.served_kinds.add("HTTPRoute")
    fake.add(_route())
    cached = _cached(fake)
    cached.get_object(*ROUTE, NS, "public")
    _pump(cached)
    fake.edit("HTTPRoute", NS, "public", {"metadata": {"labels": {"edited": "yes"}}})  # not taken in yet

    applied = _route(service="model-v1")
    cached.apply_object(applied, "modelrollout-operator")

    assert cached.get_object(*ROUTE, NS, "public")["spec"] == applied["spec"], "read its own write"
    _pump(cached)  # the person's older edit, then the write's own event
    found = cached.get_object(*ROUTE, NS, "public")
    assert found["spec"] == applied["spec"] and found["metadata"]["labels"] == {"edited": "yes"}
    assert _gets(fake) == ["HTTPRoute/public"], "only the read before the cache had listed"


def test_a_deletion_is_seen_whether_the_operator_or_a_person_made_it() -> None:
    fake = FakeKubeClient()
    fake.served_kinds.update({"HTTPRoute", "DestinationRule"})
    fake.add(_route())
    rule = {**_route("m-versions"), "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule"}
    fake.add(rule)
    cached = _cached(fake)
    cached.get_object(*ROUTE, NS, "public")
    cached.get_object("networking.istio.io/v1", "DestinationRule", NS, "m-versions")
    _pump(cached)

    cached.delete_object("networking.istio.io/v1", "DestinationRule", NS, "m-versions")
    fake.delete("HTTPRoute", NS, "public")
    _pump(cached)

    fake.calls.clear()
    for kind, name in ((ROUTE, "public"), (("networking.istio.io/v1", "DestinationRule"), "m-versions")):
        with pytest.raises(NotFound):
            cached.get_object(*kind, NS, name)
    assert _gets(fake) == []


def test_a_crd_deleted_while_watched_stops_the_watch_and_reads_go_to_the_apiserver_again() -> None:
    fake = FakeKubeClient()
    fake.served_kinds.add("HTTPRoute")
    fake.add(_route())
    cached = CachedKubeClient(fake, fake, [NS], PUMP)
    cached.start()
    try:
        cached.get_object(*ROUTE, NS, "public")
        informer = cached.routes.informers[(*ROUTE, NS)]
        _wait(informer.synced.is_set)

        fake.served_kinds.discard("HTTPRoute")  # the CRD deleted
        _wait(informer.gone.is_set)
        assert not informer.synced.is_set()

        with pytest.raises(KindNotServed):  # the provider's TrafficAPINotFound, not a stale route
            cached.get_object(*ROUTE, NS, "public")
        assert cached.routes.informers == {} and len(cached.routes.stores[ROUTE]) == 0
    finally:
        cached.stop()


def test_configmaps_are_watched_by_the_rollout_label_and_any_other_is_read_from_the_apiserver() -> None:
    fake = FakeKubeClient()
    labelled = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"},
                "metadata": {"name": "m-router", "namespace": NS, "labels": {LABEL_ROLLOUT: "m"}}}  # fmt: skip
    fake.add(labelled)
    fake.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": NS}})
    cached = _cached(fake)
    cached.get_object("v1", "ConfigMap", NS, "m-router")
    _pump(cached)
    fake.calls.clear()

    assert cached.get_object("v1", "ConfigMap", NS, "m-router")["data"] == {"a": "1"}
    assert cached.get_object("v1", "ConfigMap", NS, "settings")["metadata"]["name"] == "settings"
    assert _gets(fake) == ["ConfigMap/settings"]
    assert len(cached.routes.stores[("v1", "ConfigMap")]) == 1, "only the labelled one is held"


def test_services_come_from_the_services_cache_and_created_ones_are_read_back() -> None:
    fake = FakeKubeClient()
    fake.add_service(NS, "model")
    cached = _cached(fake)
    fake.calls.clear()

    assert cached.get_object("v1", "Service", NS, "model")["kind"] == "Service"
    with pytest.raises(NotFound):
        cached.get_object("v1", "Service", NS, "model-v2")
    cached.create_object(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "model-v2", "namespace": NS}}
    )
    assert cached.get_object("v1", "Service", NS, "model-v2")["metadata"]["name"] == "model-v2"
    assert _gets(fake) == []
