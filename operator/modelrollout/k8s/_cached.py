"""`CachedKubeClient`: the `KubeClient` a reconcile reads through, answering from watch caches.

The reads a reconcile makes on every tick (its ModelRollout, its Deployments, the Service its
spec names, the namespace's ModelRollouts) come from informers' stores once those are synced;
until then, and for anything no informer covers, they go to the apiserver as before. Every write
goes to the apiserver, and the object it returns is put into the cache (write-through), so a
reconcile reads its own writes even before their watch events arrive. The resourceVersions its
own writes to a ModelRollout produced are remembered (a few per rollout), so a watch event that
only reports one of them wakes nobody.

The route providers' reads (`get_object`) come from the Services informer (the version Services,
`spec.service`) and from `RouteCaches` (HTTPRoutes, VirtualServices, DestinationRules, the
router's ConfigMaps), whose informers start on the first read that finds the kind served; their
writes (`create_object`, `apply_object`, `delete_object`) update those caches from the answers.

A write refused because the ModelRollout moved on (409, or a failed JSON patch test, 422) marks
it: the next `get_rollout` of it reads the apiserver, so a reconcile retrying after a stale read
decides on the newest version even before the watch brings it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..api.v1alpha1 import KIND, LABEL_MODEL, LABEL_ROLLOUT
from ._informer import Informer, InformerTiming
from ._protocol import KubeClient, KubeError, NotFound, Obj, Secret
from ._route_cache import ObjectWatchSources, RouteCaches
from ._selectors import requirements
from ._store import Key, ObjectStore, resource_version
from ._watch import WatchSource

OWN_VERSIONS_KEPT = 4
"""How many of its own writes' resourceVersions are remembered per ModelRollout: one reconcile
writes it at most a few times before its watch events arrive."""

DEPLOYMENT_SELECTOR = LABEL_ROLLOUT
"""Only the operator's Deployments are watched (they all carry the rollout label); a LIST whose
selector requires that label is answered from the cache."""

ChangeListener = Callable[[str, str, Obj], None]
"""(kind, event type, object): a change a watch brought (never one's own write's answer)."""


class WatchSources(Protocol):
    """A client that can also LIST and WATCH a kind (`ApiKubeClient`, `FakeKubeClient`)."""

    def watch_source(self, kind: str) -> WatchSource: ...


class CacheSources(WatchSources, ObjectWatchSources, Protocol):
    """What the caches are fed by: the typed watches, and any kind's by apiVersion."""


def _label(key: str) -> Callable[[Obj], Iterable[str]]:
    def values(obj: Obj) -> Iterable[str]:
        value = (obj["metadata"].get("labels") or {}).get(key)
        return () if value is None else (str(value),)

    return values


def _spec_field(name: str) -> Callable[[Obj], Iterable[str]]:
    def values(obj: Obj) -> Iterable[str]:
        value = (obj.get("spec") or {}).get(name)
        return (str(value),) if isinstance(value, str) else ()

    return values


def _upstream_models(obj: Obj) -> Iterable[str]:
    depends = (obj.get("spec") or {}).get("dependsOn") or []
    return tuple(str(d["model"]) for d in depends if isinstance(d, dict) and isinstance(d.get("model"), str))


def _route_value(kind: str, name: str) -> str:
    """A route object's value in the index "route": `<kind>/<name>`."""
    return f"{kind}/{name}"


NAMED_ROUTES = {
    "HTTPRoute": ("gatewayAPI", "httpRoute"),
    "VirtualService": ("istio", "virtualService"),
    "DestinationRule": ("istio", "destinationRule"),
}
"""Where under `spec.strategy.traffic` a rollout names a route object of each kind."""


def _named_routes(obj: Obj) -> Iterable[str]:
    traffic = ((obj.get("spec") or {}).get("strategy") or {}).get("traffic") or {}
    names = ((kind, (traffic.get(block) or {}).get(field)) for kind, (block, field) in NAMED_ROUTES.items())
    return tuple(_route_value(kind, name) for kind, name in names if isinstance(name, str))


ROLLOUT_INDEXES = {
    "model": _spec_field("model"),
    "service": _spec_field("service"),
    "upstream": _upstream_models,
    "route": _named_routes,
}
"""ModelRollouts by `spec.model`, by `spec.service`, by each model their `dependsOn` names, and
by each route object `spec.strategy.traffic` names (as `<kind>/<name>`: an HTTPRoute, a
VirtualService, a DestinationRule). The objects a provider creates (version Services, the
DestinationRule by default, the router's ConfigMap) carry the rollout's label instead."""
DEPLOYMENT_INDEXES = {LABEL_ROLLOUT: _label(LABEL_ROLLOUT), LABEL_MODEL: _label(LABEL_MODEL)}


def _of_kind(kind: str, listener: ChangeListener) -> Callable[[str, Obj], None]:
    return lambda event, obj: listener(kind, event, obj)


class CachedKubeClient:
    """A `KubeClient` over `client`, reading from informers of `namespaces` (every namespace when
    empty) fed by `sources`. `start` them before the first reconcile; until they are synced every
    read goes to the apiserver."""

    def __init__(
        self,
        client: KubeClient,
        sources: CacheSources,
        namespaces: Sequence[str] = (),
        timing: InformerTiming | None = None,
    ) -> None:
        self._client = client
        self.rollouts = ObjectStore(KIND, ROLLOUT_INDEXES)
        self.deployments = ObjectStore("Deployment", DEPLOYMENT_INDEXES)
        self.services = ObjectStore("Service")
        self.informers: dict[tuple[str, str | None], Informer] = {}
        for store, selector in (
            (self.rollouts, None),
            (self.deployments, DEPLOYMENT_SELECTOR),
            (self.services, None),
        ):
            scopes: list[str | None] = [*namespaces] or [None]
            for namespace in scopes:
                informer = Informer(sources.watch_source(store.kind), store, namespace, selector, timing)
                self.informers[(store.kind, namespace)] = informer
        self.routes = RouteCaches(sources, namespaces, timing)
        self._lock = threading.Lock()
        self._own_versions: dict[Key, deque[str]] = {}
        self._stale: set[Key] = set()
        self.rollouts.listen(self._rollout_changed)

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start every informer's thread; returns at once (reads go to the apiserver until synced)."""
        for informer in self.informers.values():
            informer.start()
        self.routes.start()

    def stop(self) -> None:
        for informer in self.informers.values():
            informer.stop()
        self.routes.stop()

    def wait_synced(self, timeout: float) -> bool:
        """Whether every informer has listed, waiting up to `timeout` seconds in all."""
        deadline = time.monotonic() + timeout
        return all(i.synced.wait(max(0.0, deadline - time.monotonic())) for i in self.informers.values())

    def on_change(self, listener: ChangeListener) -> None:
        """Call `listener(kind, event, object)` on every change a watch brings (the route kinds'
        too), from the informers' threads (so it must be quick and thread-safe). A write's answer
        is stored without telling, so the watch event of the version it returned, arriving
        after it, tells nobody either."""
        for store in (self.rollouts, self.deployments, self.services, *self.routes.stores.values()):
            store.listen(_of_kind(store.kind, listener))

    def synced(self, kind: str, namespace: str) -> bool:
        informer = self.informers.get((kind, namespace)) or self.informers.get((kind, None))
        return informer is not None and informer.synced.is_set()

    # -- own writes ---------------------------------------------------------------------------------
    def is_own_write(self, namespace: str, name: str, version: str) -> bool:
        """Whether ModelRollout `namespace/name` at `version` is what one of our writes made."""
        with self._lock:
            return version in self._own_versions.get((namespace, name), ())

    def forget_rollout(self, namespace: str, name: str) -> None:
        """Drop what is remembered for a ModelRollout (its own writes, a stale mark)."""
        with self._lock:
            self._own_versions.pop((namespace, name), None)
            self._stale.discard((namespace, name))

    def _rollout_changed(self, event: str, obj: Obj) -> None:
        if event == "DELETED":
            meta = obj["metadata"]
            self.forget_rollout(str(meta.get("namespace") or ""), str(meta["name"]))

    def _wrote_rollout(self, namespace: str, name: str, write: Callable[[], Obj]) -> Obj:
        try:
            written = write()
        except KubeError as error:
            if error.status in (409, 422):
                with self._lock:
                    self._stale.add((namespace, name))
            raise
        version = resource_version(written)
        if version:
            with self._lock:
                own = self._own_versions.setdefault((namespace, name), deque(maxlen=OWN_VERSIONS_KEPT))
                own.append(version)
            self.rollouts.put(written)
        return written

    # -- ModelRollouts ------------------------------------------------------------------------------
    def get_rollout(self, namespace: str, name: str) -> Obj:
        with self._lock:
            stale = (namespace, name) in self._stale
        if not stale and self.synced(KIND, namespace):
            cached = self.rollouts.get(namespace, name)
            if cached is not None:
                return cached
        return self.read_fresh_rollout(namespace, name)

    def read_fresh_rollout(self, namespace: str, name: str) -> Obj:
        """The ModelRollout as the apiserver has it now (a GET), also put into the cache."""
        fresh = self._client.get_rollout(namespace, name)
        with self._lock:
            self._stale.discard((namespace, name))
        self.rollouts.put(fresh)
        return fresh

    def list_rollouts(
        self, namespace: str, model: str | None = None, excluding: str | None = None
    ) -> list[Obj]:
        """From the cache (each decoded for the caller). With `model`, from the index by
        `spec.model`, which decodes only those: a scan of the namespace costs one decode per
        rollout, so a reconcile asks by model, leaving itself out (`excluding`): alone with its
        model, as nearly every rollout is, it decodes nothing."""
        if self.synced(KIND, namespace):
            if model is not None:
                return self.rollouts.indexed("model", namespace, model, excluding=excluding)
            return [r for r in self.rollouts.in_namespace(namespace) if r["metadata"]["name"] != excluding]
        return self._client.list_rollouts(namespace, model, excluding)

    def rollout_names(self, index: str, namespace: str, value: str) -> list[str]:
        """Names of the cached ModelRollouts of `namespace` under `value` in one of
        `ROLLOUT_INDEXES` ("model", "service", "upstream", "route")."""
        return self.rollouts.names(index, namespace, value)

    def rollouts_naming(self, kind: str, namespace: str, name: str) -> list[str]:
        """Names of the cached ModelRollouts whose `spec.strategy.traffic` names route object
        `kind`/`name` of `namespace` (`NAMED_ROUTES`); none for any other kind."""
        if kind not in NAMED_ROUTES:
            return []
        return self.rollouts.names("route", namespace, _route_value(kind, name))

    def patch_rollout_status(
        self, namespace: str, name: str, status: Obj, resource_version: str | None = None
    ) -> Obj:
        return self._wrote_rollout(
            namespace,
            name,
            lambda: self._client.patch_rollout_status(namespace, name, status, resource_version),
        )

    def patch_rollout(self, namespace: str, name: str, patch: Obj) -> Obj:
        return self._wrote_rollout(
            namespace, name, lambda: self._client.patch_rollout(namespace, name, patch)
        )

    def patch_rollout_json(self, namespace: str, name: str, operations: list[Obj]) -> Obj:
        return self._wrote_rollout(
            namespace, name, lambda: self._client.patch_rollout_json(namespace, name, operations)
        )

    # -- Deployments ----------------------------------------------------------------------------------
    def list_deployments(self, namespace: str, label_selector: str) -> list[Obj]:
        wanted = requirements(label_selector)
        mine = [r for r in wanted if r.key == LABEL_ROLLOUT and r.operator in ("=", "exists")]
        if not mine or not self.synced("Deployment", namespace):
            return self._client.list_deployments(namespace, label_selector)
        if mine[0].operator == "=":
            found = self.deployments.indexed(LABEL_ROLLOUT, namespace, mine[0].value)
        else:
            found = self.deployments.in_namespace(namespace)
        return [d for d in found if all(r.holds(d["metadata"].get("labels") or {}) for r in wanted)]

    def create_deployment(self, namespace: str, body: Obj, dry_run: bool = False) -> Obj:
        created = self._client.create_deployment(namespace, body, dry_run)
        if not dry_run:
            self.deployments.put(created)
        return created

    def patch_deployment(self, namespace: str, name: str, patch: Obj) -> Obj:
        patched = self._client.patch_deployment(namespace, name, patch)
        self.deployments.put(patched)
        return patched

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        """The scale subresource returns no Deployment: the cached one gets the new replicas (its
        watch event, which follows, wakes the rollout to see the pods come and go)."""
        self._client.scale_deployment(namespace, name, replicas)
        self.deployments.amend(
            namespace,
            name,
            lambda cached: {**cached, "spec": {**(cached.get("spec") or {}), "replicas": replicas}},
        )

    def delete_deployment(self, namespace: str, name: str) -> None:
        self._client.delete_deployment(namespace, name)
        cached = self.deployments.get(namespace, name)
        if cached is not None:
            self.deployments.remove(cached, event=None)

    # -- Services -------------------------------------------------------------------------------------
    def service_exists(self, namespace: str, name: str) -> bool:
        if self.synced("Service", namespace):
            return self.services.version(namespace, name) is not None
        return self._client.service_exists(namespace, name)

    # -- objects by apiVersion: what the route providers read and write ------------------------------
    def get_object(self, api_version: str, kind: str, namespace: str, name: str) -> Obj:
        """From the Services cache or a route cache once listed; else from the apiserver, which
        also shows whether the kind is served (`KindNotServed` starts no watch)."""
        if (api_version, kind) == ("v1", "Service") and self.synced("Service", namespace):
            return _found(self.services.get(namespace, name), api_version, kind, name)
        store = self.routes.serving(api_version, kind, namespace)
        if store is not None:
            cached = store.get(namespace, name)
            if cached is not None or self.routes.complete(api_version, kind):
                return _found(cached, api_version, kind, name)
        try:
            found = self._client.get_object(api_version, kind, namespace, name)
        except NotFound:
            self.routes.want(api_version, kind, namespace)
            raise
        self.routes.want(api_version, kind, namespace)  # its watch, not this GET, feeds the cache
        return found

    def create_object(self, body: Obj) -> Obj:
        created = self._client.create_object(body)
        self._wrote_object(created)
        return created

    def apply_object(self, body: Obj, field_manager: str, dry_run: bool = False) -> Obj:
        applied = self._client.apply_object(body, field_manager, dry_run)
        if not dry_run:
            self._wrote_object(applied)
        return applied

    def delete_object(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        self._client.delete_object(api_version, kind, namespace, name)
        self.routes.deleted(api_version, kind, namespace, name)

    def _wrote_object(self, obj: Obj) -> None:
        if (obj.get("apiVersion"), obj.get("kind")) == ("v1", "Service"):
            self.services.put(obj)
        else:
            self.routes.wrote(obj)

    # -- everything else goes to the apiserver --------------------------------------------------------
    def get_lease(self, namespace: str, name: str, timeout: float | None = None) -> Obj:
        return self._client.get_lease(namespace, name, timeout)

    def create_lease(self, namespace: str, body: Obj, timeout: float | None = None) -> Obj:
        return self._client.create_lease(namespace, body, timeout)

    def replace_lease(self, namespace: str, name: str, body: Obj, timeout: float | None = None) -> Obj:
        return self._client.replace_lease(namespace, name, body, timeout)

    def read_secret(self, namespace: str, name: str) -> Secret:
        return self._client.read_secret(namespace, name)

    def patch_event(self, namespace: str, name: str, patch: Obj) -> Obj:
        result: Obj = self._delegate("patch_event")(namespace, name, patch)
        return result

    def __getattr__(self, name: str) -> Any:
        """Any other `KubeClient` method (`create_event`, and those added later) goes to the
        apiserver unchanged."""
        return self._delegate(name)

    def _delegate(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        method: Callable[..., Any] = getattr(self.__dict__["_client"], name)
        return method


def _found(cached: Obj | None, api_version: str, kind: str, name: str) -> Obj:
    """A cached object as the apiserver's GET gives it (a LIST's items carry no kind or
    apiVersion), or the apiserver's NotFound."""
    if cached is None:
        raise NotFound(404, "NotFound", f'{kind.lower()}s "{name}" not found')
    cached.setdefault("apiVersion", api_version)
    cached.setdefault("kind", kind)
    return cached


if TYPE_CHECKING:

    def _satisfies_the_protocol(cached: CachedKubeClient) -> KubeClient:
        return cached
