"""The `replicas` provider: weights as the ratio of replicas behind one Service.

Coarse but works everywhere: the Service selects every version's pods (`modelrollout.io/model`),
so each version receives traffic in proportion to its ready pods. No route object exists.

Rounding, for `total` replicas (`spec.replicas`):
- weight 0 -> 0 replicas; weight 100 -> all `total` (the other versions get 0);
- otherwise `total` is split by the largest-remainder method (ties to the version listed first),
  then every version with a weight above 0 is raised to at least one replica, taking it from
  the version with the most replicas as long as that one keeps at least one. The sum stays
  `total`; only when `total` is smaller than the number of versions with a weight above 0 does
  it grow (total 1 at weights 95/5 runs 1 + 1 replicas).

So with 3 replicas: 5% -> 2 + 1 (really 33%), 50% -> 2 + 1 (stable first), 99% -> 1 + 2 (67%).
`effective_weights` reports the split that results, which status shows next to the weights.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..api.v1alpha1 import TrafficProvider, Weight
from .provider import RouteClient, RouteTarget, Routing, apportion_every_weight, check_weights, replica_share

__all__ = ["ReplicaProvider"]


class ReplicaProvider:
    """`Provider` for `provider: replicas`."""

    @property
    def provider(self) -> str:
        return TrafficProvider.REPLICAS.value

    def replica_plan(self, weights: Mapping[str, Weight], total_replicas: int) -> dict[str, int]:
        check_weights(weights)
        if total_replicas < 1:
            raise ValueError(f"total replicas must be at least 1, not {total_replicas}")
        return apportion_every_weight(weights, total_replicas)

    def effective_weights(self, weights: Mapping[str, Weight], total_replicas: int) -> Mapping[str, Weight]:
        return replica_share(self.replica_plan(weights, total_replicas))

    def approximation(self, total_replicas: int) -> str:
        return f"splits {total_replicas} replica(s) by whole pods"

    def reconcile(self, client: RouteClient, target: RouteTarget) -> None:
        """Nothing to create: the user's Service already selects every version."""

    def set_routes(
        self, client: RouteClient, target: RouteTarget, routing: Routing | Mapping[str, Weight]
    ) -> None:
        """The weights are realised by scaling, which the controller does from `replica_plan`.
        Header routes and mirrors never reach here: the CRD refuses their steps with this
        provider (`route_rules`), and a strategy that writes `status.routes` must as well."""

    def finalize(self, client: RouteClient, target: RouteTarget, stable_version: str) -> None:
        """Nothing to remove; the controller scales the stable back to full size."""
