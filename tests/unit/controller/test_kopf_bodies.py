"""kopf's copy of each ModelRollout is its metadata until it is being deleted, and never has
managedFields (of 38 KB per rollout, 2 KB are left): the events of its list and watch streams are
slimmed before kopf keeps them, and the seam this relies on is still where kopf calls it."""

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


def _rollout_event(deleting: bool) -> dict[str, Any]:
    from modelrollout_dev.fleet import FleetSpec, idle_rollout

    obj = idle_rollout(FleetSpec("bench", 1, "http://prometheus:9090"), 0)
    obj["metadata"].update(
        uid="5e1f0b7a-0000-1111-2222-333344445555", resourceVersion="12345", generation=1,
        labels={"team": "fraud"}, annotations={"modelrollout.io/action": "abort"},
        finalizers=["modelrollout.io/finalizer"], managedFields=[{"manager": "kubectl", "fieldsV1": {}}],
    )  # fmt: skip
    if deleting:
        obj["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    metric = {"name": "latency", "verdict": "Inconclusive", "stable": 0.12, "candidate": 0.125,
              "effect": 0.04, "pValue": 0.3, "samplesStable": 1200, "samplesCandidate": 310}  # fmt: skip
    obj["status"] = {
        "phase": "Progressing", "stableVersion": "v1", "candidateVersion": "v2", "weights": {"v1": 100, "v2": 0},
        "conditions": [{"type": t, "status": "False", "reason": "Healthy", "message": "m" * 60,
                        "lastTransitionTime": "2030-01-01T00:00:00Z"} for t in ("Degraded", "Paused", "Ready")],
        "analysis": {"verdict": "Inconclusive", "runs": 3, "lastRun": "2030-01-01T00:00:30Z",
                     "metrics": [metric, {**metric, "name": "errors"}]},
    }  # fmt: skip
    return {"type": "MODIFIED", "object": obj}


def test_kopf_keeps_only_the_metadata_of_a_rollout_it_is_not_deleting() -> None:
    """kopf's daemons and filters read the metadata alone (labels, annotations, finalizers);
    spec and status are read from the watch caches, so kopf's copy goes without them."""
    event = kopf_bodies.slim_event(_rollout_event(deleting=False))
    obj = event["object"]
    assert set(obj) == {"apiVersion", "kind", "metadata"}
    assert obj["metadata"]["annotations"] == {"modelrollout.io/action": "abort"}
    assert obj["metadata"]["labels"] == {"team": "fraud"}
    assert obj["metadata"]["finalizers"] == ["modelrollout.io/finalizer"]
    assert "managedFields" not in obj["metadata"]


def test_a_rollout_being_deleted_reaches_kopf_whole_for_its_finalizer() -> None:
    """The finalizer hands traffic back to the stable from the spec and status kopf passes it."""
    event = kopf_bodies.slim_event(_rollout_event(deleting=True))
    assert {"spec", "status"} <= set(event["object"])
    assert "managedFields" not in event["object"]["metadata"]


def test_kopf_s_copy_of_a_rollout_costs_a_few_kb() -> None:
    """2.2 KB measured for the benchmark's rollout with an analysis status; 16 KB with spec and
    status (and 14 KB more of managedFields before those were dropped)."""
    import gc
    import json
    import tracemalloc

    count = 200
    texts = [json.dumps(_rollout_event(deleting=False)) for _ in range(count)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [kopf_bodies.slim_event(json.loads(text))["object"] for text in texts]
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept) == count
    assert held / 1024 / count < 3.0, f"{held / 1024 / count:.1f} KB per rollout"
