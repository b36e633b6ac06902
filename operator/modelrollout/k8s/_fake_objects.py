"""`FakeKubeClient`'s objects of any kind (the traffic providers' route objects): a server-side
apply that sets the fields the body names and keeps every other field (the atomic lists the
providers send are replaced whole, as the apiserver does), and kinds that are not served until a
test says so, as in a cluster without the Gateway API or Istio CRDs."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

from ._fake_rules import merge
from ._fake_watch import FakeWatchSource, WatchLog
from ._protocol import KindNotServed, NotFound, Obj

ALWAYS_SERVED = frozenset({"Service", "Deployment", "Secret", "Event", "Lease", "ConfigMap"})


class FakeObjects:
    """Mixed into `FakeKubeClient`, whose store and recording it uses."""

    _store: dict[tuple[str, str, str], Obj]
    served_kinds: set[str]
    """Kinds beyond the built-in ones the fake apiserver serves (a test installs "CRDs" here)."""
    _record: Callable[..., None]
    add: Callable[[Obj], Obj]
    _store_write: Callable[[tuple[str, str, str], Obj, Obj], Obj]
    _forget: Callable[[tuple[str, str, str]], None]
    watches: WatchLog

    def object_watch_source(self, api_version: str, kind: str) -> ServedWatchSource:
        """LIST and WATCH of any kind (`ApiKubeClient.object_watch_source`): `KindNotServed` (a
        404) while the kind is not served, as the apiserver answers once its CRD is deleted."""
        return ServedWatchSource(self.watches.source(kind), lambda: self._served(api_version, kind))

    def get_object(self, api_version: str, kind: str, namespace: str, name: str) -> Obj:
        self._record("get_object", api_version=api_version, kind=kind, namespace=namespace, name=name)
        self._served(api_version, kind)
        found = self._store.get((kind, namespace, name))
        if found is None:
            raise NotFound(404, "NotFound", f'{kind.lower()}s "{name}" not found')
        return copy.deepcopy(found)

    def create_object(self, body: Obj) -> Obj:
        self._record("create_object", body=body)
        self._served(body["apiVersion"], body["kind"])
        return self.add(copy.deepcopy(body))

    def apply_object(self, body: Obj, field_manager: str, dry_run: bool = False) -> Obj:
        self._record("apply_object", body=body, field_manager=field_manager, dry_run=dry_run)
        self._served(body["apiVersion"], body["kind"])
        metadata = body["metadata"]
        key = (body["kind"], metadata["namespace"], metadata["name"])
        stored = self._store.get(key)
        if dry_run:
            return copy.deepcopy(body)
        if stored is None:
            return self.add(copy.deepcopy(body))
        updated = copy.deepcopy(stored)
        merge(updated, copy.deepcopy(body))
        return self._store_write(key, stored, updated)

    def delete_object(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        self._record("delete_object", api_version=api_version, kind=kind, namespace=namespace, name=name)
        self._served(api_version, kind)
        if (kind, namespace, name) in self._store:
            self._forget((kind, namespace, name))

    def _served(self, api_version: str, kind: str) -> None:
        if kind not in ALWAYS_SERVED and kind not in self.served_kinds:
            raise KindNotServed(api_version, kind)


class ServedWatchSource:
    """A `FakeWatchSource` whose LIST and WATCH first ask whether the kind is served."""

    def __init__(self, source: FakeWatchSource, served: Callable[[], None]) -> None:
        self._source = source
        self._served = served

    def list(self, namespace: str | None, label_selector: str | None) -> tuple[list[Obj], str]:
        self._served()
        return self._source.list(namespace, label_selector)

    def watch(
        self, namespace: str | None, label_selector: str | None, resource_version: str, timeout_seconds: float
    ) -> Iterator[Obj]:
        self._served()
        yield from self._source.watch(namespace, label_selector, resource_version, timeout_seconds)

    def close(self) -> None:
        self._source.close()
