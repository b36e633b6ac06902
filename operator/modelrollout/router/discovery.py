"""The router's view of the cluster: its ConfigMap and the EndpointSlices of its namespace, kept
current by the project's informers (`k8s.Informer`), handed to the `RouterService` on the event
loop's thread.

The informers run on threads of their own (the kubernetes client blocks); each change schedules
one update on the loop, and changes that arrive while one is pending are folded into it, so a
burst of EndpointSlice events costs one rebuild of the snapshot.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ..k8s import Informer, InformerTiming, ObjectStore, WatchSources
from .endpoints import SERVICE_LABEL
from .routing import service_of
from .service import RouterService


class Discovery:
    def __init__(
        self,
        service: RouterService,
        sources: WatchSources,
        loop: asyncio.AbstractEventLoop,
        timing: InformerTiming | None = None,
    ) -> None:
        self.service = service
        self.namespace = service.settings.namespace
        self.name = service.settings.config_map
        self.loop = loop
        self.config_maps = ObjectStore("ConfigMap")
        self.slices = ObjectStore("EndpointSlice")
        self.informers = [
            Informer(sources.watch_source("ConfigMap"), self.config_maps, self.namespace, None, timing),
            Informer(
                sources.watch_source("EndpointSlice"), self.slices, self.namespace, SERVICE_LABEL, timing
            ),
        ]
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self.config_maps.listen(self._config_map_event)
        self.slices.listen(lambda event, obj: self._schedule("slices"))

    def _config_map_event(self, event: str, obj: dict[str, Any]) -> None:
        if (obj.get("metadata") or {}).get("name") == self.name:
            self._schedule("config")

    def _schedule(self, what: str) -> None:
        with self._lock:
            first = not self._pending
            self._pending.add(what)
        if first:
            self.loop.call_soon_threadsafe(self._apply)

    def _apply(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, set()
        if "slices" in pending:
            by_service: dict[str, list[dict[str, Any]]] = {}
            for endpoint_slice in self.slices.in_namespace(self.namespace):
                service = service_of(endpoint_slice)
                if service is not None:
                    by_service.setdefault(service, []).append(endpoint_slice)
            self.service.slices_changed(by_service)
        if "config" in pending:
            config_map = self.config_maps.get(self.namespace, self.name)
            if config_map is None and self.service.config is None:
                self.service.config_error = f"ConfigMap {self.namespace}/{self.name} not found"
            self.service.config_map_changed(config_map)

    def start(self) -> None:
        for informer in self.informers:
            informer.start()
        threading.Thread(target=self._after_first_list, name="router-discovery-sync", daemon=True).start()

    def _after_first_list(self) -> None:
        """Once both informers listed: apply what they found (a missing ConfigMap is reported)."""
        for informer in self.informers:
            informer.synced.wait()
        self._schedule("slices")
        self._schedule("config")

    def stop(self) -> None:
        for informer in self.informers:
            informer.stop(timeout=2.0)
