"""Watches of the in-memory apiserver: every change the fake stores is also an event here, and
`FakeWatchSource` serves them as the apiserver does (a LIST with its resourceVersion, a WATCH of
what came after it, 410 Gone once those events were compacted away), so an informer runs against
the fake unchanged, on its own thread or driven step by step by a test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from ._protocol import Obj
from ._selectors import selector
from ._store import plain_copy


class WatchLog:
    """The fake's history of changes, and the state it leads to, behind one lock: the test's
    thread writes while informer threads read."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._events: list[tuple[int, str, Obj]] = []
        self._state: dict[tuple[str, str, str], Obj] = {}
        self._latest = 0
        self._compacted = 0

    def record(self, event: str, obj: Obj) -> None:
        """`obj` (its resourceVersion already the change's) was ADDED, MODIFIED or DELETED."""
        copied = plain_copy(obj)
        meta = copied["metadata"]
        key = (copied["kind"], str(meta.get("namespace") or ""), str(meta["name"]))
        with self._condition:
            version = int(meta["resourceVersion"])
            self._latest = max(self._latest, version)
            self._events.append((version, event, copied))
            if event == "DELETED":
                self._state.pop(key, None)
            else:
                self._state[key] = copied
            self._condition.notify_all()

    def compact(self) -> None:
        """Forget every event so far, as etcd compaction does: a watch from before now is 410."""
        with self._condition:
            self._events.clear()
            self._compacted = self._latest

    def bookmark(self, version: int) -> None:
        """A BOOKMARK event at `version` for every watch (the apiserver sends them on its own)."""
        with self._condition:
            self._events.append((version, "BOOKMARK", {"metadata": {"resourceVersion": str(version)}}))
            self._condition.notify_all()

    def source(self, kind: str) -> FakeWatchSource:
        return FakeWatchSource(self, kind)

    def snapshot(self, kind: str, namespace: str | None, label_selector: str | None) -> tuple[list[Obj], str]:
        selects = selector(label_selector or "")
        with self._condition:
            found = [
                plain_copy(obj)
                for (stored_kind, stored_namespace, _), obj in sorted(self._state.items())
                if stored_kind == kind
                and namespace in (None, stored_namespace)
                and selects(obj["metadata"].get("labels") or {})
            ]
            return found, str(self._latest)

    def after(
        self,
        kind: str,
        namespace: str | None,
        label_selector: str | None,
        version: int,
        wait: float,
        closed: threading.Event,
    ) -> tuple[list[tuple[int, str, Obj]], bool]:
        """The events of `kind` after `version`, waiting up to `wait` seconds for one (or until
        `closed`); True when `version` was compacted away."""
        selects = selector(label_selector or "")
        deadline = time.monotonic() + wait
        with self._condition:
            while True:
                if version < self._compacted:
                    return [], True
                found = [
                    (at, event, plain_copy(obj))
                    for at, event, obj in self._events
                    if at > version
                    and (
                        event == "BOOKMARK"
                        or (
                            obj["kind"] == kind
                            and namespace in (None, obj["metadata"].get("namespace"))
                            and selects(obj["metadata"].get("labels") or {})
                        )
                    )
                ]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0 or closed.is_set():
                    return found, False
                self._condition.wait(remaining)

    def wake_watches(self) -> None:
        with self._condition:
            self._condition.notify_all()


class FakeWatchSource:
    """`WatchSource` of one kind over a `WatchLog`. A watch returns once it delivered what was
    there (after waiting up to `timeout_seconds` for something), as a server ending it would."""

    def __init__(self, log: WatchLog, kind: str) -> None:
        self._log = log
        self._kind = kind
        self._closed = threading.Event()

    def list(self, namespace: str | None, label_selector: str | None) -> tuple[list[Obj], str]:
        return self._log.snapshot(self._kind, namespace, label_selector)

    def watch(
        self, namespace: str | None, label_selector: str | None, resource_version: str, timeout_seconds: float
    ) -> Iterator[Obj]:
        events, expired = self._log.after(
            self._kind, namespace, label_selector, int(resource_version), timeout_seconds, self._closed
        )
        if expired:
            yield {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}
        for _, event, obj in events:
            yield {"type": event, "object": obj}

    def close(self) -> None:
        self._closed.set()
        self._log.wake_watches()
