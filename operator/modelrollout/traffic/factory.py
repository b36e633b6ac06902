"""Picks the traffic router for `spec.strategy.traffic.provider`."""

from __future__ import annotations

from ..api.v1alpha1 import TrafficProvider
from .replicas import ReplicaRouter
from .router import TrafficRouter

__all__ = ["router_for"]

_ROUTERS: dict[TrafficProvider, TrafficRouter] = {
    TrafficProvider.REPLICAS: ReplicaRouter(),
}
"""Routers hold no state, so one instance per provider serves every ModelRollout."""


def router_for(provider: TrafficProvider) -> TrafficRouter:
    """LookupError names the provider when no router implements it (the CRD enum should have
    refused it already)."""
    try:
        return _ROUTERS[provider]
    except KeyError:
        raise LookupError(f"no traffic router for provider {provider!r}") from None
