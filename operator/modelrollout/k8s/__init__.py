"""Thin typed wrappers over the kubernetes client: the one seam unit tests replace.

Everything crosses this boundary as plain dicts (the JSON the apiserver speaks), so the layers
above never see kubernetes model classes.
"""

from ._client import KubeClient, KubeError, NotFound, kubeconfig_client, with_conflict_retry
from ._objects import deployment_state, owner_reference

__all__ = [
    "KubeClient",
    "KubeError",
    "NotFound",
    "deployment_state",
    "kubeconfig_client",
    "owner_reference",
    "with_conflict_retry",
]
