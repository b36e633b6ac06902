"""No traffic management: every version with a weight runs at full size and the Service spreads
requests over all their pods. For tests of the controller and for users who route traffic
themselves; weights only decide which versions run. `new_provider(None)` returns it: the CRD's
enum has no value for it, since it lists only the providers that manage traffic."""

from __future__ import annotations

from collections.abc import Mapping

from ..api.v1alpha1 import Weight
from .provider import RouteClient, RouteTarget, Routing, check_weights, replica_share

__all__ = ["NopProvider"]


class NopProvider:
    """`Provider` that routes nothing."""

    @property
    def provider(self) -> str:
        return "none"

    def replica_plan(self, weights: Mapping[str, Weight], total_replicas: int) -> dict[str, int]:
        check_weights(weights)
        return {version: total_replicas if weight > 0 else 0 for version, weight in weights.items()}

    def effective_weights(self, weights: Mapping[str, Weight], total_replicas: int) -> Mapping[str, Weight]:
        return replica_share(self.replica_plan(weights, total_replicas))

    def approximation(self, total_replicas: int) -> str:
        return "runs every version with a weight at full size"

    def reconcile(self, client: RouteClient, target: RouteTarget) -> None:
        """No route objects."""

    def set_routes(
        self, client: RouteClient, target: RouteTarget, routing: Routing | Mapping[str, Weight]
    ) -> None:
        """No route objects."""

    def finalize(self, client: RouteClient, target: RouteTarget, stable_version: str) -> None:
        """No route objects."""
