"""The rollouts due together that name the same Prometheus share one check of it (the operator's
policy, a DNS lookup, the Secrets it names): not one thread hop, lookup and Secret read per
rollout per interval (issue 22)."""

from __future__ import annotations

import asyncio
import threading

from modelrollout.controller.analysis_batcher import AnalysisBatcher

from ...fixtures.loopback import serving
from .test_batcher import _EmptyPrometheus, _request


class _CountingBatcher(AnalysisBatcher):
    checks = 0
    _lock = threading.Lock()

    def _credentials(self, namespace, spec):  # type: ignore[no-untyped-def]
        with self._lock:
            type(self).checks += 1
        return super()._credentials(namespace, spec)


def test_one_tick_s_requests_share_one_check_of_their_prometheus() -> None:
    _CountingBatcher.checks = 0
    with serving(_EmptyPrometheus) as url:
        batcher = _CountingBatcher(client=None, batch_window=0.05)  # type: ignore[arg-type]  # no Secrets named

        async def scenario() -> None:
            await asyncio.gather(*(batcher.evaluate(_request(url, f"r-{i}")) for i in range(50)))

        asyncio.run(scenario())
    assert _CountingBatcher.checks == 1


def test_a_request_after_the_check_gets_a_check_of_its_own() -> None:
    """So a rotated token or a changed policy is seen at once."""
    _CountingBatcher.checks = 0
    with serving(_EmptyPrometheus) as url:
        batcher = _CountingBatcher(client=None, batch_window=0.01)  # type: ignore[arg-type]  # no Secrets named

        async def scenario() -> None:
            await batcher.evaluate(_request(url, "first"))
            await batcher.evaluate(_request(url, "next"))

        asyncio.run(scenario())
    assert _CountingBatcher.checks == 2
