"""The interleaving through the model router: the `interleaving` block the `router` provider
writes into its ConfigMap while the experiment runs, its removal, and a person's block kept."""

from __future__ import annotations

import json

from modelrollout.api.v1alpha1 import InterleavingRoute, RoutesStatus
from modelrollout.traffic import Routing

from .test_router_provider import PROVIDER, TARGET, RouteStore, user_service
from .test_router_segments import stored

INTERLEAVING = InterleavingRoute(versions=["v1", "v2"], list_field="items", length=20)
RUNNING = RoutesStatus(interleaving=INTERLEAVING)


def test_the_experiment_merges_both_rankings_with_the_candidate_listed_at_zero() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 100, "v2": 0}, RUNNING))
    config, annotations = stored(store)
    assert [(v["name"], v["weight"]) for v in config["versions"]] == [("v1", 100.0), ("v2", 0.0)]
    assert config["interleaving"] == {"versions": ["v1", "v2"], "listField": "items", "length": 20}
    assert annotations == {"modelrollout.io/owned-settings": "interleaving"}
    assert ("create", "Service", "fraud-v2") in store.writes, "the router finds the candidate's pods by it"
    writes = len(store.writes)
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 100, "v2": 0}, RUNNING))
    assert len(store.writes) == writes, "converged: nothing written again"


def test_the_end_of_the_experiment_removes_the_block_and_the_candidate() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 100, "v2": 0}, RUNNING))
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 100, "v2": 0}, None))
    config, annotations = stored(store)
    assert "interleaving" not in config and annotations == {}
    assert [v["name"] for v in config["versions"]] == ["v1"]


def test_promotion_removes_the_block_though_both_versions_stay_listed() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 100, "v2": 0}, RUNNING))
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 0, "v2": 100}, RoutesStatus(headers=[])))
    PROVIDER.set_routes(store, TARGET, {"v1": 50, "v2": 50})
    config, annotations = stored(store)
    assert "interleaving" not in config and annotations == {}


def test_a_persons_interleaving_is_kept_while_no_experiment_runs() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 90, "v2": 10})
    config_map = store.get("ConfigMap", "fraud-router")
    mine = json.loads(config_map["data"]["router.json"])
    mine["interleaving"] = {"versions": ["v1", "v2"], "listField": "ranking", "length": 5}
    config_map["data"]["router.json"] = json.dumps(mine)
    PROVIDER.set_routes(store, TARGET, {"v1": 80, "v2": 20})
    assert stored(store)[0]["interleaving"] == {"versions": ["v1", "v2"], "listField": "ranking", "length": 5}


def test_finalize_removes_the_providers_interleaving() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, Routing.of({"v1": 100, "v2": 0}, RUNNING))
    PROVIDER.finalize(store, TARGET, "v1")
    config, annotations = stored(store)
    assert "interleaving" not in config and annotations == {}


def test_an_interleaving_naming_a_version_without_weights_is_left_out() -> None:
    routing = Routing.of({"v1": 100}, RUNNING)
    assert routing.interleaving is None and routing.routed_versions() == ["v1"]
    assert Routing.of({"v1": 100, "v2": 0}, RUNNING).routed_versions() == ["v1", "v2"]
