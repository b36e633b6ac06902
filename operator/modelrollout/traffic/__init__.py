"""Traffic providers: how a ModelRollout's weights become replicas and routes."""

from ._routes import route_patch
from .factory import new_provider
from .gateway_api import GatewayAPIProvider
from .istio import IstioProvider
from .nop import NopProvider
from .provider import (
    FIELD_MANAGER,
    Provider,
    RouteClient,
    RouteTarget,
    RouteUnavailable,
    Routing,
    apportion,
    as_routing,
    check_weights,
    replica_share,
    rounded_up_plan,
)
from .replicas import ReplicaProvider
from .router import RouterProvider

__all__ = [
    "FIELD_MANAGER",
    "GatewayAPIProvider",
    "IstioProvider",
    "NopProvider",
    "Provider",
    "ReplicaProvider",
    "RouteClient",
    "RouteTarget",
    "RouteUnavailable",
    "RouterProvider",
    "Routing",
    "apportion",
    "as_routing",
    "check_weights",
    "new_provider",
    "replica_share",
    "rounded_up_plan",
    "route_patch",
]
