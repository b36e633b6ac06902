"""kopf keeps the newest body of every ModelRollout it watches (its daemons' `meta`, the
finalizer's `body`): 38 KB per rollout as Python objects, of which managedFields are 14 KB and
spec and status most of the rest. Until a rollout is being deleted, kopf and the handlers read
only its metadata (the filter's labels, the daemon's annotations, the finalizers): the reconcile
reads spec and status from the watch caches. So kopf is handed the metadata alone (2 KB), and the
whole object (without managedFields, which nothing reads) once `deletionTimestamp` is set, for
the finalizer. kopf's own per-event work shrinks with it: it copies the body for its diff at
every event, and the status changes at every analysis interval.

kopf offers no hook for this, so the seam is its internal `infinite_watch` (kopf is pinned in
constraints.txt, and a unit test fails if the seam moves). If a kopf release moves it, the
operator says so once and runs with the full bodies: only memory is at stake, never behaviour.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

log = logging.getLogger("modelrollout.kopf")

SEAM = ("kopf._cogs.clients.watching", "infinite_watch")
"""The module kopf's watchers call `infinite_watch` of at each (re)start of a stream."""


KEPT_UNTIL_DELETION = ("apiVersion", "kind", "metadata")
"""What kopf gets of a rollout that is not being deleted."""


def slim_event(event: Any) -> Any:
    """The event with its object's managedFields removed, and everything but its metadata while
    it is not being deleted (in place: kopf owns the fresh dict)."""
    if isinstance(event, dict):
        obj = event.get("object")
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(obj, dict) and isinstance(metadata, dict):
            metadata.pop("managedFields", None)
            if not metadata.get("deletionTimestamp") and event.get("type") != "ERROR":
                for key in [key for key in obj if key not in KEPT_UNTIL_DELETION]:
                    del obj[key]
    return event


def _slimming(watch: Callable[..., AsyncGenerator[Any, None]]) -> Callable[..., AsyncGenerator[Any, None]]:
    @functools.wraps(watch)
    async def infinite_watch(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        async with contextlib.aclosing(watch(*args, **kwargs)) as events:
            async for event in events:
                yield slim_event(event)

    infinite_watch.slims = True  # type: ignore[attr-defined]
    return infinite_watch


def drop_managed_fields() -> bool:
    """Install the slimming around kopf's watch streams (once); False when the seam is gone."""
    module_name, attribute = SEAM
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        module = None
    watch = getattr(module, attribute, None)
    if watch is None:
        log.warning("kopf has no %s.%s: its bodies keep their managedFields", module_name, attribute)
        return False
    if not getattr(watch, "slims", False):
        setattr(module, attribute, _slimming(watch))
    return True
