"""Picks the traffic provider for `spec.strategy.traffic.provider`, or the no-op."""

from __future__ import annotations

from ..api.v1alpha1 import TrafficProvider
from .gateway_api import GatewayAPIProvider
from .istio import IstioProvider
from .nop import NopProvider
from .provider import Provider
from .replicas import ReplicaProvider
from .router import RouterProvider

__all__ = ["new_provider"]

_PROVIDERS: dict[TrafficProvider, Provider] = {
    TrafficProvider.REPLICAS: ReplicaProvider(),
    TrafficProvider.GATEWAY_API: GatewayAPIProvider(),
    TrafficProvider.ISTIO: IstioProvider(),
    TrafficProvider.ROUTER: RouterProvider(),
}
"""Providers hold no state, so one instance per provider serves every ModelRollout."""

_NO_TRAFFIC_MANAGEMENT = NopProvider()


def new_provider(provider: TrafficProvider | None) -> Provider:
    """The provider implementing `provider`; None asks for no traffic management (`NopProvider`),
    which the CRD does not offer (its enum lists only real providers) but tests and callers that
    route traffic themselves do. LookupError names the provider when none implements it (the CRD
    enum should have refused it already)."""
    if provider is None:
        return _NO_TRAFFIC_MANAGEMENT
    try:
        return _PROVIDERS[provider]
    except KeyError:
        raise LookupError(f"no traffic provider for {provider!r}") from None
