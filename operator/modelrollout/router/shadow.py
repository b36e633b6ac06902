"""Shadow copies: a sample of user requests is also sent to the shadow version, and its answer
compared with the one the user got. Nothing on the user's path ever waits for a copy: the copy is
a task of its own, started once the user's answer is ready, so it neither delays that answer nor
competes with it for the event loop while it is being produced. Copies have their own connection
pool and a concurrency cap; one beyond the cap is dropped and counted, never queued. The latency
difference compares the two versions' own latencies, each measured from its own send.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace
from typing import Any

from ..api.router_config import RouterVersion, Shadow
from .endpoints import RoundRobin
from .metrics import RouterMetrics
from .predictions import scores_and_classes
from .upstream import Forward, Upstream, UpstreamError

log = logging.getLogger("modelrollout.router.shadow")

SHADOW_HEADER = "x-modelrollout-shadow"
"""Set on copies, so a model server can tell them from users' requests."""

Served = tuple[Any, float]
"""The served answer's JSON and its latency."""


class ShadowCopier:
    def __init__(self, upstream: Upstream, metrics: RouterMetrics, namespace: str) -> None:
        self.upstream = upstream
        self.metrics = metrics
        self.namespace = namespace
        self.in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def copy(
        self,
        shadow: Shadow,
        version: RouterVersion,
        pods: RoundRobin | None,
        model: str,
        forward: Forward,
        served: Served | None,
        rng: random.Random,
    ) -> None:
        """Start a copy if sampled and under the cap; `served` is the user's answer (None when the
        user got none to compare with)."""
        if shadow.sample_rate < 1.0 and rng.random() >= shadow.sample_rate:
            return
        labels = (self.namespace, model, version.name)
        if self.in_flight >= shadow.max_concurrency:
            self.metrics.child(self.metrics.shadow_requests, *labels, "dropped").inc()
            return
        self.in_flight += 1
        task = asyncio.create_task(self._run(version, pods, labels, forward, served))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.in_flight -= 1

    async def _run(
        self,
        version: RouterVersion,
        pods: RoundRobin | None,
        labels: tuple[str, str, str],
        forward: Forward,
        served: Served | None,
    ) -> None:
        # Everything the copy costs happens here, in its own task: it first runs once the user's
        # answer is written (the user's task writes it before it next yields to the loop).
        forward = replace(forward, headers={**forward.headers, SHADOW_HEADER: "true"})
        try:
            answer = await self.upstream.call(version, pods, forward)
        except UpstreamError as error:
            self.metrics.child(self.metrics.shadow_requests, *labels, "error").inc()
            log.debug("shadow copy to %s failed: %s", version.name, error.message)
            return
        outcome = "error" if answer.status >= 400 else "success"
        self.metrics.child(self.metrics.shadow_requests, *labels, outcome).inc()
        self.metrics.child(self.metrics.shadow_latency, *labels).observe(answer.latency)
        if outcome == "error" or served is None:
            return
        served_payload, served_latency = served
        self.metrics.child(self.metrics.shadow_latency_difference, *labels).observe(
            answer.latency - served_latency
        )
        self._compare(labels, served_payload, answer.payload)

    def _compare(self, labels: tuple[str, str, str], served: Any, shadow: Any) -> None:
        served_scores, served_classes = scores_and_classes(served)
        shadow_scores, shadow_classes = scores_and_classes(shadow)
        if not served_scores or len(served_scores) != len(shadow_scores):
            return
        agree = served_classes == shadow_classes
        self.metrics.child(self.metrics.shadow_agreement, *labels, "true" if agree else "false").inc()
        difference = self.metrics.child(self.metrics.shadow_difference, *labels)
        for mine, theirs in zip(served_scores, shadow_scores, strict=True):
            difference.observe(abs(theirs - mine))

    async def drain(self, timeout: float) -> None:
        """Let the copies in flight finish (bounded), then cancel what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(list(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
