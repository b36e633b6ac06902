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

from ..api.v1alpha1 import TrafficProvider
from .provider import RouteClient, RouteTarget, Routing, apportion, check_weights, replica_share

__all__ = ["ReplicaProvider"]


class ReplicaProvider:
    """`Provider` for `provider: replicas`."""

    @property
    def provider(self) -> str:
        return TrafficProvider.REPLICAS.value

    def replica_plan(self, weights: Mapping[str, int], total_replicas: int) -> dict[str, int]:
        check_weights(weights)
        if total_replicas < 1:
            raise ValueError(f"total replicas must be at least 1, not {total_replicas}")
        plan = apportion(weights, total_replicas)
        for version, weight in weights.items():
            if weight > 0 and plan[version] == 0:
                _take_one_replica(plan, for_version=version)
        return plan

    def effective_weights(self, weights: Mapping[str, int], total_replicas: int) -> dict[str, int]:
        return replica_share(self.replica_plan(weights, total_replicas))

    def reconcile(self, client: RouteClient, target: RouteTarget) -> None:
        """Nothing to create: the user's Service already selects every version."""

    def set_routes(
        self, client: RouteClient, target: RouteTarget, routing: Routing | Mapping[str, int]
    ) -> None:
        """The weights are realised by scaling, which the controller does from `replica_plan`.
        Header routes and mirrors never reach here: the CRD refuses their steps with this
        provider (`route_rules`), and a strategy that writes `status.routes` must as well."""

    def finalize(self, client: RouteClient, target: RouteTarget, stable_version: str) -> None:
        """Nothing to remove; the controller scales the stable back to full size."""


def _take_one_replica(plan: dict[str, int], for_version: str) -> None:
    """From the version with the most replicas (the first listed on a tie), if it can spare one;
    otherwise the plan grows by one so that no version with a weight goes without a pod."""
    donor = max(plan, key=lambda version: plan[version])
    if plan[donor] > 1:
        plan[donor] -= 1
    plan[for_version] = 1
