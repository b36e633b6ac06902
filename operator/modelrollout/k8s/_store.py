"""The objects one kind's watches have delivered: what the watch caches answer reads from.

Each object is held as its compact JSON text, compressed, not as Python dicts: the dicts of a
ModelRollout, its two Deployments and its Service took 53 KB per rollout, their text 14 KB and
compressed 5 KB (zlib's fastest level: about 20 us more per read than the text alone). A read decodes what it asked for, so every reader gets an object of its own
(decoding costs about what the copy a reader needed anyway did), and nothing a reader does to it
can change the store. The values the indexes need are taken at the write. Which of two versions of an object is newer is decided by resourceVersion,
compared as integers (the apiserver's are etcd revisions; Kubernetes calls them opaque, so when
one does not parse the incoming one is taken). A write's answer and a watch event race, and a
deletion leaves a tombstone, so neither an event older than what a write returned nor one
delivered late after the deletion brings an old state back.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._protocol import Obj

Key = tuple[str, str]
"""(namespace, name)."""
Indexer = Callable[[Obj], Iterable[str]]
"""The values an object is found under in one index (within its namespace)."""
Listener = Callable[[str, Obj], None]
"""Told each change a watch (or a relist) brought: the event type and the object as stored
(for DELETED, the last state)."""

TOMBSTONE_SECONDS = 60.0
"""How long a deletion is remembered: longer than a write's answer can trail its watch event."""


def newer(incoming: object, current: object) -> bool:
    """Whether resourceVersion `incoming` is later than `current`."""
    try:
        return int(str(incoming)) > int(str(current))
    except ValueError:
        return incoming != current


def resource_version(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _encode(obj: Obj) -> bytes:
    return zlib.compress(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode(), 1)


def _decode(data: bytes) -> Obj:
    decoded: Obj = json.loads(zlib.decompress(data))
    return decoded


class _Entry:
    """One stored object: its resourceVersion, its compressed text, and what it is indexed under."""

    __slots__ = ("data", "indexed", "version")

    def __init__(self, version: str, data: bytes, indexed: tuple[tuple[str, str], ...]) -> None:
        self.version = version
        self.data = data
        self.indexed = indexed


def plain_copy(value: Any) -> Any:
    """A deep copy of JSON data, several times faster than `copy.deepcopy` on it."""
    if isinstance(value, dict):
        return {key: plain_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_copy(item) for item in value]
    return value


def _slim(obj: Obj) -> Obj:
    """The object without `metadata.managedFields`: often half its size, and nothing reads it."""
    metadata = obj.get("metadata") or {}
    if "managedFields" not in metadata:
        return obj
    return {**obj, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}


class ObjectStore:
    """One kind's objects by namespace and name, with indexes: a lookup costs what it finds, not
    what the store holds. Thread-safe; listeners are called outside the lock."""

    def __init__(self, kind: str, indexers: Mapping[str, Indexer] | None = None) -> None:
        self.kind = kind
        self._indexers = dict(indexers or {})
        self._lock = threading.RLock()
        self._objects: dict[Key, _Entry] = {}
        self._by_namespace: dict[str, set[str]] = {}
        self._indexes: dict[str, dict[Key, set[str]]] = {index: {} for index in self._indexers}
        self._tombstones: dict[Key, tuple[str, float]] = {}
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # -- reading (each call decodes: the caller owns what it gets) ------------------------------------
    def get(self, namespace: str, name: str) -> Obj | None:
        with self._lock:
            entry = self._objects.get((namespace, name))
        return None if entry is None else _decode(entry.data)

    def version(self, namespace: str, name: str) -> str | None:
        """The stored object's resourceVersion, None when there is none (nothing decoded)."""
        with self._lock:
            entry = self._objects.get((namespace, name))
        return None if entry is None else entry.version

    def in_namespace(self, namespace: str) -> list[Obj]:
        with self._lock:
            names = sorted(self._by_namespace.get(namespace, ()))
            found = [self._objects[(namespace, name)].data for name in names]
        return [_decode(data) for data in found]

    def indexed(self, index: str, namespace: str, value: str, excluding: str | None = None) -> list[Obj]:
        with self._lock:
            names = sorted(self._indexes[index].get((namespace, value), set()) - {excluding})
            found = [self._objects[(namespace, name)].data for name in names]
        return [_decode(data) for data in found]

    def names(self, index: str, namespace: str, value: str) -> list[str]:
        """The names stored under `value` in `index` (nothing decoded)."""
        with self._lock:
            return sorted(self._indexes[index].get((namespace, value), ()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._objects)

    def tombstones(self) -> int:
        with self._lock:
            return len(self._tombstones)

    # -- changing ----------------------------------------------------------------------------------
    def put(self, obj: Obj, event: str | None = None) -> bool:
        """Store `obj` unless what is stored (or a tombstone) is as new; tell the listeners with
        `event` as the type (a write's answer passes None: nobody is told of one's own write).
        True when stored."""
        with self._lock:
            stored = self._put(obj)
        if stored and event is not None:
            self._tell(event, stored)
        return stored is not None

    def amend(self, namespace: str, name: str, change: Callable[[Obj], Obj]) -> bool:
        """Replace the stored object by `change(object)`, keeping its version and indexes: what a
        write that returns no object (a scale) is known to have changed, until its watch event
        brings the object. False when nothing is stored."""
        key = (namespace, name)
        with self._lock:
            entry = self._objects.get(key)
            if entry is None:
                return False
            amended = change(_decode(entry.data))
            self._objects[key] = _Entry(entry.version, _encode(amended), entry.indexed)
            return True

    def remove(self, obj: Obj, event: str | None = "DELETED") -> bool:
        """Forget `obj` unless a newer version is stored; remember the deletion for a while."""
        meta = obj["metadata"]
        key = (str(meta.get("namespace") or ""), str(meta["name"]))
        with self._lock:
            removed = self._remove(key, resource_version(obj))
        if removed is not None and event is not None:
            self._tell(event, removed)
        return removed is not None

    def replace(self, items: Iterable[Obj], list_version: str, namespace: str | None) -> None:
        """A relist of `namespace` (every namespace when None) at `list_version`: what it returned
        is stored (newer wins), and what it did not return is forgotten unless a write stored it
        after the list's snapshot. Listeners hear each difference."""
        changes: list[tuple[str, Obj]] = []
        with self._lock:
            seen: set[Key] = set()
            for item in items:
                meta = item["metadata"]
                key = (str(meta.get("namespace") or ""), str(meta["name"]))
                seen.add(key)
                existed = key in self._objects
                stored = self._put(item)
                if stored is not None:
                    changes.append(("MODIFIED" if existed else "ADDED", stored))
            for key in [k for k in self._objects if namespace in (None, k[0]) and k not in seen]:
                if not newer(self._objects[key].version, list_version):
                    removed = self._remove(key, list_version)
                    if removed is not None:
                        changes.append(("DELETED", removed))
        for event, obj in changes:
            self._tell(event, obj)

    def clear(self, namespace: str | None) -> None:
        """Forget every object of `namespace` (every namespace when None), telling nobody: the
        kind is no longer served, so nothing of it is known any more (no tombstones either)."""
        with self._lock:
            for key in [k for k in self._objects if namespace in (None, k[0])]:
                self._unindex(key)
                del self._objects[key]
            for key in [k for k in self._tombstones if namespace in (None, k[0])]:
                del self._tombstones[key]

    def _put(self, obj: Obj) -> Obj | None:
        meta = obj["metadata"]
        key = (str(meta.get("namespace") or ""), str(meta["name"]))
        version = resource_version(obj)
        current = self._objects.get(key)
        if current is not None and not newer(version, current.version):
            return None
        tombstone = self._tombstones.get(key)
        if tombstone is not None:
            if not newer(version, tombstone[0]):
                return None
            del self._tombstones[key]
        stored = _slim(obj)
        indexed = tuple(
            (index, value) for index, values in self._indexers.items() for value in values(stored)
        )
        self._unindex(key)
        self._objects[key] = _Entry(version, _encode(stored), indexed)
        self._by_namespace.setdefault(key[0], set()).add(key[1])
        for index, value in indexed:
            self._indexes[index].setdefault((key[0], value), set()).add(key[1])
        return stored

    def _remove(self, key: Key, version: str) -> Obj | None:
        current = self._objects.get(key)
        if current is not None and version and newer(current.version, version):
            return None
        now = time.monotonic()
        for old in [k for k, (_, at) in self._tombstones.items() if now - at > TOMBSTONE_SECONDS]:
            del self._tombstones[old]
        latest = version if current is None or newer(version, current.version) else None
        self._tombstones[key] = (latest or (current.version if current else ""), now)
        if current is None:
            return None
        self._unindex(key)
        del self._objects[key]
        return _decode(current.data)

    def _unindex(self, key: Key) -> None:
        current = self._objects.get(key)
        if current is None:
            return
        names = self._by_namespace.get(key[0])
        if names is not None:
            names.discard(key[1])
            if not names:
                del self._by_namespace[key[0]]
        for index, value in current.indexed:
            holders = self._indexes[index].get((key[0], value))
            if holders is not None:
                holders.discard(key[1])
                if not holders:
                    del self._indexes[index][(key[0], value)]

    def _tell(self, event: str, obj: Obj) -> None:
        for listener in self._listeners:
            listener(event, obj)
