"""The traffic provider interface: how a set of weights becomes replicas and routes.

Every provider answers two questions. `replica_plan` (pure) says how many replicas each version
runs for given weights: the controller scales the Deployments to it and `decide` waits for it.
`reconcile` / `set_routes` / `finalize` (I/O) manage the provider's route objects (an HTTPRoute,
a VirtualService...) through a `RouteClient`; for providers without route objects they do
nothing. The controller adapts its `k8s/` wrappers to `RouteClient`, so this package imports no
Kubernetes client and a test can pass a fake.

A provider is what `spec.strategy.traffic.provider` names; `modelrollout.router` is something
else, the model router data plane (interleaving, bandits, shadow calls), which a provider may one
day drive. `TrafficProvider` is the API's enum of the names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

__all__ = [
    "Provider",
    "RouteClient",
    "RouteTarget",
    "apportion",
    "check_weights",
    "replica_share",
]


class RouteClient(Protocol):
    """The I/O a provider may do: route objects in the ModelRollout's namespace, owned by it."""

    async def apply_route(self, manifest: Mapping[str, Any]) -> None:
        """Create or update (server-side apply) the object `manifest` describes."""
        ...

    async def delete_route(self, api_version: str, kind: str, name: str) -> None:
        """Delete the object if it exists."""
        ...


@dataclass(frozen=True)
class RouteTarget:
    """What a provider routes for: one ModelRollout and the Service its clients call."""

    namespace: str
    rollout: str
    """The ModelRollout's name; version `v` runs in the Deployment `<rollout>-<v>`."""
    service: str
    model: str


class Provider(Protocol):
    """One traffic provider (Flagger's router shape: reconcile, set routes, finalize)."""

    @property
    def provider(self) -> str:
        """The `spec.strategy.traffic.provider` value this provider implements."""
        ...

    def replica_plan(self, weights: Mapping[str, int], total_replicas: int) -> dict[str, int]:
        """Replicas per version for `weights` (percent per version, summing to 100) when the
        ModelRollout runs `total_replicas` (`spec.replicas`). Pure."""
        ...

    def effective_weights(self, weights: Mapping[str, int], total_replicas: int) -> dict[str, int]:
        """The share of traffic each version really receives once the plan is realised, for
        status and events (a replica ratio is coarser than the weights asked for). Pure."""
        ...

    async def reconcile(self, client: RouteClient, target: RouteTarget) -> None:
        """Create the provider's route objects if they are missing."""
        ...

    async def set_routes(self, client: RouteClient, target: RouteTarget, weights: Mapping[str, int]) -> None:
        """Point the routes at `weights`."""
        ...

    async def finalize(self, client: RouteClient, target: RouteTarget, stable_version: str) -> None:
        """Send all traffic to `stable_version` and remove what `reconcile` created (deletion of
        the ModelRollout must never take the stable out of traffic)."""
        ...


def check_weights(weights: Mapping[str, int]) -> None:
    """ValueError names the offending weights: a plan for weights that do not add up would
    silently route a share of traffic nowhere."""
    if any(weight < 0 or weight > 100 for weight in weights.values()):
        raise ValueError(f"weights must be within 0..100: {dict(weights)}")
    if sum(weights.values()) != 100:
        raise ValueError(f"weights must sum to 100: {dict(weights)}")


def apportion(shares: Mapping[str, int], seats: int) -> dict[str, int]:
    """Hamilton's largest-remainder method: `seats` split in proportion to `shares`, summing to
    exactly `seats`. Each version first gets the whole part of its quota; the seats left go to the
    largest remainders, ties to the version listed first (`decide` lists the stable first, so a
    50/50 split over an odd number of replicas favours the stable)."""
    total_share = sum(shares.values())
    if total_share <= 0:
        return dict.fromkeys(shares, 0)
    quotas = {version: Fraction(share * seats, total_share) for version, share in shares.items()}
    seated = {version: int(quota) for version, quota in quotas.items()}
    order = list(shares)
    by_remainder = sorted(
        order, key=lambda version: (-(quotas[version] - seated[version]), order.index(version))
    )
    for version in by_remainder[: seats - sum(seated.values())]:
        seated[version] += 1
    return seated


def replica_share(replicas: Mapping[str, int]) -> dict[str, int]:
    """Percent of the pods behind the Service per version, summing to 100 (all zero when none
    runs): a Service spreads requests evenly over ready pods, so this is the traffic split."""
    return apportion(replicas, 100)
