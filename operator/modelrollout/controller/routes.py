"""The route half of the traffic provider, called at the reconcile's moments.

- before `decide`: `Routes.problem()` (the provider's `reconcile`): a provider that cannot route
  (its CRDs missing, its route object missing) is a problem `decide` holds the rollout on, with a
  Degraded condition and a Warning Event, and traffic is left where it is;
- when the weights served change, before any Deployment is scaled: `Routes.set(weights,
  status.routes)`, so a version leaves the routes before it loses its pods (and gains them only
  once `decide` has seen its new pods Available);
- on every other reconcile: `Routes.set(weights served, status.routes)` again, which writes only
  what differs, so a route edited behind the operator's back is put right, and the header routes
  and mirrors `decide` put in (or took out of) `status.routes` reach the route objects;
- on deletion: `Routes.set(stable alone)` before the other versions' Deployments go, then
  `Routes.finalize(stable)` (`controller.finalize`).

`KubeRouteClient` adapts `KubeClient` to the providers' `RouteClient`: server-side apply as the
operator's field manager, and a kind the cluster does not serve as `RouteUnavailable`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..api.v1alpha1 import (
    ModelRolloutSpec,
    Reason,
    RoutesStatus,
    StrategySpec,
    Weight,
    format_percent,
)
from ..k8s import KindNotServed, KubeClient, KubeError, NotFound, owner_reference
from ..rollout import Decision, EmitEvent
from ..traffic import FIELD_MANAGER, Provider, RouteTarget, RouteUnavailable, Routing, new_provider

__all__ = ["KubeRouteClient", "Routes", "with_effective_weights"]

log = logging.getLogger("modelrollout.routes")


def _not_served(error: KindNotServed) -> RouteUnavailable:
    return RouteUnavailable(
        Reason.TRAFFIC_API_NOT_FOUND,
        f"the cluster serves no {error.kind} ({error.api_version}): install the CRDs of the traffic "
        "provider (spec.strategy.traffic.provider), or choose another provider",
    )


@dataclass(frozen=True)
class KubeRouteClient:
    """`RouteClient` over `KubeClient`, in one namespace."""

    client: KubeClient
    namespace: str

    def get_route(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return self.client.get_object(api_version, kind, self.namespace, name)
        except KindNotServed as error:
            raise _not_served(error) from None
        except NotFound:
            return None

    def create_route(self, manifest: Mapping[str, Any]) -> None:
        try:
            self.client.create_object(dict(manifest))
        except KindNotServed as error:
            raise _not_served(error) from None
        except KubeError as error:
            if error.status != 409:  # there already: left as it is
                raise

    def apply_route(self, manifest: Mapping[str, Any]) -> None:
        try:
            self.client.apply_object(dict(manifest), FIELD_MANAGER)
        except KindNotServed as error:
            raise _not_served(error) from None

    def delete_route(self, api_version: str, kind: str, name: str) -> None:
        try:
            self.client.delete_object(api_version, kind, self.namespace, name)
        except KindNotServed:
            pass  # nothing of that kind can exist


@dataclass(frozen=True)
class Routes:
    """One rollout's provider with its client and target."""

    provider: Provider
    client: KubeRouteClient
    target: RouteTarget
    strategy: StrategySpec | None = None
    """`spec.strategy`, whose experiment settings (a sticky split...) every `set` carries."""

    @classmethod
    def of(
        cls, client: KubeClient, body: Mapping[str, Any], spec: ModelRolloutSpec, versions: Iterable[str]
    ) -> Routes:
        metadata = body["metadata"]
        namespace, name = str(metadata["namespace"]), str(metadata["name"])
        target = RouteTarget(
            namespace=namespace,
            rollout=name,
            service=spec.service,
            model=spec.model,
            traffic=spec.strategy.traffic,
            owner=owner_reference(dict(body)),
            versions=tuple(sorted(set(versions))),
        )
        provider = new_provider(spec.strategy.traffic.provider)
        return cls(provider, KubeRouteClient(client, namespace), target, spec.strategy)

    def problem(self) -> tuple[Reason, str] | None:
        """Why the provider cannot route now (None: it can)."""
        try:
            self.provider.reconcile(self.client, self.target)
        except RouteUnavailable as unavailable:
            return unavailable.reason, unavailable.message
        return None

    def set(self, weights: Mapping[str, Weight], routes: RoutesStatus | None = None) -> None:
        """The routes at `weights`, with the header routes and mirrors of `routes` (none: every
        one removed). A provider that cannot route leaves them as they are: the next reconcile's
        `problem()` reports why and holds the rollout."""
        if not weights:
            return
        try:
            self.provider.set_routes(self.client, self.target, Routing.of(weights, routes, self.strategy))
        except RouteUnavailable as unavailable:
            log.warning("%s/%s: routes left as they are: %s", self.target.namespace, self.target.rollout,
                        unavailable.message)  # fmt: skip

    def finalize(self, stable_version: str) -> None:
        try:
            self.provider.finalize(self.client, self.target, stable_version)
        except RouteUnavailable:
            pass  # no route object to hand back


def with_effective_weights(
    decision: Decision, provider: Provider, total_replicas: int, weights_before: Mapping[str, Weight]
) -> Decision:
    """`status.effectiveWeights` (what the provider really serves), and when a change of weights
    is served only approximately, one Warning Event saying what is served instead."""
    status = decision.status
    weights = status.weights
    try:
        effective = provider.effective_weights(weights, total_replicas) if weights else {}
    except ValueError:
        effective = {}
    status.effective_weights = {version: Fraction(weight) for version, weight in effective.items()}
    if not weights or weights == dict(weights_before) or not effective or effective == weights:
        return decision
    asked = ", ".join(f"{version} {format_percent(weight)}%" for version, weight in weights.items())
    served = ", ".join(f"{version} {format_percent(weight)}%" for version, weight in effective.items())
    message = (
        f"weights {asked} are served as {served}: the {provider.provider} provider "
        f"{provider.approximation(total_replicas)} (status.effectiveWeights); the gatewayAPI and "
        "router providers serve weights exactly, to 0.1%"
    )
    warning = EmitEvent("Warning", Reason.WEIGHT_APPROXIMATED, message)
    return Decision(status=status, actions=(*decision.actions, warning), requeue_after=decision.requeue_after)
