"""The `istio` provider: weights as the route weights of the user's VirtualService.

The user keeps a VirtualService whose `http` entries route to `spec.service`. The provider owns
those entries' `route`: one destination per version, the same host with subset `<version>`,
weighted in whole percent summing to 100 (what Istio expects). The subsets are the provider's
own: it creates a DestinationRule (`<rollout>-versions` unless `destinationRule` names another)
for host `spec.service` with one subset per version selecting `modelrollout.io/version`, so the
user writes nothing per version. Decided so because the subsets must follow the versions the
operator creates and deletes; a user-kept rule would drift from them.

`spec.http` is an atomic list in the VirtualService schema, so, as with the HTTPRoute, the
provider applies the whole list with every other entry, match and field as read, and nothing
outside `spec.http`; it writes only when the list differs. Header routes and mirrors
(`status.routes`) are entries of their own ahead of each owned entry (`istio_segments`). Finalize
points the owned entries back at the host without a subset, removes the generated entries and
deletes the DestinationRule.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..api.v1alpha1 import LABEL_VERSION, TrafficProvider, Weight
from . import _routes as shared
from .istio_segments import segment_entries
from .provider import RouteClient, RouteTarget, Routing, apportion_every_weight, as_routing, check_weights

__all__ = [
    "DESTINATION_RULE",
    "VIRTUAL_SERVICE",
    "IstioProvider",
    "destination_rule",
    "restored_http",
    "routed_http",
]

VIRTUAL_SERVICE = ("networking.istio.io/v1", "VirtualService")
DESTINATION_RULE = ("networking.istio.io/v1", "DestinationRule")


def destination_rule_name(target: RouteTarget) -> str:
    settings = target.traffic.istio
    if settings is not None and settings.destination_rule:
        return settings.destination_rule
    return f"{target.rollout}-versions"


def hosts_of(target: RouteTarget) -> set[str]:
    """The names a destination may give `spec.service` in the rollout's namespace."""
    service, namespace = target.service, target.namespace
    return {
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    }


def destination_rule(target: RouteTarget, versions: list[str]) -> dict[str, Any]:
    """The provider's DestinationRule: host `spec.service`, a subset per version."""
    return {
        "apiVersion": DESTINATION_RULE[0],
        "kind": DESTINATION_RULE[1],
        "metadata": shared.owned_metadata(target, destination_rule_name(target)),
        "spec": {
            "host": target.service,
            "subsets": [{"name": version, "labels": {LABEL_VERSION: version}} for version in versions],
        },
    }


def _is_owned(entry: Mapping[str, Any], hosts: set[str]) -> bool:
    return any((route.get("destination") or {}).get("host") in hosts for route in entry.get("route") or [])


def owned_entries(http: list[dict[str, Any]], target: RouteTarget) -> list[int]:
    hosts = hosts_of(target)
    return [index for index, entry in enumerate(http) if _is_owned(entry, hosts)]


def _rewrite(entry: dict[str, Any], hosts: set[str], routes: list[dict[str, Any]]) -> dict[str, Any]:
    current = entry.get("route") or []
    first = next(
        i for i, route in enumerate(current) if (route.get("destination") or {}).get("host") in hosts
    )
    after = [route for route in current[first:] if (route.get("destination") or {}).get("host") not in hosts]
    return {**entry, "route": [*current[:first], *routes, *after]}


def _template(entry: Mapping[str, Any], hosts: set[str]) -> dict[str, Any]:
    route = next(r for r in entry.get("route") or [] if (r.get("destination") or {}).get("host") in hosts)
    template = copy.deepcopy(dict(route))
    template.pop("weight", None)
    template["destination"] = {k: v for k, v in template["destination"].items() if k != "subset"}
    return template


def whole_percents(weights: Mapping[str, Weight]) -> dict[str, int]:
    """The weights as whole percents summing to exactly 100 (what a VirtualService can say), a
    version with a weight keeping at least 1%."""
    return apportion_every_weight(weights, 100)


def routed_http(
    http: list[dict[str, Any]], target: RouteTarget, routing: Routing | Mapping[str, Weight]
) -> list[dict[str, Any]]:
    """The VirtualService's `http` with each owned entry routing per version: the user's
    destination (host, port, headers) with subset `<version>` and the version's weight; and ahead
    of each owned entry, the entries of the header routes and mirrors in force."""
    routing = as_routing(routing)
    hosts = hosts_of(target)
    percents = whole_percents(routing.weights)

    def route(entry: dict[str, Any], ordinal: int) -> list[dict[str, Any]]:
        template = _template(entry, hosts)
        routes = [
            {
                **template,
                "destination": {**template["destination"], "subset": version},
                "weight": percents[version],
            }
            for version in routing.weights
        ]
        weighted = _rewrite(entry, hosts, routes)
        return [*segment_entries(weighted, ordinal, routing.headers, routing.mirrors, template), weighted]

    return shared.with_segments(http, lambda kept: owned_entries(kept, target), route)


def restored_http(http: list[dict[str, Any]], target: RouteTarget) -> list[dict[str, Any]]:
    """The `http` with each owned entry routing to the host alone again (no subset, no weight)."""
    hosts = hosts_of(target)
    result = [entry for entry in copy.deepcopy(http) if not shared.is_generated(entry)]
    for index in owned_entries(result, target):
        result[index] = _rewrite(result[index], hosts, [_template(result[index], hosts)])
    return result


class IstioProvider(shared.ExactRouting):
    """`Provider` for `provider: istio`."""

    @property
    def provider(self) -> str:
        return TrafficProvider.ISTIO.value

    def effective_weights(self, weights: Mapping[str, Weight], total_replicas: int) -> Mapping[str, Weight]:
        """The whole percents `routed_http` writes: a VirtualService weight is an integer, so 0.5%
        is served as the nearest whole-percent split (largest remainder, ties to the stable)."""
        check_weights(weights)
        return whole_percents(weights)

    def approximation(self, total_replicas: int) -> str:
        return "writes whole percents (a VirtualService weight is an integer)"

    def reconcile(self, client: RouteClient, target: RouteTarget) -> None:
        self._owned_service(client, target)
        client.get_route(*DESTINATION_RULE, destination_rule_name(target))  # its kind must be served too

    def set_routes(
        self, client: RouteClient, target: RouteTarget, routing: Routing | Mapping[str, Weight]
    ) -> None:
        routing = as_routing(routing)
        check_weights(routing.weights)
        virtual_service = self._owned_service(client, target)
        versions = shared.known_versions(target, routing.weights)
        wanted_rule = destination_rule(target, versions)
        current_rule = client.get_route(*DESTINATION_RULE, wanted_rule["metadata"]["name"])
        if current_rule is None or (current_rule.get("spec") or {}) != wanted_rule["spec"]:
            client.apply_route(wanted_rule)  # subsets first: a route to an unknown subset fails
        shared.write_if_changed(
            client, virtual_service, "http", routed_http(virtual_service["spec"]["http"], target, routing)
        )

    def finalize(self, client: RouteClient, target: RouteTarget, stable_version: str) -> None:
        name = _virtual_service_name(target)
        shared.hand_back(client, VIRTUAL_SERVICE, name, "http", lambda http: restored_http(http, target))
        client.delete_route(*DESTINATION_RULE, destination_rule_name(target))

    def _owned_service(self, client: RouteClient, target: RouteTarget) -> dict[str, Any]:
        return shared.owned_route(
            client, VIRTUAL_SERVICE, _virtual_service_name(target), "istio.virtualService",
            lambda found: bool(owned_entries((found.get("spec") or {}).get("http") or [], target)),
            f"no http route to host {target.service!r}",
        )  # fmt: skip


def _virtual_service_name(target: RouteTarget) -> str:
    return shared.required_settings(target.traffic.istio, "istio").virtual_service
