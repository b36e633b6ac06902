"""Header routes and mirrors on the VirtualService: the exact `http` entries the `istio` provider
writes ahead of the owned entry, and their removal."""

from __future__ import annotations

from typing import Any

from modelrollout.api.v1alpha1 import HeaderRoute, MirrorRoute, RouteMatch, RoutesStatus
from modelrollout.traffic import Routing

from .route_store import RouteStore
from .test_istio import OTHER, PROVIDER, SCORE, TARGET, store

HOST = {"host": "fraud-scorer.ml.svc.cluster.local", "port": {"number": 8080}}
BETA = RouteMatch.model_validate({"headerName": "X-Beta", "headerValue": {"regex": "t(rue)?"}})
COOKIE = RouteMatch.model_validate({"cookie": {"name": "segment", "value": "beta"}})
TENANT = RouteMatch.model_validate({"headerName": "x-tenant", "headerValue": {"prefix": "acme"}})


def http_of(routes: RouteStore) -> list[dict[str, Any]]:
    http: list[dict[str, Any]] = routes.get("VirtualService", "scoring")["spec"]["http"]
    return http


def weighted(v1: int, v2: int) -> list[dict[str, Any]]:
    return [
        {"destination": {**HOST, "subset": "v1"}, "weight": v1},
        {"destination": {**HOST, "subset": "v2"}, "weight": v2},
    ]


def test_a_header_route_is_an_entry_to_the_candidate_ahead_of_the_weighted_one() -> None:
    routes = store()
    header = HeaderRoute(name="beta", version="v2", match=[BETA, COOKIE, TENANT])
    PROVIDER.set_routes(routes, TARGET, Routing({"v1": 95, "v2": 5}, headers=(header,)))
    assert http_of(routes) == [
        OTHER,
        {
            "name": "modelrollout-header-beta",
            "match": [{"uri": {"prefix": "/score"}, "headers": {
                "x-beta": {"regex": "t(rue)?"},
                "cookie": {"regex": r"^(.*;\s*)?segment=beta(\s*;.*)?$"},
                "x-tenant": {"prefix": "acme"},
            }}],
            "timeout": "2s",
            "route": [{"destination": {**HOST, "subset": "v2"}}],
        },
        {**SCORE, "route": weighted(95, 5)},
    ]  # fmt: skip


def test_a_mirror_is_the_weighted_entry_with_mirror_and_its_percentage() -> None:
    routes = store()
    mirrors = (
        MirrorRoute(name="copy", version="v2", percentage=20),
        MirrorRoute(name="b", version="v2", match=[BETA]),
    )
    PROVIDER.set_routes(routes, TARGET, Routing({"v1": 100, "v2": 0}, mirrors=mirrors))
    assert http_of(routes)[1:] == [
        {"name": "modelrollout-mirror-copy", "match": SCORE["match"], "timeout": "2s", "route": weighted(100, 0),
         "mirror": {**HOST, "subset": "v2"}, "mirrorPercentage": {"value": 20.0}},
        {"name": "modelrollout-mirror-b", "match": [{"uri": {"prefix": "/score"}, "headers": {"x-beta": {"regex": "t(rue)?"}}}],
         "timeout": "2s", "route": weighted(100, 0), "mirror": {**HOST, "subset": "v2"}, "mirrorPercentage": {"value": 100.0}},
        {**SCORE, "route": weighted(100, 0)},
    ]  # fmt: skip


def test_an_entry_without_match_gets_entries_with_the_route_conditions_alone() -> None:
    catch_all = {"route": [{"destination": {"host": "fraud-scorer"}}]}
    routes = store(catch_all)
    PROVIDER.set_routes(routes, TARGET, Routing({"v1": 100, "v2": 0}, headers=(HeaderRoute(name="b", version="v2", match=[COOKIE]),),
                                                mirrors=(MirrorRoute(name="m", version="v2", percentage=5),)))  # fmt: skip
    header, mirror, weighted_entry = http_of(routes)
    assert header["match"] == [{"headers": {"cookie": {"regex": r"^(.*;\s*)?segment=beta(\s*;.*)?$"}}}]
    assert "match" not in mirror and mirror["mirrorPercentage"] == {"value": 5.0}
    assert weighted_entry["route"][1] == {
        "destination": {"host": "fraud-scorer", "subset": "v2"},
        "weight": 0,
    }


def test_removed_routes_leave_the_virtual_service_and_finalize_removes_the_rest() -> None:
    routes = store()
    both = RoutesStatus(headers=[HeaderRoute(name="beta", version="v2", match=[BETA])],
                        mirrors=[MirrorRoute(name="copy", version="v2", percentage=5)])  # fmt: skip
    PROVIDER.set_routes(routes, TARGET, Routing.of({"v1": 90, "v2": 10}, both))
    assert [entry["name"] for entry in http_of(routes)] == [
        "health", "modelrollout-header-beta", "modelrollout-mirror-copy", "score",
    ]  # fmt: skip
    PROVIDER.set_routes(routes, TARGET, Routing.of({"v1": 90, "v2": 10}, RoutesStatus(headers=both.headers)))
    assert [entry["name"] for entry in http_of(routes)] == ["health", "modelrollout-header-beta", "score"]
    PROVIDER.finalize(routes, TARGET, "v1")
    assert http_of(routes) == [OTHER, {**SCORE, "route": [{"destination": HOST}]}]
