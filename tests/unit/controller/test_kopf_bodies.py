"""kopf's copy of each ModelRollout carries no managedFields (14 of its 38 KB per rollout): the
events of its list and watch streams are slimmed before kopf keeps them, and the seam this relies
on is still where kopf calls it."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from modelrollout.controller import kopf_bodies


def test_the_seam_is_where_kopf_s_watchers_call_it() -> None:
    module_name, attribute = kopf_bodies.SEAM
    queueing = importlib.import_module("kopf._core.reactor.queueing")
    watching = importlib.import_module(module_name)
    assert callable(getattr(watching, attribute))
    assert queueing.watching is watching, "kopf's watcher looks the stream up on this module at each start"


def test_kopf_s_streams_carry_no_managed_fields_and_close_with_their_consumer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module_name, attribute = kopf_bodies.SEAM
    watching = importlib.import_module(module_name)
    closed: list[bool] = []

    async def infinite_watch(**_: Any) -> AsyncGenerator[Any, None]:
        try:
            yield {"type": None, "object": {"metadata": {"name": "a", "managedFields": [{"m": 1}]}}}
            yield "a bookmark"
            yield {"type": "MODIFIED", "object": {"metadata": {"name": "a", "labels": {"x": "y"}}}}
            yield {"type": "MODIFIED", "object": {"metadata": {"name": "never read"}}}
        finally:
            closed.append(True)

    monkeypatch.setattr(watching, attribute, infinite_watch)
    assert kopf_bodies.drop_managed_fields() and kopf_bodies.drop_managed_fields()  # once is enough

    async def consume() -> list[Any]:
        got = []
        stream = getattr(watching, attribute)(settings=None)
        async for event in stream:
            got.append(event)
            if len(got) == 3:
                await stream.aclose()
                break
        return got

    events = asyncio.run(consume())
    assert events == [
        {"type": None, "object": {"metadata": {"name": "a"}}},
        "a bookmark",
        {"type": "MODIFIED", "object": {"metadata": {"name": "a", "labels": {"x": "y"}}}},
    ]
    assert closed == [True], "kopf's own stream is closed when kopf stops reading"
    assert not hasattr(getattr(watching, attribute).__wrapped__, "slims"), "wrapped once, not twice"
