"""What the route providers (`gateway_api`, `istio`, `router`) share: their replica plan, finding
the route object they weight, and the per-version objects they label as the rollout's."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..api.v1alpha1 import LABEL_MODEL, LABEL_ROLLOUT, LABEL_VERSION, Reason, Weight
from .provider import RouteClient, RouteTarget, RouteUnavailable, check_weights, rounded_up_plan

T = TypeVar("T")

MANAGED_BY = {"app.kubernetes.io/managed-by": "modelrollout"}


class ExactRouting:
    """`replica_plan` and `effective_weights` of a provider whose routes carry the weights
    themselves: capacity follows the weight (rounded up), traffic is the weight."""

    def replica_plan(self, weights: Mapping[str, Weight], total_replicas: int) -> dict[str, int]:
        return rounded_up_plan(weights, total_replicas)

    def effective_weights(self, weights: Mapping[str, Weight], total_replicas: int) -> Mapping[str, Weight]:
        check_weights(weights)
        return dict(weights)

    def approximation(self, total_replicas: int) -> str:
        return "serves weights exactly, to 0.1%"


def required_route(client: RouteClient, api_version: str, kind: str, name: str, field: str) -> dict[str, Any]:
    """The route object the spec names; `RouteUnavailable(RouteNotFound)` naming the field when it
    is missing (the rollout holds until a person creates it)."""
    found = client.get_route(api_version, kind, name)
    if found is None:
        raise RouteUnavailable(
            Reason.ROUTE_NOT_FOUND, f"{kind} {name!r} (spec.strategy.traffic.{field}) not found"
        )
    return found


def required_settings(settings: T | None, block: str) -> T:
    """A provider's block of `spec.strategy.traffic`; the CRD's rules require it with the provider."""
    if settings is None:
        raise ValueError(f"provider {block} needs spec.strategy.traffic.{block}")
    return settings


def owned_route(
    client: RouteClient,
    kind: tuple[str, str],
    name: str,
    field: str,
    owns: Callable[[dict[str, Any]], bool],
    lacks: str,
) -> dict[str, Any]:
    """The route object the spec names, holding something the provider owns (`owns`); else
    `RouteUnavailable(RouteNotFound)` saying what it `lacks`."""
    route = required_route(client, *kind, name, field)
    if not owns(route):
        raise RouteUnavailable(
            Reason.ROUTE_NOT_FOUND,
            f"{kind[1]} {name!r} has {lacks}: add one, the operator weights it per version",
        )
    return route


def rollout_labels(target: RouteTarget, version: str | None = None) -> dict[str, str]:
    labels = {LABEL_ROLLOUT: target.rollout, LABEL_MODEL: target.model, **MANAGED_BY}
    if version is not None:
        labels[LABEL_VERSION] = version
    return labels


def owned_metadata(target: RouteTarget, name: str, version: str | None = None) -> dict[str, Any]:
    """Metadata of an object the provider creates: the rollout's labels, and the ModelRollout as
    owner so garbage collection removes it should the finalizer never run."""
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": target.namespace,
        "labels": rollout_labels(target, version),
    }
    if target.owner is not None:
        metadata["ownerReferences"] = [dict(target.owner)]
    return metadata


def own_version_service(
    client: RouteClient, target: RouteTarget, name: str, version: str, provider: str
) -> dict[str, Any] | None:
    """The version's Service `name` if it exists (None: to be created);
    `RouteUnavailable(RouteConflict)` when a Service of that name is someone else's, which the
    operator never takes over (it may create Services, never change or delete one)."""
    found = client.get_route("v1", "Service", name)
    if found is not None and (found["metadata"].get("labels") or {}).get(LABEL_ROLLOUT) != target.rollout:
        raise RouteUnavailable(
            Reason.ROUTE_CONFLICT,
            f"Service {name!r} exists and is not ModelRollout {target.rollout!r}'s (no label "
            f"{LABEL_ROLLOUT}={target.rollout}): rename it, the {provider} provider needs the name for {version}",
        )
    return found


def route_patch(route: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """The apply configuration of a route object the user owns: only the fields the provider
    manages, so server-side apply leaves every other manager's fields as they are."""
    metadata = route["metadata"]
    return {
        "apiVersion": route["apiVersion"],
        "kind": route["kind"],
        "metadata": {"name": metadata["name"], "namespace": metadata["namespace"]},
        "spec": dict(spec),
    }


def write_if_changed(client: RouteClient, route: Mapping[str, Any], field: str, wanted: list[Any]) -> None:
    """Apply `spec.<field>` of the user's route as `wanted` unless it already is: a converged
    rollout makes no write."""
    if wanted != (route.get("spec") or {}).get(field):
        client.apply_route(route_patch(route, {field: wanted}))


def hand_back(
    client: RouteClient,
    kind: tuple[str, str],
    name: str,
    field: str,
    restore: Callable[[list[Any]], list[Any]],
) -> None:
    """Finalize's half on the user's route, if it is still there: `spec.<field>` as `restore`
    makes it of what it holds now."""
    route = client.get_route(*kind, name)
    if route is not None:
        write_if_changed(client, route, field, restore((route.get("spec") or {}).get(field) or []))


def known_versions(target: RouteTarget, weights: Mapping[str, Weight]) -> list[str]:
    """The versions in `weights` (in their order) and then every other version the rollout knows."""
    return [*weights, *sorted(set(target.versions) - set(weights))]


GENERATED_PREFIX = "modelrollout-"
"""Names of the rules (entries, segments) a provider generates for header routes and mirrors start
with it; a user's own never should."""


def is_generated(item: Mapping[str, Any]) -> bool:
    return str(item.get("name", "")).startswith(GENERATED_PREFIX)


def generated_name(kind: str, route: str, ordinal: int) -> str:
    """`modelrollout-<kind>-<route>`, `-<n>` added for the n-th owned rule after the first."""
    return f"{GENERATED_PREFIX}{kind}-{route}" + (f"-{ordinal}" if ordinal else "")


def with_segments(
    items: list[dict[str, Any]],
    owned_of: Callable[[list[dict[str, Any]]], list[int]],
    route: Callable[[dict[str, Any], int], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """A route object's atomic list (HTTPRoute rules, VirtualService entries) rewritten: the items
    the provider generated before dropped, every item it owns replaced by `route(item, ordinal)`
    (the generated items for it, then the item weighted), every other item as it was."""
    kept = [item for item in copy.deepcopy(items) if not is_generated(item)]
    owned = owned_of(kept)
    result: list[dict[str, Any]] = []
    for index, item in enumerate(kept):
        result.extend(route(item, owned.index(index)) if index in owned else [item])
    return result
