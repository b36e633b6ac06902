"""The `gatewayAPI` provider: weights as the `backendRefs` weights of the user's HTTPRoute.

The user keeps an HTTPRoute (attached to their Gateway) with rules whose backendRefs name
`spec.service`. The provider owns those rules' backendRefs: it replaces them with one backendRef
per version, each a Service `<rollout>-<version>` that it creates (selecting that version's pods,
with the ports of `spec.service`), weighted in thousandths of the total, so 99.9/0.1 is exact.
The port, and any other field of the backendRef the user wrote, is kept on every version's ref.

`spec.rules` is an atomic list in the HTTPRoute schema, so server-side apply can only own it
whole: the provider reads the route, changes the backendRefs of the rules it owns and applies the
rules with every other rule, match and filter exactly as read; fields outside `spec.rules`
(parentRefs, hostnames, labels, annotations) it never sends, so their managers keep them. It
writes only when the rules differ, so a converged rollout makes no write, and a rule changed
behind its back is put right at the next reconcile.

Header routes and mirrors (`status.routes`) are rules of their own beside each owned rule
(`gateway_segments`), generated, named by the provider and replaced whole on every write.

Finalize points the owned rules back at `spec.service` (one backendRef, the user's template),
removes the generated rules and deletes the version Services: after deletion only the stable runs
behind that Service.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ..api.v1alpha1 import LABEL_ROLLOUT, LABEL_VERSION, Reason, TrafficProvider, Weight
from ._routes import (
    ExactRouting,
    hand_back,
    is_generated,
    known_versions,
    own_version_service,
    owned_metadata,
    owned_route,
    required_settings,
    with_segments,
    write_if_changed,
)
from .gateway_segments import segment_rules
from .provider import (
    RouteClient,
    RouteTarget,
    RouteUnavailable,
    Routing,
    apportion,
    as_routing,
    check_weights,
)

__all__ = [
    "HTTP_ROUTE",
    "WEIGHT_TOTAL",
    "GatewayAPIProvider",
    "backend_weights",
    "restored_rules",
    "routed_rules",
    "version_service",
    "version_service_name",
]

HTTP_ROUTE = ("gateway.networking.k8s.io/v1", "HTTPRoute")
SERVICE = ("v1", "Service")
WEIGHT_TOTAL = 1000
"""backendRef weights are relative; the provider writes them out of 1000, so a weight is exact to
0.1% (and every weight the steps can ask for today, whole percents, is exact)."""

_SERVICE_PORT_FIELDS = ("name", "port", "targetPort", "protocol", "appProtocol")


def version_service_name(rollout: str, version: str) -> str:
    """`<rollout>-<version>`, the Deployment's name too: each version is reachable on its own."""
    return f"{rollout}-{version}"


def backend_weights(weights: Mapping[str, int | Fraction], total: int = WEIGHT_TOTAL) -> dict[str, int]:
    """Percent weights as integer backendRef weights out of `total`, summing to `total`."""
    return apportion({version: Fraction(weight) for version, weight in weights.items()}, total)


def version_service(target: RouteTarget, version: str, user_service: Mapping[str, Any]) -> dict[str, Any]:
    """The Service of one version: `spec.service`'s ports, selecting only that version's pods."""
    ports = [
        {key: port[key] for key in _SERVICE_PORT_FIELDS if key in port}
        for port in (user_service.get("spec") or {}).get("ports") or []
    ]
    return {
        "apiVersion": SERVICE[0],
        "kind": SERVICE[1],
        "metadata": owned_metadata(target, version_service_name(target.rollout, version), version),
        "spec": {"selector": _selector(target, version), "ports": ports},
    }


def _selector(target: RouteTarget, version: str) -> dict[str, str]:
    return {LABEL_ROLLOUT: target.rollout, LABEL_VERSION: version}


def _backend_names(target: RouteTarget, versions: list[str]) -> set[str]:
    """Names a backendRef of a rule the provider owns may carry: the user's Service before the
    first step and after finalize, a version's Service in between."""
    return {target.service, *(version_service_name(target.rollout, version) for version in versions)}


def _is_service_ref(ref: Mapping[str, Any], names: set[str]) -> bool:
    return ref.get("kind", "Service") == "Service" and ref.get("group", "") == "" and ref.get("name") in names


def owned_rule_indexes(rules: list[dict[str, Any]], target: RouteTarget, versions: list[str]) -> list[int]:
    """The rules whose backendRefs send traffic to the rollout's Services."""
    names = _backend_names(target, versions)
    return [
        index
        for index, rule in enumerate(rules)
        if any(_is_service_ref(ref, names) for ref in rule.get("backendRefs") or [])
    ]


def _rewrite(rule: dict[str, Any], names: set[str], refs_for: list[dict[str, Any]]) -> dict[str, Any]:
    """`rule` with its refs to the rollout's Services replaced by `refs_for` (at the first one's
    place); refs to anything else stay where they were."""
    refs = rule.get("backendRefs") or []
    first = next(index for index, ref in enumerate(refs) if _is_service_ref(ref, names))
    others_before = list(refs[:first])
    others_after = [ref for ref in refs[first:] if not _is_service_ref(ref, names)]
    return {**rule, "backendRefs": [*others_before, *refs_for, *others_after]}


def routed_rules(
    rules: list[dict[str, Any]], target: RouteTarget, routing: Routing | Mapping[str, int | Fraction]
) -> list[dict[str, Any]]:
    """The route's rules with every owned rule's backendRefs weighted per version: one ref per
    version in the weights (a version at 0 stays listed at weight 0), each a copy of the first
    owned ref (its port, filters...) with the version's Service name and weight; and before each
    owned rule, the rules of the header routes and mirrors in force (`gateway_segments`)."""
    if isinstance(routing, Routing):
        weights: Mapping[str, int | Fraction] = routing.weights
        headers, mirrors = routing.headers, routing.mirrors
    else:
        weights, headers, mirrors = routing, (), ()
    versions = known_versions(target, {v: 0 for v in weights})
    names = _backend_names(target, versions)
    parts = backend_weights(weights)
    service_of = {version: version_service_name(target.rollout, version) for version in weights}

    def route(rule: dict[str, Any], ordinal: int) -> list[dict[str, Any]]:
        template = _template(rule, names)
        refs = [{**template, "name": service_of[version], "weight": parts[version]} for version in weights]
        weighted = _rewrite(rule, names, refs)
        return [*segment_rules(weighted, ordinal, headers, mirrors, service_of, template), weighted]

    return with_segments(rules, lambda kept: owned_rule_indexes(kept, target, versions), route)


def restored_rules(rules: list[dict[str, Any]], target: RouteTarget) -> list[dict[str, Any]]:
    """The route's rules with every owned rule sending all its traffic to `spec.service` again."""
    versions = list(target.versions)
    names = _backend_names(target, versions)
    result = [rule for rule in copy.deepcopy(rules) if not is_generated(rule)]
    for index in owned_rule_indexes(result, target, versions):
        template = _template(result[index], names)
        template.pop("weight", None)
        result[index] = _rewrite(result[index], names, [{**template, "name": target.service}])
    return result


def _template(rule: Mapping[str, Any], names: set[str]) -> dict[str, Any]:
    ref = next(ref for ref in rule.get("backendRefs") or [] if _is_service_ref(ref, names))
    return {key: copy.deepcopy(value) for key, value in ref.items() if key not in ("name", "weight")}


class GatewayAPIProvider(ExactRouting):
    """`Provider` for `provider: gatewayAPI`."""

    @property
    def provider(self) -> str:
        return TrafficProvider.GATEWAY_API.value

    def reconcile(self, client: RouteClient, target: RouteTarget) -> None:
        self._owned_route(client, target, list(target.versions))
        for version in target.versions:
            _own_version_service(client, target, version)

    def set_routes(
        self, client: RouteClient, target: RouteTarget, routing: Routing | Mapping[str, Weight]
    ) -> None:
        routing = as_routing(routing)
        weights = routing.weights
        check_weights(weights)
        versions = known_versions(target, weights)
        route = self._owned_route(client, target, versions)
        user_service = client.get_route(*SERVICE, target.service)
        if user_service is None:
            raise RouteUnavailable(Reason.SERVICE_NOT_FOUND, f"Service {target.service!r} not found")
        for version in weights:  # before the route names them: a ref to no Service is a 500
            if _own_version_service(client, target, version) is None:
                client.create_route(version_service(target, version, user_service))
        write_if_changed(client, route, "rules", routed_rules(route["spec"]["rules"], target, routing))

    def finalize(self, client: RouteClient, target: RouteTarget, stable_version: str) -> None:
        hand_back(
            client, HTTP_ROUTE, _route_name(target), "rules", lambda rules: restored_rules(rules, target)
        )
        # The version Services go with the ModelRollout, their owner (garbage collection): the
        # operator may create Services but never change or delete one, so a ModelRollout cannot
        # be made to take down the Services clients call.

    def _owned_route(self, client: RouteClient, target: RouteTarget, versions: list[str]) -> dict[str, Any]:
        return owned_route(
            client, HTTP_ROUTE, _route_name(target), "gatewayAPI.httpRoute",
            lambda route: bool(owned_rule_indexes((route.get("spec") or {}).get("rules") or [], target, versions)),
            f"no rule with a backendRef to Service {target.service!r}",
        )  # fmt: skip


def _route_name(target: RouteTarget) -> str:
    return required_settings(target.traffic.gateway_api, "gatewayAPI").http_route


def _own_version_service(client: RouteClient, target: RouteTarget, version: str) -> dict[str, Any] | None:
    name = version_service_name(target.rollout, version)
    return own_version_service(client, target, name, version, TrafficProvider.GATEWAY_API.value)
