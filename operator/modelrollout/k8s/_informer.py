"""An informer: one kind's objects in one namespace (or all), kept current by a watch.

It lists once, then watches from the list's resourceVersion on a thread of its own, moving that
resourceVersion on with every event and BOOKMARK, so a watch the server ends is resumed where it
stopped, without a LIST. A resourceVersion the apiserver no longer holds (410 Gone) and any
failure of the stream are answered by a new LIST, after a backoff when the apiserver is failing.
Until the first LIST has answered the informer is not `synced`, and its readers ask the
apiserver instead.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ._protocol import KubeError, Obj
from ._store import ObjectStore, resource_version
from ._watch import WatchSource

log = logging.getLogger("modelrollout.informer")


@dataclass(frozen=True)
class InformerTiming:
    watch_timeout_seconds: float = 300.0
    """How long the server keeps one watch open before the informer opens the next; a BOOKMARK
    before the end keeps the resourceVersion current, so no LIST is needed."""
    backoff_seconds: float = 0.5
    """First wait after a failed LIST or watch; doubles on each failure in a row."""
    max_backoff_seconds: float = 30.0
    """Longest wait between two tries while the apiserver keeps failing."""


class Informer:
    """Feeds `store` with `source`'s objects of one namespace (every namespace when None),
    `label_selector` filtering on the server."""

    def __init__(
        self,
        source: WatchSource,
        store: ObjectStore,
        namespace: str | None,
        label_selector: str | None = None,
        timing: InformerTiming | None = None,
        until_not_served: bool = False,
    ) -> None:
        self.source = source
        self.until_not_served = until_not_served
        """Stop for good once the kind is not served (a 404: its CRD deleted), `gone` set and
        `synced` cleared, rather than list again and again; whoever made it decides when to
        make another (a kind whose CRDs may come and go)."""
        self.gone = threading.Event()
        self.store = store
        self.namespace = namespace
        self.label_selector = label_selector
        self.timing = timing or InformerTiming()
        self.synced = threading.Event()
        """Set once the first LIST is in the store; stays set across relists."""
        self.relists = 0
        """LISTs made since start: one, plus one per 410 or broken stream."""
        self._version: str | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return f"{self.store.kind}/{self.namespace or '*'}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        self.source.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            try:
                self.run_once()
                failures = 0
            except Exception as error:
                if self._stopped.is_set():
                    return
                if self.until_not_served and isinstance(error, KubeError) and error.status == 404:
                    log.info("%s is no longer served (%s): its watch stops", self.name, error)
                    self.synced.clear()
                    self.gone.set()
                    return
                failures += 1
                self._version = None  # a broken stream may have lost events: list again
                delay = min(
                    self.timing.max_backoff_seconds, self.timing.backoff_seconds * 2 ** (failures - 1)
                )
                log.warning("watch of %s failed (%s); listing again in %.1fs", self.name, error, delay)
                self._stopped.wait(delay)

    def run_once(self) -> None:
        """A LIST if the informer has no resourceVersion to watch from, then one watch until the
        server ends it, it reports 410, or the informer stops."""
        if self._version is None:
            self.relist()
        assert self._version is not None
        events = self.source.watch(
            self.namespace, self.label_selector, self._version, self.timing.watch_timeout_seconds
        )
        for event in events:
            if self._stopped.is_set():
                return
            if not self._apply(event):
                self._version = None
                return

    def relist(self) -> None:
        items, version = self.source.list(self.namespace, self.label_selector)
        self.store.replace(items, version, self.namespace)
        self._version = version
        self.relists += 1
        self.synced.set()

    def _apply(self, event: Obj) -> bool:
        """One watch event into the store; False when the watch must start over from a LIST."""
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            code = int(obj.get("code") or 0)
            if code == 410:
                log.info("watch of %s expired (410 Gone): listing again", self.name)
                return False
            raise KubeError(code, str(obj.get("reason") or "Error"), str(obj.get("message") or obj))
        version = resource_version(obj)
        if kind == "BOOKMARK":
            self._version = version or self._version
            return True
        obj.setdefault("kind", self.store.kind)
        if kind == "DELETED":
            self.store.remove(obj)
        elif kind in ("ADDED", "MODIFIED"):
            self.store.put(obj, kind)
        if version:
            self._version = version
        return True
