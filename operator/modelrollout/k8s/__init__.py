"""Thin typed wrappers over the kubernetes client: the one seam unit tests replace.

Everything crosses this boundary as plain dicts (the JSON the apiserver speaks), so the layers
above never see kubernetes model classes. `KubeClient` is the Protocol the operator codes
against; `kubeconfig_client()` returns the real one, `FakeKubeClient` is the in-memory one.
"""

from ._client import ApiKubeClient, kubeconfig_client
from ._objects import deployment_state, owner_reference
from ._protocol import KubeClient, KubeError, NotFound, Secret, with_conflict_retry
from .fake import FakeKubeClient, KubeCall

__all__ = [
    "ApiKubeClient",
    "FakeKubeClient",
    "KubeCall",
    "KubeClient",
    "KubeError",
    "NotFound",
    "Secret",
    "deployment_state",
    "kubeconfig_client",
    "owner_reference",
    "with_conflict_retry",
]
