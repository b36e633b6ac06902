"""The simulated data plane reads the route objects as a Gateway or Istio would: header rules by
their matches (Gateway API: most header matches first; Istio: first entry), weights, and mirrors."""

from __future__ import annotations

from modelrollout.api.v1alpha1 import HeaderRoute, MirrorRoute, RouteMatch, RoutesStatus
from modelrollout.traffic import GatewayAPIProvider, IstioProvider, RouteTarget, Routing
from modelrollout_dev.route_traffic import Destination, http_route_table, virtual_service_table

from ..traffic.route_store import RouteStore
from ..traffic.test_gateway_api import TARGET as GATEWAY_TARGET
from ..traffic.test_gateway_api import store as gateway_store
from ..traffic.test_istio import TARGET as ISTIO_TARGET
from ..traffic.test_istio import store as istio_store

BETA = RouteMatch.model_validate({"headerName": "X-Beta", "headerValue": {"exact": "true"}})
COOKIE = RouteMatch.model_validate({"cookie": {"name": "segment", "value": "beta"}})
ROUTES = RoutesStatus(
    headers=[
        HeaderRoute(name="beta", version="v2", match=[BETA]),
        HeaderRoute(name="c", version="v2", match=[COOKIE]),
    ],
    mirrors=[MirrorRoute(name="copy", version="v2", percentage=30)],
)
PLAIN: dict[str, str] = {}


def test_the_http_route_sends_the_segment_to_the_candidate_and_mirrors_the_rest() -> None:
    routes: RouteStore = gateway_store()
    GatewayAPIProvider().set_routes(routes, GATEWAY_TARGET, Routing.of({"v1": 90, "v2": 10}, ROUTES))
    table = http_route_table(routes.get("HTTPRoute", "public"), "fraud", "fraud-scorer")
    assert table is not None
    assert table({"x-beta": "true"}) == Destination({"v2": 1})
    assert table({"cookie": "a=1; segment=beta"}) == Destination({"v2": 1})
    assert table({"x-beta": "false"}) == Destination({"v1": 900, "v2": 100}, (("v2", 0.3),))
    assert table(PLAIN) == Destination({"v1": 900, "v2": 100}, (("v2", 0.3),))


def test_the_virtual_service_takes_the_first_entry_that_matches() -> None:
    routes: RouteStore = istio_store()
    target: RouteTarget = ISTIO_TARGET
    IstioProvider().set_routes(routes, target, Routing.of({"v1": 95, "v2": 5}, ROUTES))
    table = virtual_service_table(routes.get("VirtualService", "scoring"), "fraud-scorer")
    assert table is not None
    assert table({"x-beta": "true"}) == Destination({"v2": 100})
    assert table({"cookie": "segment=beta"}) == Destination({"v2": 100})
    assert table(PLAIN) == Destination({"v1": 95, "v2": 5}, (("v2", 0.3),))


def test_a_route_still_on_the_service_is_split_by_pods() -> None:
    assert http_route_table(gateway_store().get("HTTPRoute", "public"), "fraud", "fraud-scorer") is None
