"""Thin typed wrappers over the kubernetes client: the one seam unit tests replace.

Everything crosses this boundary as plain dicts (the JSON the apiserver speaks), so the layers
above never see kubernetes model classes. `KubeClient` is the Protocol the operator codes
against; `kubeconfig_client()` returns the real one, `FakeKubeClient` is the in-memory one, and
`CachedKubeClient` wraps either, answering the reconcile's reads from watch-fed informers.
"""

from ._cached import CachedKubeClient, ChangeListener, WatchSources
from ._client import ApiKubeClient, kubeconfig_client
from ._informer import Informer, InformerTiming
from ._objects import deployment_state, owner_reference
from ._protocol import KindNotServed, KubeClient, KubeError, NotFound, Secret, with_conflict_retry
from ._selectors import canonical as canonical_selector
from ._selectors import selector as label_selector
from ._store import ObjectStore
from ._watch import ApiWatchSource, WatchSource
from .fake import FakeKubeClient, KubeCall

__all__ = [
    "ApiKubeClient",
    "ApiWatchSource",
    "CachedKubeClient",
    "ChangeListener",
    "FakeKubeClient",
    "Informer",
    "InformerTiming",
    "KindNotServed",
    "KubeCall",
    "KubeClient",
    "KubeError",
    "NotFound",
    "ObjectStore",
    "Secret",
    "WatchSource",
    "WatchSources",
    "canonical_selector",
    "deployment_state",
    "kubeconfig_client",
    "label_selector",
    "owner_reference",
    "with_conflict_retry",
]
