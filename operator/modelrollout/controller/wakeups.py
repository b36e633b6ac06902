"""What wakes a rollout's daemon: a change to its ModelRollout (not one its own write made), to
its Deployments, to the Service its spec names, to the route objects its traffic provider uses
(the HTTPRoute, VirtualService or DestinationRule its spec names; the version Services, the
DestinationRule and the router ConfigMap the provider made, which carry its label), to a
ModelRollout it depends on, or the deletion of another claimant of its model. Anything else
waits for the delay its reconcile asked for (a timer, the analysis clock) or the slow safety
resync. So a person who sets a route's weights back by hand sees them put right at once.

Our own writes to those objects wake nobody: the caches store a write's answer without telling,
and the watch event of that same version, arriving after it, is then no change. When the event
comes first, it wakes the rollout once, and that reconcile finds everything as it wants it and
writes nothing, so no write feeds another.

The informers report changes on their threads; each is mapped to the rollouts it concerns there
(from the caches' indexes, so the cost is what it wakes), and handed to the event loop, where
each daemon waits on an `asyncio.Event` of its own.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from ..api.v1alpha1 import KIND, LABEL_ROLLOUT
from ..k8s import CachedKubeClient

Key = tuple[str, str]
Obj = dict[str, Any]

REASONS_KEPT = 8
"""Past this many unexplained ModelRollout versions since the last reconcile, a wake-up is
simply due (one more reconcile at worst), so a busy object cannot grow the set."""


@dataclass
class Wakeup:
    """One daemon's wake-up: set by a change since its reconcile began."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    versions: set[str] = field(default_factory=set)
    """The ModelRollout's resourceVersions that set it: dropped once known to be our own writes
    (the write's answer can arrive after its watch event)."""
    other: bool = False
    """Set by a change to something else (a Deployment, the Service, an upstream rollout)."""

    def begin(self) -> None:
        """A reconcile starts reading: what changed before is in what it reads."""
        self.event.clear()
        self.versions.clear()
        self.other = False


class Wakeups:
    """Every running daemon's `Wakeup`, fed by `client`'s informers (none without a client: then
    daemons wake only on their timers)."""

    def __init__(self, client: CachedKubeClient | None = None) -> None:
        self._client = client
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeups: dict[Key, Wakeup] = {}
        if client is not None:
            client.on_change(self._changed)

    def __len__(self) -> int:
        return len(self._wakeups)

    def register(self, namespace: str, name: str) -> Wakeup:
        """The daemon of `namespace/name` starts (in the event loop)."""
        self._loop = asyncio.get_running_loop()
        wakeup = self._wakeups[(namespace, name)] = Wakeup()
        return wakeup

    def forget(self, namespace: str, name: str, wakeup: Wakeup | None = None) -> None:
        """The daemon stops: nothing of it is kept (unless `wakeup` is given and a newer daemon
        of the same rollout has registered since)."""
        if wakeup is not None and self._wakeups.get((namespace, name)) is not wakeup:
            return
        self._wakeups.pop((namespace, name), None)
        if self._client is not None:
            self._client.forget_rollout(namespace, name)

    def due(self, namespace: str, name: str, wakeup: Wakeup) -> bool:
        """Whether a change other than our own writes came since the reconcile began."""
        if self._client is not None and wakeup.versions:
            client = self._client
            wakeup.versions = {v for v in wakeup.versions if not client.is_own_write(namespace, name, v)}
        return wakeup.other or bool(wakeup.versions)

    async def sleep(
        self,
        namespace: str,
        name: str,
        wakeup: Wakeup,
        until: float,
        earliest: float,
        stopping: asyncio.Future[Any],
    ) -> None:
        """Until the monotonic time `until`, a change (not before `earliest`), or `stopping`."""
        while not stopping.done():
            now = time.monotonic()
            if now >= until:
                return
            if self.due(namespace, name, wakeup):
                if now >= earliest:
                    return
                await asyncio.wait({stopping}, timeout=min(until, earliest) - now)
                continue
            wakeup.event.clear()  # only our own writes so far
            woken: asyncio.Future[Any] = asyncio.ensure_future(wakeup.event.wait())
            try:
                await asyncio.wait(
                    {woken, stopping}, timeout=until - now, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                woken.cancel()

    # -- from the informers' threads ---------------------------------------------------------------
    def _changed(self, kind: str, event: str, obj: Obj) -> None:
        loop = self._loop
        if loop is None or self._client is None:
            return  # no daemon has started yet
        for namespace, name, version in self._concerned(self._client, kind, event, obj):
            loop.call_soon_threadsafe(self._wake, (namespace, name), version)

    @staticmethod
    def _concerned(
        client: CachedKubeClient, kind: str, event: str, obj: Obj
    ) -> list[tuple[str, str, str | None]]:
        """(namespace, rollout, the rollout's own new resourceVersion or None) a change wakes."""
        meta = obj["metadata"]
        namespace = str(meta.get("namespace") or "")
        if kind != KIND:
            return [(namespace, name, None) for name in _users(client, kind, namespace, meta)]
        name = str(meta["name"])
        version = str(meta.get("resourceVersion") or "")
        woken: list[tuple[str, str, str | None]] = [(namespace, name, version or None)]
        model = (obj.get("spec") or {}).get("model")
        if isinstance(model, str):
            downstream = client.rollout_names("upstream", namespace, model)
            woken += [(namespace, other, None) for other in downstream if other != name]
            if event == "DELETED":  # a rollout refused for this one's claim may act now
                rivals = client.rollout_names("model", namespace, model)
                woken += [(namespace, other, None) for other in rivals if other != name]
        return woken

    # -- in the event loop ---------------------------------------------------------------------------
    def _wake(self, key: Key, version: str | None) -> None:
        wakeup = self._wakeups.get(key)
        if wakeup is None:
            return
        if version is None or len(wakeup.versions) >= REASONS_KEPT:
            wakeup.other = True
        elif self._client is not None and self._client.is_own_write(key[0], key[1], version):
            return
        else:
            wakeup.versions.add(version)
        wakeup.event.set()


def _users(client: CachedKubeClient, kind: str, namespace: str, meta: Obj) -> list[str]:
    """The rollouts using an object other than a ModelRollout: the one its label names (the
    Deployments and the objects a route provider made), those whose `spec.service` it is (a
    Service), and those whose `spec.strategy.traffic` names it (a route object)."""
    users = set()
    owner = (meta.get("labels") or {}).get(LABEL_ROLLOUT)
    if owner is not None:
        users.add(str(owner))
    name = str(meta["name"])
    if kind == "Service":
        users.update(client.rollout_names("service", namespace, name))
    users.update(client.rollouts_naming(kind, namespace, name))
    return sorted(users)
