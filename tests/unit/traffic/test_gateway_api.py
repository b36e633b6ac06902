"""The `gatewayAPI` provider's objects: the HTTPRoute's owned backendRefs weighted per version out
of 1000, the per-version Services, everything else of the route untouched, and the way back."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import Reason, TrafficSpec
from modelrollout.traffic import GatewayAPIProvider, RouteTarget, RouteUnavailable
from modelrollout.traffic.gateway_api import backend_weights, version_service

from .route_store import RouteStore

OWNER = {"apiVersion": "modelrollout.io/v1alpha1", "kind": "ModelRollout", "name": "fraud", "uid": "u-1"}
TARGET = RouteTarget(
    namespace="ml", rollout="fraud", service="fraud-scorer", model="fraud-scorer",
    traffic=TrafficSpec.model_validate({"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}}),
    owner=OWNER, versions=("v1", "v2"),
)  # fmt: skip
PROVIDER = GatewayAPIProvider()
SCORE_REF = {"group": "", "kind": "Service", "name": "fraud-scorer", "port": 8080, "weight": 1}
OTHER_RULE = {
    "matches": [{"path": {"type": "PathPrefix", "value": "/health"}}],
    "backendRefs": [{"group": "", "kind": "Service", "name": "health", "port": 80, "weight": 1}],
}
SCORE_RULE = {
    "name": "score",
    "matches": [{"path": {"type": "PathPrefix", "value": "/score"}}],
    "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [{"name": "x-a", "value": "1"}]}}],
    "backendRefs": [SCORE_REF],
}  # fmt: skip


def http_route(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "public", "namespace": "ml", "labels": {"team": "fraud"}},
        "spec": {"parentRefs": [{"name": "gateway"}], "hostnames": ["score.example"], "rules": list(rules)},
    }  # fmt: skip


def user_service() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "fraud-scorer", "namespace": "ml"},
        "spec": {"selector": {"modelrollout.io/model": "fraud-scorer"}, "clusterIP": "10.0.0.7",
                 "ports": [{"name": "http", "port": 8080, "targetPort": 9000, "protocol": "TCP"}]},
    }  # fmt: skip


def store(*rules: dict[str, Any]) -> RouteStore:
    return RouteStore(http_route(*(rules or (OTHER_RULE, SCORE_RULE))), user_service())


def refs(route_store: RouteStore) -> list[tuple[str, int]]:
    rule = route_store.get("HTTPRoute", "public")["spec"]["rules"][1]
    return [(ref["name"], ref["weight"]) for ref in rule["backendRefs"]]


def test_the_owned_rule_is_weighted_per_version_out_of_1000() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    assert refs(routes) == [("fraud-v1", 950), ("fraud-v2", 50)]
    rule = routes.get("HTTPRoute", "public")["spec"]["rules"][1]
    assert all(ref["port"] == 8080 and ref["kind"] == "Service" for ref in rule["backendRefs"])
    assert (rule["name"], rule["matches"], rule["filters"]) == (
        "score",
        SCORE_RULE["matches"],
        SCORE_RULE["filters"],
    )


def test_every_other_field_and_rule_of_the_route_is_left_as_it_was() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 75, "v2": 25})
    route = routes.get("HTTPRoute", "public")
    assert route["spec"]["rules"][0] == OTHER_RULE
    assert route["spec"]["parentRefs"] == [{"name": "gateway"}]
    assert route["spec"]["hostnames"] == ["score.example"]
    assert route["metadata"]["labels"] == {"team": "fraud"}


def test_the_apply_names_only_the_rules() -> None:
    routes = RecordingStore(http_route(OTHER_RULE, SCORE_RULE), user_service())
    PROVIDER.set_routes(routes, TARGET, {"v1": 75, "v2": 25})
    applied = [m for m in routes.applied if m["kind"] == "HTTPRoute"]
    assert len(applied) == 1
    assert set(applied[0]["spec"]) == {"rules"}
    assert applied[0]["metadata"] == {"name": "public", "namespace": "ml"}


def test_a_tenth_of_a_percent_is_exact() -> None:
    assert backend_weights({"v1": Fraction("99.9"), "v2": Fraction("0.1")}) == {"v1": 999, "v2": 1}
    assert backend_weights({"v1": 100, "v2": 0}) == {"v1": 1000, "v2": 0}
    assert backend_weights({"v1": 67, "v2": 33}) == {"v1": 670, "v2": 330}


def test_version_services_select_one_version_on_the_users_ports() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    service = routes.get("Service", "fraud-v2")
    assert service["spec"]["selector"] == {
        "modelrollout.io/rollout": "fraud",
        "modelrollout.io/version": "v2",
    }
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": 9000, "protocol": "TCP"}]
    assert service["metadata"]["ownerReferences"] == [OWNER]
    assert service["metadata"]["labels"]["modelrollout.io/version"] == "v2"
    assert version_service(TARGET, "v2", user_service()) == {
        k: service[k] for k in ("apiVersion", "kind", "metadata", "spec")
    }


def test_a_converged_route_is_not_written_again() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    written = len(routes.writes)
    PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    assert len(routes.writes) == written


def test_a_route_changed_behind_the_operators_back_is_put_right() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    routes.get("HTTPRoute", "public")["spec"]["rules"][1]["backendRefs"][1]["weight"] = 500
    PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    assert refs(routes) == [("fraud-v1", 950), ("fraud-v2", 50)]


def test_abort_puts_everything_on_the_stable() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 50, "v2": 50})
    PROVIDER.set_routes(routes, TARGET, {"v1": 100, "v2": 0})
    assert refs(routes) == [("fraud-v1", 1000), ("fraud-v2", 0)]


def test_finalize_hands_the_rule_back_to_the_users_service() -> None:
    routes = store()
    PROVIDER.set_routes(routes, TARGET, {"v1": 50, "v2": 50})
    PROVIDER.finalize(routes, TARGET, "v1")
    route = routes.get("HTTPRoute", "public")
    assert route["spec"]["rules"][1]["backendRefs"] == [
        {"group": "", "kind": "Service", "name": "fraud-scorer", "port": 8080}
    ]
    assert route["spec"]["rules"][0] == OTHER_RULE
    assert not [w for w in routes.writes if w[0] == "delete"], "the version Services go with their owner"


def test_a_service_of_the_name_that_is_not_the_rollouts_is_never_taken_over() -> None:
    theirs = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fraud-v2", "labels": {"app": "x"}}}
    routes = RouteStore(http_route(OTHER_RULE, SCORE_RULE), user_service(), theirs)
    with pytest.raises(RouteUnavailable) as raised:
        PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    assert raised.value.reason is Reason.ROUTE_CONFLICT
    assert "Service 'fraud-v2' exists and is not ModelRollout 'fraud''s" in raised.value.message
    assert routes.get("Service", "fraud-v2") == theirs
    with pytest.raises(RouteUnavailable):
        PROVIDER.reconcile(routes, TARGET)


def test_a_missing_route_is_route_not_found() -> None:
    routes = RouteStore(user_service())
    with pytest.raises(RouteUnavailable) as raised:
        PROVIDER.reconcile(routes, TARGET)
    assert raised.value.reason is Reason.ROUTE_NOT_FOUND
    assert "HTTPRoute 'public' (spec.strategy.traffic.gatewayAPI.httpRoute) not found" in raised.value.message


def test_a_route_without_a_rule_to_the_service_is_route_not_found() -> None:
    routes = store(OTHER_RULE)
    with pytest.raises(RouteUnavailable) as raised:
        PROVIDER.set_routes(routes, TARGET, {"v1": 100})
    assert raised.value.reason is Reason.ROUTE_NOT_FOUND
    assert "no rule with a backendRef to Service 'fraud-scorer'" in raised.value.message
    assert routes.writes == []


def test_without_the_gateway_api_crds_nothing_is_written() -> None:
    routes = RouteStore(user_service(), served={"Service"})
    with pytest.raises(RouteUnavailable) as raised:
        PROVIDER.set_routes(routes, TARGET, {"v1": 95, "v2": 5})
    assert raised.value.reason is Reason.TRAFFIC_API_NOT_FOUND
    assert routes.writes == []


def test_capacity_follows_the_weight_rounded_up_and_traffic_is_the_weight() -> None:
    assert PROVIDER.replica_plan({"v1": 95, "v2": 5}, 3) == {"v1": 3, "v2": 1}
    assert PROVIDER.replica_plan({"v1": 50, "v2": 50}, 3) == {"v1": 2, "v2": 2}
    assert PROVIDER.replica_plan({"v1": 0, "v2": 100}, 3) == {"v1": 0, "v2": 3}
    assert PROVIDER.effective_weights({"v1": 95, "v2": 5}, 3) == {"v1": 95, "v2": 5}


class RecordingStore(RouteStore):
    def __init__(self, *objects: dict[str, Any]) -> None:
        super().__init__(*objects)
        self.applied: list[dict[str, Any]] = []

    def apply_route(self, manifest: Any) -> None:
        self.applied.append(dict(manifest))
        super().apply_route(manifest)
