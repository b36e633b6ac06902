"""Watch caches of the traffic providers' route objects, started when a reconcile first reads them.

A route provider reads its route object (an HTTPRoute, a VirtualService), its DestinationRule or
the router's ConfigMap on every reconcile. Those kinds are watched only in a namespace where some
rollout has read one (so an operator without route providers watches none of them), and only
once a read from the apiserver showed the kind is served: the Gateway API and Istio CRDs may be
missing, and then every read goes to the apiserver, which answers `KindNotServed` (the provider's
`TrafficAPINotFound` condition), and nothing watches or retries on its own. Installed later, the
next read finds the kind and starts its watch, without a restart. Deleted while watched, the
informer stops at its first 404 (`Informer.until_not_served`) and its objects are forgotten at
the next read, which asks the apiserver again.

Until an informer has listed, reads go to the apiserver. Writes put their answers into the cache
(newer resourceVersion wins, as in every `ObjectStore`), so the reconcile after a server-side
apply reads what it wrote, not the older state its watch event has yet to replace.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from ..api.v1alpha1 import LABEL_ROLLOUT
from ._informer import Informer, InformerTiming
from ._protocol import Obj
from ._store import ObjectStore
from ._watch import WatchSource

ROUTE_KINDS: dict[tuple[str, str], str | None] = {
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): None,
    ("networking.istio.io/v1", "VirtualService"): None,
    ("networking.istio.io/v1", "DestinationRule"): None,
    ("v1", "ConfigMap"): LABEL_ROLLOUT,
}
"""The kinds the providers read by apiVersion (`traffic/gateway_api.py`, `istio.py`,
`router.py`), and the label selector of their watch. ConfigMaps: only those carrying the rollout
label (every ConfigMap the router provider writes), not every ConfigMap of the namespace; one
without the label is read from the apiserver."""


class ObjectWatchSources(Protocol):
    """A client that can LIST and WATCH any kind by apiVersion (`ApiKubeClient`, `FakeKubeClient`)."""

    def object_watch_source(self, api_version: str, kind: str) -> WatchSource: ...


class RouteCaches:
    """One store per kind of `ROUTE_KINDS`, fed by informers made on demand (`want`), one per
    namespace of `namespaces` read, or one for every namespace when `namespaces` is empty."""

    def __init__(
        self, sources: ObjectWatchSources, namespaces: Sequence[str], timing: InformerTiming | None
    ) -> None:
        self._sources = sources
        self._namespaces = tuple(namespaces)
        self._timing = timing
        self.stores = {kind: ObjectStore(kind[1]) for kind in ROUTE_KINDS}
        self.informers: dict[tuple[str, str, str | None], Informer] = {}
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False

    def start(self) -> None:
        with self._lock:
            self._started = True
            waiting = list(self.informers.values())
        for informer in waiting:
            informer.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            running = list(self.informers.values())
        for informer in running:
            informer.stop()

    def store(self, api_version: str, kind: str) -> ObjectStore | None:
        """The store of a route kind (None for any other kind)."""
        return self.stores.get((api_version, kind))

    def complete(self, api_version: str, kind: str) -> bool:
        """Whether the watch holds every object of the kind (no label selector): a name it lacks
        does not exist."""
        return ROUTE_KINDS.get((api_version, kind), "") is None

    def serving(self, api_version: str, kind: str, namespace: str) -> ObjectStore | None:
        """The store, when an informer covering `namespace` has listed and still runs; an
        informer that found the kind gone is dropped with what it held (None: ask the apiserver)."""
        store = self.stores.get((api_version, kind))
        if store is None:
            return None
        key = self._key(api_version, kind, namespace)
        with self._lock:
            informer = self.informers.get(key)
            if informer is not None and informer.gone.is_set():
                del self.informers[key]
                store.clear(key[2])
                return None
        return store if informer is not None and informer.synced.is_set() else None

    def want(self, api_version: str, kind: str, namespace: str) -> None:
        """Watch the kind in `namespace` from now on: a read from the apiserver showed it served."""
        store = self.stores.get((api_version, kind))
        if store is None:
            return
        key = self._key(api_version, kind, namespace)
        with self._lock:
            if key in self.informers or self._stopped:
                return
            source = self._sources.object_watch_source(api_version, kind)
            selector = ROUTE_KINDS[(api_version, kind)]
            informer = Informer(source, store, key[2], selector, self._timing, until_not_served=True)
            self.informers[key] = informer
            start = self._started
        if start:
            informer.start()

    def wrote(self, obj: Obj) -> None:
        """A write's answer into its kind's store (newer wins; nobody is told)."""
        store = self.stores.get((str(obj.get("apiVersion")), str(obj.get("kind"))))
        if store is not None:
            store.put(obj)

    def deleted(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        store = self.stores.get((api_version, kind))
        cached = None if store is None else store.get(namespace, name)
        if store is not None and cached is not None:
            store.remove(cached, event=None)

    def _key(self, api_version: str, kind: str, namespace: str) -> tuple[str, str, str | None]:
        return (api_version, kind, namespace if self._namespaces else None)
