"""Where a watch cache gets its objects: a LIST, then a WATCH from the list's resourceVersion.

`WatchSource` is the seam: `ApiWatchSource` speaks to the apiserver through the kubernetes client,
the in-memory apiserver has its own (`FakeKubeClient.watch_source`). Both hand over plain dicts.
The kubernetes client is asked for the raw response, not its model classes: deserialising every
event into models and back costs more CPU than everything else a cache does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from kubernetes import client as k8s

from ..api.v1alpha1 import GROUP, KIND, PLURAL, VERSION
from ._client import _call
from ._protocol import KindNotServed, Obj

WATCHED_KINDS = (KIND, "Deployment", "Service", "ConfigMap", "EndpointSlice")
"""What the operator reads from watches (ConfigMaps: the router provider's and the model router's;
EndpointSlices: the model router's). Route kinds by apiVersion: `ApiObjectWatchSource`."""


class WatchSource(Protocol):
    """One kind's LIST and WATCH; every failure is a `KubeError`."""

    def list(self, namespace: str | None, label_selector: str | None) -> tuple[list[Obj], str]:
        """Every object of the kind in `namespace` (all namespaces when None) and the list's
        resourceVersion, from which a watch continues."""
        ...

    def watch(
        self, namespace: str | None, label_selector: str | None, resource_version: str, timeout_seconds: float
    ) -> Iterator[Obj]:
        """Events after `resource_version` (`{"type": ..., "object": ...}`, BOOKMARKs included)
        until the server ends the watch (after about `timeout_seconds`) or `close` is called.
        A resourceVersion too old to watch from is an ERROR event with a 410 Status."""
        ...

    def close(self) -> None:
        """End a watch blocked waiting for the next event (the informer stops)."""
        ...


class ApiWatchSource:
    """`WatchSource` over the kubernetes client, for one of `WATCHED_KINDS`."""

    def __init__(self, api_client: Any, kind: str, request_timeout: float) -> None:
        if kind not in WATCHED_KINDS and not isinstance(self, ApiObjectWatchSource):
            raise ValueError(f"no watch for {kind!r}")
        self._kind = kind
        self._timeout = request_timeout
        self._apps = k8s.AppsV1Api(api_client)
        self._core = k8s.CoreV1Api(api_client)
        self._custom = k8s.CustomObjectsApi(api_client)
        self._discovery = k8s.DiscoveryV1Api(api_client)
        self._responses: set[Any] = set()
        self._lock = threading.Lock()

    def _lister(self, namespace: str | None) -> Callable[..., Any]:
        if self._kind == KIND:
            if namespace is None:
                return lambda **kw: self._custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kw)
            return lambda **kw: self._custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, **kw
            )
        if self._kind == "Deployment":
            if namespace is None:
                every: Callable[..., Any] = self._apps.list_deployment_for_all_namespaces
                return every
            return lambda **kw: self._apps.list_namespaced_deployment(namespace, **kw)
        if self._kind == "ConfigMap":
            if namespace is None:
                config_maps: Callable[..., Any] = self._core.list_config_map_for_all_namespaces
                return config_maps
            return lambda **kw: self._core.list_namespaced_config_map(namespace, **kw)
        if self._kind == "EndpointSlice":
            if namespace is None:
                slices: Callable[..., Any] = self._discovery.list_endpoint_slice_for_all_namespaces
                return slices
            return lambda **kw: self._discovery.list_namespaced_endpoint_slice(namespace, **kw)
        if namespace is None:
            services: Callable[..., Any] = self._core.list_service_for_all_namespaces
            return services
        return lambda **kw: self._core.list_namespaced_service(namespace, **kw)

    def list(self, namespace: str | None, label_selector: str | None) -> tuple[list[Obj], str]:
        selector = {"label_selector": label_selector} if label_selector else {}
        lister = self._lister(namespace)
        response = _call(lambda: lister(_preload_content=False, _request_timeout=self._timeout, **selector))
        body = json.loads(response.data)
        items: list[Obj] = body.get("items") or []
        kind = self._kind  # a list's items carry no kind or apiVersion
        for item in items:
            item.setdefault("kind", kind)
        return items, str(body["metadata"]["resourceVersion"])

    def watch(
        self, namespace: str | None, label_selector: str | None, resource_version: str, timeout_seconds: float
    ) -> Iterator[Obj]:
        selector = {"label_selector": label_selector} if label_selector else {}
        lister = self._lister(namespace)
        response = _call(
            lambda: lister(
                watch=True,
                allow_watch_bookmarks=True,
                resource_version=resource_version,
                timeout_seconds=int(timeout_seconds),
                _preload_content=False,
                # The read timeout outlasts the server's own end of the watch: a connection that
                # went silent is noticed, a quiet namespace is not mistaken for one.
                _request_timeout=(self._timeout, timeout_seconds + self._timeout),
                **selector,
            )
        )
        with self._lock:
            self._responses.add(response)
        try:
            for line in _lines(response):
                yield json.loads(line)
        finally:
            with self._lock:
                self._responses.discard(response)
            response.release_conn()

    def close(self) -> None:
        with self._lock:
            responses = list(self._responses)
        for response in responses:
            try:
                response.shutdown()  # unblocks the read in the informer's thread
            except OSError:
                pass  # the stream ended meanwhile and closed its socket: no read left to unblock


class ApiObjectWatchSource(ApiWatchSource):
    """`WatchSource` of a custom resource by apiVersion and kind (an HTTPRoute, a
    VirtualService): its plural is asked of API discovery at each LIST, so a kind whose CRDs are
    not installed is a `KindNotServed` (404) LIST and one installed later is found."""

    def __init__(
        self,
        api_client: Any,
        api_version: str,
        kind: str,
        request_timeout: float,
        plural: Callable[[str, str], str],
    ) -> None:
        super().__init__(api_client, kind, request_timeout)
        self._api_version = api_version
        self._group, _, self._version = api_version.rpartition("/")
        if not self._group:
            raise ValueError(f"{kind} ({api_version}) is a core kind: watch it with ApiWatchSource")
        self._plural_of = plural
        self._plural: str | None = None

    def list(self, namespace: str | None, label_selector: str | None) -> tuple[list[Obj], str]:
        self._plural = self._plural_of(self._api_version, self._kind)
        items, version = super().list(namespace, label_selector)
        for item in items:
            item.setdefault("apiVersion", self._api_version)
        return items, version

    def _lister(self, namespace: str | None) -> Callable[..., Any]:
        group, version, plural = self._group, self._version, self._plural
        if plural is None:
            raise KindNotServed(self._api_version, self._kind)
        if namespace is None:
            return lambda **kw: self._custom.list_cluster_custom_object(group, version, plural, **kw)
        return lambda **kw: self._custom.list_namespaced_custom_object(
            group, version, namespace, plural, **kw
        )


def _lines(response: Any) -> Iterator[bytes]:
    """The stream's newline-delimited JSON documents, as they arrive (one event may span chunks).
    A broken or timed-out stream is a `KubeError`, as every other failure."""
    pending = b""
    chunks = response.stream(amt=None, decode_content=False)
    while True:
        chunk = _call(lambda: next(chunks, None))
        if chunk is None:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line.strip())
    if pending.strip():
        yield pending
