"""The `istio` provider's objects: the VirtualService's owned routes weighted per subset in whole
percent, the DestinationRule of the versions' subsets, everything else untouched, and the way back."""

from __future__ import annotations

from typing import Any

import pytest

from modelrollout.api.v1alpha1 import Reason, TrafficSpec
from modelrollout.traffic import IstioProvider, RouteTarget, RouteUnavailable

from .route_store import RouteStore

OWNER = {"apiVersion": "modelrollout.io/v1alpha1", "kind": "ModelRollout", "name": "fraud", "uid": "u-1"}


def target(**settings: str) -> RouteTarget:
    traffic = {"provider": "istio", "istio": {"virtualService": "scoring", **settings}}
    return RouteTarget(
        "ml",
        "fraud",
        "fraud-scorer",
        "fraud-scorer",
        TrafficSpec.model_validate(traffic),
        OWNER,
        ("v1", "v2"),
    )


TARGET = target()
PROVIDER = IstioProvider()
OTHER = {
    "name": "health",
    "match": [{"uri": {"prefix": "/health"}}],
    "route": [{"destination": {"host": "health"}}],
}
SCORE = {
    "name": "score", "match": [{"uri": {"prefix": "/score"}}], "timeout": "2s",
    "route": [{"destination": {"host": "fraud-scorer.ml.svc.cluster.local", "port": {"number": 8080}}}],
}  # fmt: skip


def virtual_service(*http: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "scoring", "namespace": "ml", "annotations": {"owner": "team"}},
        "spec": {"hosts": ["fraud-scorer"], "gateways": ["mesh"], "http": list(http)},
    }  # fmt: skip


def store(*http: dict[str, Any]) -> RouteStore:
    return RouteStore(virtual_service(*(http or (OTHER, SCORE))))


def routes_of(route_store: RouteStore) -> list[tuple[str, str | None, int | None]]:
    entry = route_store.get("VirtualService", "scoring")["spec"]["http"][1]
    return [
        (r["destination"]["host"], r["destination"].get("subset"), r.get("weight")) for r in entry["route"]
    ]


def test_the_owned_route_is_weighted_per_subset_in_percent() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    host = "fraud-scorer.ml.svc.cluster.local"
    assert routes_of(routes) == [(host, "v1", 95), (host, "v2", 5)]
    entry = routes.get("VirtualService", "scoring")["spec"]["http"][1]
    assert all(r["destination"]["port"] == {"number": 8080} for r in entry["route"])
    assert (entry["name"], entry["match"], entry["timeout"]) == ("score", SCORE["match"], "2s")


def test_every_other_field_and_entry_is_left_as_it_was() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 75, "v2": 25})
    found = routes.get("VirtualService", "scoring")
    assert found["spec"]["http"][0] == OTHER
    assert (found["spec"]["hosts"], found["spec"]["gateways"]) == (["fraud-scorer"], ["mesh"])
    assert found["metadata"]["annotations"] == {"owner": "team"}


def test_the_destination_rule_holds_a_subset_per_version() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    rule = routes.get("DestinationRule", "fraud-versions")
    assert rule["spec"] == {
        "host": "fraud-scorer",
        "subsets": [{"name": "v1", "labels": {"modelrollout.io/version": "v1"}},
                    {"name": "v2", "labels": {"modelrollout.io/version": "v2"}}],
    }  # fmt: skip
    assert rule["metadata"]["ownerReferences"] == [OWNER]


def test_a_named_destination_rule_is_used() -> None:
    named = target(destinationRule="fraud-subsets")
    routes = store()
    PROVIDER.set_routes(routes, named, {"v1": 100})
    assert ("DestinationRule", "fraud-subsets") in routes.objects


def test_only_what_differs_is_written() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    assert routes.writes == [
        ("apply", "DestinationRule", "fraud-versions"),
        ("apply", "VirtualService", "scoring"),
    ]
    PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    PROVIDER.set_routes(routes, TARGET, {"v1": 90, "v2": 10})
    assert routes.writes[2:] == [("apply", "VirtualService", "scoring")], "subsets unchanged, weights moved"


def test_abort_puts_everything_on_the_stable() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 50, "v2": 50})
    PROVIDER.set_routes(routes, TARGET, {"v1": 100, "v2": 0})
    assert [(subset, weight) for _, subset, weight in routes_of(routes)] == [("v1", 100), ("v2", 0)]


def test_finalize_routes_to_the_host_alone_and_deletes_the_destination_rule() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 50, "v2": 50})
    PROVIDER.finalize(routes, TARGET, "v1")
    http = routes.get("VirtualService", "scoring")["spec"]["http"]
    assert http == [OTHER, SCORE]
    assert ("DestinationRule", "fraud-versions") not in routes.objects


def test_a_missing_virtual_service_is_route_not_found() -> None:
    with pytest.raises(RouteUnavailable) as raised:
        PROVIDER.reconcile(RouteStore(), TARGET)
    assert raised.value.reason is Reason.ROUTE_NOT_FOUND
    assert "(spec.strategy.traffic.istio.virtualService) not found" in raised.value.message


def test_a_virtual_service_without_a_route_to_the_service_is_route_not_found() -> None:
    with pytest.raises(RouteUnavailable) as raised:
        PROVIDER.set_routes(store(OTHER), TARGET, {"v1": 100})
    assert raised.value.reason is Reason.ROUTE_NOT_FOUND


def test_without_the_istio_crds_nothing_is_written() -> None:
    routes = RouteStore(served={"Service"})
    with pytest.raises(RouteUnavailable) as raised:
        PROVIDER.reconcile(routes, TARGET)
    assert raised.value.reason is Reason.TRAFFIC_API_NOT_FOUND
    assert routes.writes == []
