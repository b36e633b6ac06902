"""The model router: one small async HTTP service per model, in front of its versions' pods.

It does what a mesh cannot (sticky splits monotone in the weight, shadow comparison, interleaving,
bandits) from a ConfigMap (`modelrollout.api.router_config`) and the versions' EndpointSlices,
and exports `modelrollout_router_*` series that the analysis reads with `provider: router`.
It depends on `api` and `k8s` only, never on the controller.
"""

from .server import RouterServer
from .settings import RouterSettings

__all__ = ["RouterServer", "RouterSettings"]
