"""kopf keeps the newest body of every ModelRollout it watches (its daemons' `meta`, the
finalizer's `body`): 38 KB per rollout as Python objects, of which managedFields are 14 KB, and
nothing in kopf or in this operator reads them. They are dropped from every listed and watched
object before kopf sees it, as the watch caches drop them from theirs.

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


def slim_event(event: Any) -> Any:
    """The event with its object's managedFields removed (in place: kopf owns the fresh dict)."""
    if isinstance(event, dict):
        obj = event.get("object")
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)
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
