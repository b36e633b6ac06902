"""Traffic routers: how a ModelRollout's weights become replicas and routes."""

from .factory import router_for
from .nop import NopRouter
from .replicas import ReplicaRouter
from .router import RouteClient, RouteTarget, TrafficRouter, apportion, check_weights, replica_share

__all__ = [
    "NopRouter",
    "ReplicaRouter",
    "RouteClient",
    "RouteTarget",
    "TrafficRouter",
    "apportion",
    "check_weights",
    "replica_share",
    "router_for",
]
