"""Traffic providers: how a ModelRollout's weights become replicas and routes."""

from .factory import new_provider
from .nop import NopProvider
from .provider import Provider, RouteClient, RouteTarget, apportion, check_weights, replica_share
from .replicas import ReplicaProvider

__all__ = [
    "NopProvider",
    "Provider",
    "ReplicaProvider",
    "RouteClient",
    "RouteTarget",
    "apportion",
    "check_weights",
    "new_provider",
    "replica_share",
]
