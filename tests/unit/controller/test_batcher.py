"""The analysis batcher never leaves a request waiting for another rollout to ask.

A request that arrives while a batch is being evaluated used to wait until some later request
started the next flush: with one rollout due per interval, that is a whole interval late, and with
none, forever. The Prometheus here is a loopback HTTP server that answers every query slowly and
with no data, so the first batch is still being evaluated when the second request arrives.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest

from modelrollout.api.v1alpha1 import AnalysisSpec, MetricSpec, MetricType, PrometheusSpec
from modelrollout.controller.analysis_batcher import AnalysisBatcher
from modelrollout.evaluation import EvaluationRequest

from ...fixtures.loopback import serving

QUERY_SECONDS = 0.3
"""How long the slow Prometheus takes to answer one query."""
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class _EmptyPrometheus(BaseHTTPRequestHandler):
    """Answers every query with no data after `delay` seconds; records the range queries."""

    delay = 0.0
    range_queries: list[str] = []

    def _answer(self) -> None:
        time.sleep(self.delay)
        kind = "matrix" if "query_range" in self.path else "vector"
        if kind == "matrix":
            type(self).range_queries.append(self.path)
        body = json.dumps({"status": "success", "data": {"resultType": kind, "result": []}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *_: object) -> None:
        pass


class _SlowEmptyPrometheus(_EmptyPrometheus):
    delay = QUERY_SECONDS


@pytest.fixture
def slow_prometheus() -> Iterator[str]:
    with serving(_SlowEmptyPrometheus) as url:
        yield url


def _request(address: str, name: str) -> EvaluationRequest:
    analysis = AnalysisSpec(
        prometheus=PrometheusSpec(address=address),
        metrics=[MetricSpec(name="errors", type=MetricType.ERROR_RATE, max_absolute_increase=0.01)],
    )
    return EvaluationRequest(
        "ns", name, name, "v1", "v2", analysis, started_at=T0, at=T0 + timedelta(minutes=5)
    )


def test_a_request_arriving_during_a_flush_is_served_without_another_request(slow_prometheus: str) -> None:
    batcher = AnalysisBatcher(client=None, batch_window=0.05)  # type: ignore[arg-type]  # no Secrets named

    async def scenario() -> tuple[float, float]:
        started = time.monotonic()
        first = asyncio.create_task(batcher.evaluate(_request(slow_prometheus, "first")))
        await asyncio.sleep(0.05 + QUERY_SECONDS / 2)  # the first batch is being evaluated now
        assert batcher._flush is not None and not batcher._flush.done()
        second = asyncio.create_task(batcher.evaluate(_request(slow_prometheus, "second")))
        await asyncio.wait_for(first, timeout=30)
        first_done = time.monotonic() - started
        await asyncio.wait_for(second, timeout=10)  # no third request ever comes
        return first_done, time.monotonic() - started

    first_done, second_done = asyncio.run(scenario())
    # The second request needs its own batch after the first: at most one more evaluation's time.
    assert second_done <= 2 * first_done + 1.0


def test_requests_of_one_tick_in_separate_batches_send_one_range_query_per_template() -> None:
    _EmptyPrometheus.range_queries = []
    with serving(_EmptyPrometheus) as url:
        batcher = AnalysisBatcher(client=None, batch_window=0.01)  # type: ignore[arg-type]  # no Secrets named

        async def scenario() -> None:
            await batcher.evaluate(_request(url, "first"))
            await batcher.evaluate(_request(url, "second"))  # a later batch of the same tick

        asyncio.run(scenario())
    assert len(_EmptyPrometheus.range_queries) == 2, "requests and errors, once for the tick"


def test_the_store_of_a_prometheus_no_rollout_names_any_more_is_dropped() -> None:
    from modelrollout.metrics import PointStore

    batcher = AnalysisBatcher(client=None)  # type: ignore[arg-type]  # no Secrets named
    now = [0.0]
    store = PointStore(clock=lambda: now[0])
    store.table("q", 30.0, [T0], now=0.0)
    batcher._stores[("http://gone:9090", "spec", "")] = store
    batcher._forget_idle_stores(set())
    assert batcher._stores, "asked for a moment ago"
    now[0] = 4 * 30.0
    batcher._forget_idle_stores(set())
    assert batcher._stores == {}
