"""The `router` provider: exact weights in the router's ConfigMap, one headless Service per
version created once and never changed or deleted (garbage collection removes them with the
ModelRollout), the ConfigMap's other settings kept, and finalize handing the router to
`spec.service` with the stable alone."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest

from modelrollout.api.router_config import RouterConfig
from modelrollout.api.v1alpha1 import Reason, TrafficProvider
from modelrollout.traffic import RouterProvider, RouteTarget, RouteUnavailable, new_provider

from .route_store import RouteStore as SharedRouteStore


class RouteStore(SharedRouteStore):
    """Also holds a ConfigMap's `data`; and the objects this provider applies are its own whole
    (it is their only field manager), so a field it stops sending is gone, as with server-side
    apply (an ownerReference dropped at finalize)."""

    def apply_route(self, manifest: Mapping[str, Any]) -> None:
        super().apply_route(manifest)
        stored = self.objects[(manifest["kind"], manifest["metadata"]["name"])]
        stored["metadata"] = copy.deepcopy(dict(manifest["metadata"]))
        if "data" in manifest:
            stored["data"] = copy.deepcopy(manifest["data"])


OWNER = {"apiVersion": "modelrollout.io/v1alpha1", "kind": "ModelRollout", "name": "fraud", "uid": "u1"}
TARGET = RouteTarget(
    namespace="ns", rollout="fraud", service="fraud", model="fraud-model", owner=OWNER, versions=("v1", "v2")
)
PROVIDER = RouterProvider()


def user_service(target_port: int | str = 9000) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "fraud", "namespace": "ns"},
        "spec": {"ports": [{"port": 80, "targetPort": target_port}], "selector": {"app": "fraud"}},
    }


def config(store: RouteStore) -> RouterConfig:
    return RouterConfig.model_validate_json(store.get("ConfigMap", "fraud-router")["data"]["router.json"])


def test_factory_knows_the_router() -> None:
    assert isinstance(new_provider(TrafficProvider.ROUTER), RouterProvider)
    assert PROVIDER.provider == "router"


def test_weights_are_exact_and_each_weighted_version_keeps_the_replicas_its_share_needs() -> None:
    assert PROVIDER.effective_weights({"v1": 95, "v2": 5}, 3) == {"v1": 95, "v2": 5}
    assert PROVIDER.replica_plan({"v1": 95, "v2": 5}, 3) == {"v1": 3, "v2": 1}
    assert PROVIDER.replica_plan({"v1": 50, "v2": 50}, 3) == {"v1": 2, "v2": 2}
    assert PROVIDER.replica_plan({"v1": 0, "v2": 100}, 3) == {"v1": 0, "v2": 3}


def test_set_routes_creates_services_then_writes_the_config_map() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 90, "v2": 10})

    assert store.writes == [
        ("create", "Service", "fraud-v1"),
        ("create", "Service", "fraud-v2"),
        ("apply", "ConfigMap", "fraud-router"),
    ]
    service = store.get("Service", "fraud-v2")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == {
        "modelrollout.io/model": "fraud-model",
        "modelrollout.io/version": "v2",
    }
    assert service["spec"]["ports"] == [{"name": "http", "protocol": "TCP", "port": 9000, "targetPort": 9000}]
    assert service["metadata"]["ownerReferences"] == [OWNER]
    assert service["metadata"]["labels"]["modelrollout.io/rollout"] == "fraud"
    written = config(store)
    assert written.model == "fraud-model"
    assert [(v.name, v.service, v.port, v.weight) for v in written.versions] == [
        ("v1", "fraud-v1", 9000, 90.0),
        ("v2", "fraud-v2", 9000, 10.0),
    ]
    json.loads(store.get("ConfigMap", "fraud-router")["data"]["router.json"])  # plain JSON, camelCase
    assert (
        '"schemaVersion": "modelrollout.io/router/v1"'
        in store.get("ConfigMap", "fraud-router")["data"]["router.json"]
    )
    assert store.get("ConfigMap", "fraud-router")["metadata"]["ownerReferences"] == [OWNER]


def test_a_converged_rollout_writes_nothing() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 90, "v2": 10})
    store.writes.clear()
    PROVIDER.set_routes(store, TARGET, {"v1": 90, "v2": 10})
    assert store.writes == []
    PROVIDER.set_routes(store, TARGET, {"v1": 50, "v2": 50})
    assert store.writes == [("apply", "ConfigMap", "fraud-router")]


def test_a_version_leaving_traffic_leaves_the_config_map_and_its_service_to_garbage_collection() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 90, "v2": 10})
    store.writes.clear()
    PROVIDER.set_routes(store, TARGET, {"v1": 100, "v2": 0})
    assert [v.name for v in config(store).versions] == ["v1"]
    assert store.writes == [("apply", "ConfigMap", "fraud-router")], "no Service changed or deleted"
    assert store.get("Service", "fraud-v2")["metadata"]["ownerReferences"] == [OWNER]

    PROVIDER.set_routes(store, TARGET, {"v1": 50, "v2": 50})  # back in the traffic: its Service is there
    assert store.writes[1:] == [("apply", "ConfigMap", "fraud-router")]


def test_a_service_of_the_name_that_is_not_the_rollouts_is_a_conflict_never_taken_over() -> None:
    foreign = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "fraud-v2", "namespace": "ns", "labels": {"app": "other"}},
        "spec": {"selector": {"app": "other"}, "ports": [{"port": 80}]},
    }
    store = RouteStore(user_service(), foreign)
    for call in (
        lambda: PROVIDER.reconcile(store, TARGET),
        lambda: PROVIDER.set_routes(store, TARGET, {"v1": 90, "v2": 10}),
    ):
        with pytest.raises(RouteUnavailable) as raised:
            call()
        assert raised.value.reason == Reason.ROUTE_CONFLICT
        assert "'fraud-v2'" in raised.value.message and "router" in raised.value.message
    assert store.get("Service", "fraud-v2") == foreign
    assert ("ConfigMap", "fraud-router") not in store.objects, "never names a Service that is not its"


def test_a_named_target_port_is_read_from_the_endpointslices() -> None:
    store = RouteStore(user_service("http"))
    PROVIDER.set_routes(store, TARGET, {"v1": 100})
    assert store.get("Service", "fraud-v1")["spec"]["ports"][0]["targetPort"] == "http"
    assert config(store).versions[0].port == "http"


def test_experiment_settings_written_by_others_are_kept_while_they_name_listed_versions() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 90, "v2": 10})
    edited = RouterConfig.model_validate(
        {
            **config(store).model_dump(),
            "stickiness": {"header": "x-user-id"},
            "shadow": {"version": "v2", "sample_rate": 0.5},
            "segments": [{"name": "beta", "headers": [{"name": "x-beta", "value": "1"}], "version": "v2"}],
        }
    )
    store.objects[("ConfigMap", "fraud-router")]["data"]["router.json"] = edited.model_dump_json(
        by_alias=True
    )

    PROVIDER.set_routes(store, TARGET, {"v1": 50, "v2": 50})
    kept = config(store)
    assert kept.stickiness is not None and kept.stickiness.header == "x-user-id"
    assert kept.shadow is not None and kept.shadow.sample_rate == 0.5
    assert [segment.name for segment in kept.segments] == ["beta"]

    PROVIDER.set_routes(store, TARGET, {"v1": 100, "v2": 0})
    dropped = config(store)
    assert dropped.shadow is None and dropped.segments == [], "they name v2, no longer listed"
    assert dropped.stickiness is not None


def test_an_unreadable_config_map_is_replaced() -> None:
    broken = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "fraud-router"},
        "data": {"router.json": "{"},
    }
    store = RouteStore(user_service(), broken)
    PROVIDER.set_routes(store, TARGET, {"v1": 100})
    assert config(store).versions[0].weight == 100.0


def test_missing_user_service_holds_the_rollout() -> None:
    with pytest.raises(RouteUnavailable) as raised:
        PROVIDER.set_routes(RouteStore(), TARGET, {"v1": 100})
    assert raised.value.reason == Reason.SERVICE_NOT_FOUND


def test_finalize_points_the_router_at_the_users_service_and_lets_it_outlive_the_rollout() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 40, "v2": 60})
    PROVIDER.set_routes(store, TARGET, {"v1": 100, "v2": 0})  # the controller's order on deletion
    store.writes.clear()
    PROVIDER.finalize(store, TARGET, "v1")
    assert [(v.name, v.service, v.port, v.weight) for v in config(store).versions] == [
        ("v1", "fraud", 9000, 100.0)
    ], "spec.service: after deletion only the stable's pods are behind it"
    assert "ownerReferences" not in store.get("ConfigMap", "fraud-router")["metadata"]
    assert store.writes == [("apply", "ConfigMap", "fraud-router")], "no Service changed or deleted"
    for version in ("v1", "v2"):  # they go with the ModelRollout (garbage collection)
        assert store.get("Service", f"fraud-{version}")["metadata"]["ownerReferences"] == [OWNER]


def test_finalize_with_a_named_target_port_reads_the_users_service_port_name() -> None:
    service = user_service("http")
    service["spec"]["ports"][0]["name"] = "web"
    store = RouteStore(service)
    PROVIDER.set_routes(store, TARGET, {"v1": 100})
    PROVIDER.finalize(store, TARGET, "v1")
    assert [(v.service, v.port) for v in config(store).versions] == [("fraud", "web")], (
        "spec.service's EndpointSlices name the pods' port after the Service's port"
    )


def test_the_provider_never_changes_or_deletes_a_service() -> None:
    store = RouteStore(user_service())
    for weights in ({"v1": 100}, {"v1": 90, "v2": 10}, {"v1": 0, "v2": 100}, {"v1": 100, "v2": 0}):
        PROVIDER.reconcile(store, TARGET)
        PROVIDER.set_routes(store, TARGET, weights)
    PROVIDER.finalize(store, TARGET, "v1")
    assert {(verb, kind) for verb, kind, _ in store.writes} == {
        ("create", "Service"),
        ("apply", "ConfigMap"),
    }


def test_reconcile_needs_nothing_beforehand() -> None:
    store = RouteStore()
    PROVIDER.reconcile(store, TARGET)
    assert store.writes == []
