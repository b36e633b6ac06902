"""A daemon waiting out a slow analysis reads its watched copy only once the watch caches saw the
rollout change (issue 22: a thousand rollouts waiting out a long tick do not each poll twice a
second), and an abort written meanwhile still ends the wait at once."""

from __future__ import annotations

import asyncio
import time

from modelrollout.controller.handlers import Runtime

from ...fixtures.fake_cluster import NAME, NAMESPACE
from .test_actions_first import (
    PROMPT_SECONDS,
    _assert_aborted_promptly,
    _at_the_analysis_step,
    _runtime,
    _written_action,
    prometheus_black_hole,  # noqa: F401 (a fixture)
)


def test_nothing_changed_means_no_read_of_the_watched_copy(prometheus_black_hole: str) -> None:  # noqa: F811
    cluster = _at_the_analysis_step(prometheus_black_hole)
    runtime: Runtime = _runtime(cluster)
    reads = 0

    def written() -> str | None:
        nonlocal reads
        reads += 1
        return _written_action(cluster)

    async def scenario() -> None:
        changed = asyncio.Event()
        reconcile = asyncio.create_task(runtime.reconcile_once(NAMESPACE, NAME, written, changed))
        await asyncio.sleep(4 * runtime.settings.reconcile.poll_seconds)
        assert not reconcile.done(), "the reconcile waits on the analysis"
        assert reads == 0, "nothing changed: the watched copy is not read"
        cluster.action("abort:1")
        changed.set()  # what the rollout's wake-up does when the caches see the annotation
        started = time.monotonic()
        await asyncio.wait_for(reconcile, PROMPT_SECONDS)
        _assert_aborted_promptly(cluster, time.monotonic() - started)

    asyncio.run(scenario())
    assert reads >= 1
