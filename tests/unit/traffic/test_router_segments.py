"""Header routes and mirrors through the model router: the exact segments and shadow the
`router` provider writes into its ConfigMap, a person's own settings kept, and removal."""

from __future__ import annotations

import json

from modelrollout.api.router_config import RouterConfig
from modelrollout.api.v1alpha1 import HeaderRoute, MirrorRoute, RouteMatch, RoutesStatus
from modelrollout.traffic import Routing

from .test_router_provider import PROVIDER, TARGET, RouteStore, user_service

BETA = RouteMatch.model_validate({"headerName": "X-Beta", "headerValue": {"exact": "true"}})
COOKIE = RouteMatch.model_validate({"cookie": {"name": "segment", "value": "beta"}})
ROUTES = RoutesStatus(
    headers=[HeaderRoute(name="beta", version="v2", match=[BETA, COOKIE])],
    mirrors=[MirrorRoute(name="copy", version="v2", percentage=25)],
)


def stored(store: RouteStore) -> tuple[dict[str, object], dict[str, str]]:
    config_map = store.get("ConfigMap", "fraud-router")
    return json.loads(config_map["data"]["router.json"]), config_map["metadata"].get("annotations") or {}


def test_a_header_route_is_a_segment_and_a_mirror_the_shadow_with_the_candidate_listed_at_zero() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 100, "v2": 0}, ROUTES))
    config, annotations = stored(store)
    assert config["versions"] == [
        {"name": "v1", "service": "fraud-v1", "port": 9000, "weight": 100.0, "timeoutSeconds": 10.0},
        {"name": "v2", "service": "fraud-v2", "port": 9000, "weight": 0.0, "timeoutSeconds": 10.0},
    ]
    assert config["segments"] == [
        {"name": "modelrollout-header-beta", "headers": [{"name": "x-beta", "value": "true"}],
         "cookie": {"name": "segment", "value": "beta"}, "version": "v2"},
    ]  # fmt: skip
    assert config["shadow"] == {"version": "v2", "sampleRate": 0.25, "maxConcurrency": 32}
    assert annotations == {"modelrollout.io/mirror": "copy"}
    assert ("create", "Service", "fraud-v2") in store.writes, "the router finds the candidate's pods by it"


def test_removing_the_routes_keeps_a_persons_segment_and_the_weights() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 90, "v2": 10})
    config_map = store.get("ConfigMap", "fraud-router")
    mine = RouterConfig.model_validate_json(config_map["data"]["router.json"]).model_dump(
        mode="json", by_alias=True
    )
    mine["segments"] = [{"name": "staff", "headers": [{"name": "x-staff", "value": "1"}], "version": "v1"}]
    config_map["data"]["router.json"] = json.dumps(mine)
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 90, "v2": 10}, ROUTES))
    config, _ = stored(store)
    assert [segment["name"] for segment in config["segments"]] == ["modelrollout-header-beta", "staff"]
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 90, "v2": 10}, RoutesStatus()))
    config, annotations = stored(store)
    assert [segment["name"] for segment in config["segments"]] == ["staff"]
    assert "shadow" not in config and annotations == {}


def test_a_persons_shadow_is_kept_while_no_mirror_is_in_force() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 90, "v2": 10})
    config_map = store.get("ConfigMap", "fraud-router")
    mine = json.loads(config_map["data"]["router.json"])
    mine["shadow"] = {"version": "v2", "sampleRate": 0.5, "maxConcurrency": 8}
    config_map["data"]["router.json"] = json.dumps(mine)
    PROVIDER.set_routes(store, TARGET, {"v1": 80, "v2": 20})
    assert stored(store)[0]["shadow"] == {"version": "v2", "sampleRate": 0.5, "maxConcurrency": 8}


def test_finalize_removes_the_providers_segments_and_shadow() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 50, "v2": 50}, ROUTES))
    PROVIDER.finalize(store, TARGET, "v1")
    config, annotations = stored(store)
    assert config["segments"] == [] and "shadow" not in config and annotations == {}
