"""Header routes and mirrors on the HTTPRoute: the exact rules the `gatewayAPI` provider writes
beside the owned rule, in Gateway API's standard channel, and their removal."""

from __future__ import annotations

import re
from typing import Any

from modelrollout.api.v1alpha1 import HeaderRoute, MirrorRoute, RouteMatch, RoutesStatus
from modelrollout.traffic import Routing

from .route_store import RouteStore
from .test_gateway_api import OTHER_RULE, PROVIDER, SCORE_RULE, TARGET, store

BETA = RouteMatch.model_validate({"headerName": "X-Beta", "headerValue": {"exact": "true"}})
COOKIE = RouteMatch.model_validate({"cookie": {"name": "segment", "value": "beta"}})
PREFIX = RouteMatch.model_validate({"headerName": "x-tenant", "headerValue": {"prefix": "acme."}})
SCORE_MATCHES = SCORE_RULE["matches"]
FILTERS = SCORE_RULE["filters"]
REF = {"group": "", "kind": "Service", "port": 8080}


def rules_of(routes: RouteStore) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = routes.get("HTTPRoute", "public")["spec"]["rules"]
    return rules


def weighted(v1: int, v2: int) -> list[dict[str, Any]]:
    return [{**REF, "name": "fraud-v1", "weight": v1}, {**REF, "name": "fraud-v2", "weight": v2}]


def test_a_header_route_is_a_rule_of_its_own_to_the_candidate_ahead_of_the_weighted_rule() -> None:
    routes = store()
    routing = Routing(
        {"v1": 100, "v2": 0}, headers=(HeaderRoute(name="beta", version="v2", match=[BETA, COOKIE]),)
    )
    PROVIDER.set_routes(routes, TARGET, routing)
    assert rules_of(routes) == [
        OTHER_RULE,
        {
            "name": "modelrollout-header-beta",
            "matches": [{
                "path": {"type": "PathPrefix", "value": "/score"},
                "headers": [
                    {"name": "x-beta", "type": "Exact", "value": "true"},
                    {"name": "cookie", "type": "RegularExpression", "value": r"^(.*;\s*)?segment=beta(\s*;.*)?$"},
                ],
            }],
            "filters": FILTERS,
            "backendRefs": [{**REF, "name": "fraud-v2", "weight": 1}],
        },
        {**SCORE_RULE, "backendRefs": weighted(1000, 0)},
    ]  # fmt: skip


def test_a_prefix_is_a_regular_expression_of_the_standard_channel() -> None:
    routes = store()
    PROVIDER.set_routes(
        routes,
        TARGET,
        Routing({"v1": 90, "v2": 10}, headers=(HeaderRoute(name="t", version="v2", match=[PREFIX]),)),
    )
    header = rules_of(routes)[1]["matches"][0]["headers"][0]
    assert header == {"name": "x-tenant", "type": "RegularExpression", "value": r"^acme\..*"}
    assert re.fullmatch(header["value"], "acme.eu") and not re.fullmatch(header["value"], "acmex")


def test_the_cookie_expression_finds_the_pair_anywhere_in_the_header_and_nothing_else() -> None:
    routes = store()
    PROVIDER.set_routes(
        routes,
        TARGET,
        Routing({"v1": 100, "v2": 0}, headers=(HeaderRoute(name="c", version="v2", match=[COOKIE]),)),
    )
    regex = rules_of(routes)[1]["matches"][0]["headers"][0]["value"]
    for cookie in ("segment=beta", "a=1; segment=beta", "a=1;segment=beta; b=2"):
        assert re.fullmatch(regex, cookie), cookie
    for cookie in ("segment=betax", "xsegment=beta", "a=segment=beta", ""):
        assert not re.fullmatch(regex, cookie), cookie


def test_a_mirror_copies_a_percentage_to_the_candidate_while_the_weights_answer() -> None:
    routes = store()
    mirror = MirrorRoute(name="copy", version="v2", percentage=25)
    PROVIDER.set_routes(routes, TARGET, Routing({"v1": 90, "v2": 10}, mirrors=(mirror,)))
    mirror_filter = {
        "type": "RequestMirror",
        "requestMirror": {"backendRef": {**REF, "name": "fraud-v2"}, "percent": 25},
    }
    assert rules_of(routes)[1:] == [
        {"name": "modelrollout-mirror-copy", "matches": SCORE_MATCHES, "filters": [*FILTERS, mirror_filter],
         "backendRefs": weighted(900, 100)},
        {**SCORE_RULE, "backendRefs": weighted(900, 100)},
    ]  # fmt: skip


def test_a_mirror_with_a_match_copies_only_the_matching_requests() -> None:
    routes = store()
    mirror = MirrorRoute(name="beta-copy", version="v2", percentage=100, match=[BETA])
    PROVIDER.set_routes(routes, TARGET, Routing({"v1": 100, "v2": 0}, mirrors=(mirror,)))
    rule = rules_of(routes)[1]
    assert rule["name"] == "modelrollout-mirror-beta-copy"
    assert rule["matches"] == [
        {**SCORE_MATCHES[0], "headers": [{"name": "x-beta", "type": "Exact", "value": "true"}]}
    ]


def test_routes_removed_from_status_leave_the_route_and_the_weights_go_on() -> None:
    routes = store()
    both = RoutesStatus(headers=[HeaderRoute(name="beta", version="v2", match=[BETA])],
                        mirrors=[MirrorRoute(name="copy", version="v2", percentage=5)])  # fmt: skip
    PROVIDER.set_routes(routes, TARGET, Routing.of({"v1": 90, "v2": 10}, both))
    assert [rule.get("name") for rule in rules_of(routes)] == [
        None, "modelrollout-header-beta", "modelrollout-mirror-copy", "score",
    ]  # fmt: skip
    writes = len(routes.writes)
    PROVIDER.set_routes(routes, TARGET, Routing.of({"v1": 90, "v2": 10}, both))
    assert len(routes.writes) == writes, "converged: no write"
    PROVIDER.set_routes(routes, TARGET, Routing.of({"v1": 90, "v2": 10}, RoutesStatus()))
    assert rules_of(routes) == [OTHER_RULE, {**SCORE_RULE, "backendRefs": weighted(900, 100)}]


def test_a_route_to_a_version_out_of_the_weights_is_not_written() -> None:
    routes = store()
    stale = RoutesStatus(headers=[HeaderRoute(name="beta", version="v9", match=[BETA])])
    PROVIDER.set_routes(routes, TARGET, Routing.of({"v1": 100}, stale))
    assert [rule.get("name") for rule in rules_of(routes)] == [None, "score"]


def test_finalize_removes_the_generated_rules_with_the_weights() -> None:
    routes = store()
    PROVIDER.set_routes(
        routes,
        TARGET,
        Routing({"v1": 50, "v2": 50}, headers=(HeaderRoute(name="b", version="v2", match=[BETA]),)),
    )
    PROVIDER.finalize(routes, TARGET, "v1")
    assert rules_of(routes) == [OTHER_RULE, {**SCORE_RULE, "backendRefs": [{**REF, "name": "fraud-scorer"}]}]
