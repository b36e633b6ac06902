"""The `router` provider and `spec.strategy.canary.stickiness`: the provider owns the ConfigMap's
`stickiness` while the spec sets it and the weights split, removes what it wrote when the spec
drops it, the split ends (abort, undo, promotion) or the rollout is deleted, and keeps a
stickiness a person wrote for a rollout that does not set one."""

from __future__ import annotations

from typing import Any

from modelrollout.api.router_config import RouterConfig, Stickiness
from modelrollout.api.v1alpha1 import (
    ModelRolloutSpec,
    RoutesStatus,
    StickinessSpec,
    StrategySpec,
    TrafficProvider,
)
from modelrollout.traffic import RouterProvider, Routing, new_provider
from modelrollout.traffic.router_experiments import OWNED_ANNOTATION

from ...fixtures.specs import BASE_SPEC, merge_patch, sticky
from .test_router_provider import TARGET, RouteStore, config, user_service

PROVIDER = RouterProvider()
BY_USER = StickinessSpec(header="X-User-Id")


def sticky_routing(weights: dict[str, int], stickiness: StickinessSpec | None = BY_USER) -> Routing:
    return Routing(weights, stickiness=stickiness)


def annotations(store: RouteStore) -> dict[str, str]:
    return dict(store.get("ConfigMap", "fraud-router")["metadata"].get("annotations") or {})


def written_by_a_person(store: RouteStore, **settings: Any) -> None:
    """`settings` merged into the ConfigMap's configuration, as `kubectl edit` would."""
    stored = store.objects[("ConfigMap", "fraud-router")]
    edited = RouterConfig.model_validate({**config(store).model_dump(), **settings})
    stored["data"]["router.json"] = edited.model_dump_json(by_alias=True)


def test_a_sticky_split_writes_the_users_header_and_marks_it_the_operators() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 80, "v2": 20}))
    written = config(store)
    assert written.stickiness == Stickiness(header="x-user-id"), "header names are case-insensitive"
    assert [(v.name, v.weight) for v in written.versions] == [("v1", 80.0), ("v2", 20.0)]
    assert annotations(store) == {OWNED_ANNOTATION: "stickiness"}

    store.writes.clear()
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 80, "v2": 20}))
    assert store.writes == [], "a converged sticky split writes nothing"
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 50, "v2": 50}))
    assert store.writes == [("apply", "ConfigMap", "fraud-router")]
    assert config(store).stickiness == Stickiness(header="x-user-id"), "kept as the candidate grows"


def test_a_cookie_names_the_user() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 90, "v2": 10}, StickinessSpec(cookie="session")))
    assert config(store).stickiness == Stickiness(cookie="session")


def test_the_stickiness_goes_when_the_split_ends_and_comes_back_with_it() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 80, "v2": 20}))
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 100, "v2": 0}))  # abort, undo, rollback
    back = config(store)
    assert [(v.name, v.weight) for v in back.versions] == [("v1", 100.0)]
    assert back.stickiness is None, "one version left: nothing to keep users on"
    assert OWNED_ANNOTATION not in annotations(store)

    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 80, "v2": 20}))  # retry
    assert config(store).stickiness == Stickiness(header="x-user-id")
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 0, "v2": 100}))  # promoted
    assert config(store).stickiness is None


def test_the_stickiness_goes_when_the_spec_drops_it() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 80, "v2": 20}))
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 80, "v2": 20}, None))
    assert config(store).stickiness is None
    assert OWNED_ANNOTATION not in annotations(store)


def test_the_spec_replaces_a_persons_stickiness_while_it_sets_one() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 80, "v2": 20})
    written_by_a_person(store, stickiness={"cookie": "theirs"})
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 80, "v2": 20}))
    assert config(store).stickiness == Stickiness(header="x-user-id")
    assert annotations(store) == {OWNED_ANNOTATION: "stickiness"}


def test_a_persons_stickiness_is_kept_for_a_rollout_without_one() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, {"v1": 80, "v2": 20})
    written_by_a_person(store, stickiness={"cookie": "theirs"})
    for weights in ({"v1": 50, "v2": 50}, {"v1": 100, "v2": 0}):
        PROVIDER.set_routes(store, TARGET, sticky_routing(weights, None))
        assert config(store).stickiness == Stickiness(cookie="theirs")
        assert OWNED_ANNOTATION not in annotations(store)


def test_the_stickiness_lives_beside_header_routes_and_the_mirror() -> None:
    store = RouteStore(user_service())
    routes = {
        "headers": [{"name": "beta", "version": "v2", "match": [{"cookie": {"name": "beta", "value": "1"}}]}],
        "mirrors": [{"name": "copy", "version": "v2", "percentage": 10}],
    }
    strategy = StrategySpec.model_validate(
        {
            "traffic": {"provider": "router"},
            "canary": {"steps": [{"setWeight": 20}], "stickiness": {"header": "u"}},
        }
    )
    PROVIDER.set_routes(
        store, TARGET, Routing.of({"v1": 80, "v2": 20}, RoutesStatus.model_validate(routes), strategy)
    )
    written = config(store)
    assert written.stickiness == Stickiness(header="u")
    assert [segment.version for segment in written.segments] == ["v2"]
    assert written.shadow is not None and written.shadow.sample_rate == 0.1
    assert annotations(store) == {OWNED_ANNOTATION: "stickiness", "modelrollout.io/mirror": "copy"}


def test_finalize_removes_the_stickiness_the_provider_wrote() -> None:
    store = RouteStore(user_service())
    PROVIDER.set_routes(store, TARGET, sticky_routing({"v1": 40, "v2": 60}))
    PROVIDER.finalize(store, TARGET, "v1")
    handed_back = config(store)
    assert [(v.name, v.service, v.weight) for v in handed_back.versions] == [("v1", "fraud", 100.0)]
    assert handed_back.stickiness is None
    assert OWNED_ANNOTATION not in annotations(store)


def test_the_strategy_gives_routing_its_stickiness() -> None:
    spec = ModelRolloutSpec.model_validate(merge_patch(BASE_SPEC, sticky({"header": "x-user-id"})))
    routing = Routing.of({"v7": 95, "v8": 5}, None, spec.strategy)
    assert routing.stickiness == StickinessSpec(header="x-user-id")
    assert Routing.of({"v7": 95, "v8": 5}, None, StrategySpec()).stickiness is None
    assert Routing.of({"v7": 100}).stickiness is None


def test_other_providers_leave_the_stickiness_alone() -> None:
    """The CRD refuses it with them; a Routing carrying it anyway routes by weight as before."""
    store = RouteStore(user_service())
    replicas = new_provider(TrafficProvider.REPLICAS)
    replicas.set_routes(store, TARGET, sticky_routing({"v1": 80, "v2": 20}))
    assert store.writes == []
