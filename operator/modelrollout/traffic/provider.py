"""The traffic provider interface: how a set of weights becomes replicas and routes.

Every provider answers two questions. `replica_plan` (pure) says how many replicas each version
runs for given weights: the controller scales the Deployments to it and `decide` waits for it.
`reconcile` / `set_routes` / `finalize` (I/O) manage the provider's route objects (an HTTPRoute,
a VirtualService...) through a `RouteClient`; for providers without route objects they do
nothing. `set_routes` takes a `Routing`: the weights, and the header routes and mirrors in force
(`status.routes`), which a provider serves in full or, for a provider without requests to route
(`replicas`), never gets (the CRD refuses those steps with it). The controller adapts its `k8s/` wrappers to `RouteClient` (server-side apply with the
operator's field manager), so this package imports no Kubernetes client and a test can pass a
fake. The calls are synchronous, like every other call of a reconcile (a worker thread).

When the controller calls them: `reconcile` on every reconcile before `decide` (a
`RouteUnavailable` it raises holds the rollout with a Degraded condition, traffic untouched);
`set_routes` with the weights served whenever they change and on every later reconcile (a
provider writes only what differs, so a route changed behind its back is put right); and on
deletion `set_routes` to the stable alone before the other versions go, then `finalize`.

A provider is what `spec.strategy.traffic.provider` names; `modelrollout.router` is something
else, the model router data plane (interleaving, bandits, shadow calls), which a provider may one
day drive. `TrafficProvider` is the API's enum of the names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

from ..api.v1alpha1 import (
    HeaderRoute,
    InterleavingRoute,
    MirrorRoute,
    Reason,
    RoutesStatus,
    StickinessSpec,
    StrategySpec,
    StrategyType,
    TrafficSpec,
    Weight,
    percent_json,
)

__all__ = [
    "FIELD_MANAGER",
    "Provider",
    "RouteClient",
    "RouteTarget",
    "RouteUnavailable",
    "Routing",
    "apportion",
    "apportion_every_weight",
    "as_routing",
    "check_weights",
    "replica_share",
    "rounded_up_plan",
    "strategy_settings",
]

FIELD_MANAGER = "modelrollout-operator"
"""The field manager of every route object the operator applies: the fields it sets are its own,
the fields other managers set are theirs and survive its writes."""


class RouteUnavailable(Exception):
    """The provider cannot route at all: its API is not served or its route object is missing.
    `reason` is the Degraded condition's reason; the message says what to fix."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class RouteClient(Protocol):
    """The I/O a provider may do: objects in the ModelRollout's namespace."""

    def get_route(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        """The object, or None when there is none. `RouteUnavailable(TrafficAPINotFound)` when
        the cluster does not serve `kind` at all (its CRDs are not installed)."""
        ...

    def create_route(self, manifest: Mapping[str, Any]) -> None:
        """Create the object `manifest` describes; one of that name already there is left as it
        is (for objects the operator may create but not change, such as Services)."""
        ...

    def apply_route(self, manifest: Mapping[str, Any]) -> None:
        """Server-side apply of `manifest` with the operator's field manager, forcing ownership
        of the fields it names (and only those)."""
        ...

    def delete_route(self, api_version: str, kind: str, name: str) -> None:
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
    traffic: TrafficSpec = field(default_factory=TrafficSpec)
    """`spec.strategy.traffic`: the provider's own settings (the route object it weights)."""
    owner: Mapping[str, Any] | None = None
    """The ownerReference objects the provider creates carry (the ModelRollout), so garbage
    collection removes them should the finalizer never run."""
    versions: tuple[str, ...] = ()
    """Every version the rollout knows (its Deployments), so a provider recognises the per-version
    objects it made for versions that no longer take traffic."""


@dataclass(frozen=True)
class Routing:
    """Everything a provider's routes say: the weighted split, the header routes that send a
    segment of requests to one version whatever the weights (the first that matches wins), and the
    mirrors that copy a share of (matching) requests to a version whose answers are dropped."""

    weights: Mapping[str, Weight]
    """Percent per version, summing to 100, the stable first."""
    headers: tuple[HeaderRoute, ...] = ()
    mirrors: tuple[MirrorRoute, ...] = ()
    stickiness: StickinessSpec | None = None
    """`spec.strategy.canary.stickiness`: split users, not requests, by the weights (each user
    hashed onto one version), while more than one version has a weight. Only `router` serves it
    (the CRD refuses it with the others, which ignore it)."""
    interleaving: InterleavingRoute | None = None
    """Two versions whose ranked lists the router merges for every request (strategy
    Interleaved); only the `router` provider gets one (the CRD refuses the strategy elsewhere)."""
    bandit: bool = False
    """The rollout is a bandit (`strategy.type: Bandit`): while it splits, the `router` provider
    has the router count pulls and take rewards while serving the weights the operator sets."""

    @classmethod
    def of(
        cls,
        weights: Mapping[str, Weight],
        routes: RoutesStatus | None = None,
        strategy: StrategySpec | None = None,
    ) -> Routing:
        """The weights with `status.routes`, keeping only routes to a version in `weights` (a
        version leaving the weights leaves every route with them), and the experiment settings
        of `spec.strategy` (`strategy_settings`)."""
        settings = strategy_settings(strategy)
        if routes is None:
            return cls(dict(weights), **settings)
        interleaving = routes.interleaving
        return cls(
            dict(weights),
            tuple(route for route in routes.headers if route.version in weights),
            tuple(mirror for mirror in routes.mirrors if mirror.version in weights and mirror.percentage > 0),
            interleaving=interleaving
            if interleaving is not None and set(interleaving.versions) <= set(weights)
            else None,
            **settings,
        )

    def routed_versions(self) -> list[str]:
        """The versions some request may reach: a weight above 0, or a header route or mirror."""
        named = {route.version for route in self.headers} | {mirror.version for mirror in self.mirrors}
        named |= set(self.interleaving.versions) if self.interleaving is not None else set()
        return [version for version, weight in self.weights.items() if weight > 0 or version in named]


def strategy_settings(strategy: StrategySpec | None) -> dict[str, Any]:
    """The fields of `Routing` that `spec.strategy` sets (one entry per experiment setting), so
    every call that routes a rollout (each reconcile, deletion) carries them alike."""
    settings: dict[str, Any] = {}
    if strategy is None:
        return settings
    if strategy.canary is not None and strategy.canary.stickiness is not None:
        settings["stickiness"] = strategy.canary.stickiness
    if strategy.type == StrategyType.BANDIT:
        settings["bandit"] = True
    return settings


def as_routing(routing: Routing | Mapping[str, Weight]) -> Routing:
    """A `Routing` of weights alone, for callers that only weight (deletion, dry-runs, tests)."""
    return routing if isinstance(routing, Routing) else Routing(dict(routing))


class Provider(Protocol):
    """One traffic provider (Flagger's router shape: reconcile, set routes, finalize)."""

    @property
    def provider(self) -> str:
        """The `spec.strategy.traffic.provider` value this provider implements."""
        ...

    def replica_plan(self, weights: Mapping[str, Weight], total_replicas: int) -> dict[str, int]:
        """Replicas per version for `weights` (percent per version, summing to 100) when the
        ModelRollout runs `total_replicas` (`spec.replicas`). Pure."""
        ...

    def effective_weights(self, weights: Mapping[str, Weight], total_replicas: int) -> Mapping[str, Weight]:
        """The share of traffic each version really receives once the plan is realised, for
        status and events (a replica ratio is coarser than the weights asked for). Pure."""
        ...

    def approximation(self, total_replicas: int) -> str:
        """Why `effective_weights` may differ from the weights, for the Warning Event that says
        so (`WeightApproximated`): what the provider can serve instead."""
        ...

    def reconcile(self, client: RouteClient, target: RouteTarget) -> None:
        """Check that the route object is there and create what the provider owns beside it;
        `RouteUnavailable` when routing is impossible."""
        ...

    def set_routes(
        self, client: RouteClient, target: RouteTarget, routing: Routing | Mapping[str, Weight]
    ) -> None:
        """Make the routes say `routing` (or weights alone), writing only what differs."""
        ...

    def finalize(self, client: RouteClient, target: RouteTarget, stable_version: str) -> None:
        """Hand the routes back (all traffic to `spec.service`, where only `stable_version` is
        left) and remove what the provider created: deletion of the ModelRollout must never
        take the stable out of traffic."""
        ...


def check_weights(weights: Mapping[str, Weight]) -> None:
    """ValueError names the offending weights: a plan for weights that do not add up would
    silently route a share of traffic nowhere."""
    if any(weight < 0 or weight > 100 for weight in weights.values()):
        raise ValueError(f"weights must be within 0..100: {_shown(weights)}")
    if sum(weights.values()) != 100:
        raise ValueError(f"weights must sum to 100: {_shown(weights)}")


def _shown(weights: Mapping[str, Weight]) -> dict[str, int | float]:
    return {version: percent_json(weight) for version, weight in weights.items()}


def apportion(shares: Mapping[str, int | Fraction], seats: int) -> dict[str, int]:
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


def apportion_every_weight(weights: Mapping[str, Weight], seats: int) -> dict[str, int]:
    """`apportion`, then every version with a weight above 0 raised to at least one seat, taken
    from the version with the most seats (the first listed on a tie) as long as that one keeps at
    least one; otherwise the total grows by one. A canary at 0.5% thus keeps a pod (`replicas`)
    or 1% (`istio`) rather than none: a step that sends no traffic would test nothing."""
    seated = apportion(weights, seats)
    for version, weight in weights.items():
        if weight > 0 and seated[version] == 0:
            donor = max(seated, key=lambda name: seated[name])
            if seated[donor] > 1:
                seated[donor] -= 1
            seated[version] = 1
    return seated


def replica_share(replicas: Mapping[str, int]) -> dict[str, int]:
    """Percent of the pods behind the Service per version, summing to 100 (all zero when none
    runs): a Service spreads requests evenly over ready pods, so this is the traffic split."""
    return apportion(replicas, 100)


def rounded_up_plan(weights: Mapping[str, Weight], total_replicas: int) -> dict[str, int]:
    """Replicas per version for providers that route exactly: each version runs the share of
    `total_replicas` its weight needs, rounded up (so it is never short of capacity for its
    traffic), and none at weight 0. At 3 replicas 95/5 runs 3 + 1; 50/50 runs 2 + 2."""
    check_weights(weights)
    if total_replicas < 1:
        raise ValueError(f"total replicas must be at least 1, not {total_replicas}")
    return {version: math.ceil(total_replicas * weight / 100) for version, weight in weights.items()}
