"""The test Prometheus is real: it scrapes a local endpoint, and serves backfilled history."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from modelrollout_dev.tools import free_port

pytestmark = pytest.mark.prometheus


def _api(url: str, path: str, **params: object) -> Any:
    query = urllib.parse.urlencode({k: str(v) for k, v in params.items()})
    with urllib.request.urlopen(f"{url}/api/v1/{path}?{query}", timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_scrapes_a_local_metrics_endpoint(prometheus_factory: Any) -> None:
    # Given a process exposing /metrics
    registry = CollectorRegistry()
    Gauge("modelrollout_probe_value", "a value to find", registry=registry).set(42.5)
    requests = Counter("modelrollout_probe_requests", "requests", ["version"], registry=registry)
    requests.labels(version="v1").inc(7)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        # When Prometheus scrapes it every second
        prom = prometheus_factory.scraping([f"127.0.0.1:{port}"])
        deadline = time.monotonic() + 20
        result: list[Any] = []
        while time.monotonic() < deadline and not result:
            result = _api(prom.url, "query", query="modelrollout_probe_value")
            time.sleep(0.5)
        # Then PromQL returns the values
        assert result, "no sample scraped within 20s"
        assert float(result[0]["value"][1]) == 42.5
        by_version = _api(prom.url, "query", query="sum by (version) (modelrollout_probe_requests_total)")
        assert [(r["metric"]["version"], float(r["value"][1])) for r in by_version] == [("v1", 7.0)]
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_backfilled_history_answers_a_range_query(prometheus_factory: Any) -> None:
    # Given two hours of a counter growing 10 per minute, ending an hour ago
    end = int(time.time()) - 3600
    start = end - 7200
    lines = ["# HELP model_requests Requests.", "# TYPE model_requests counter"]
    lines += [
        f'model_requests_total{{version="v7"}} {(t - start) // 6} {t}' for t in range(start, end + 1, 60)
    ]
    prom = prometheus_factory.backfilled("\n".join(lines) + "\n# EOF\n")

    # When a range query asks for the rate over the past
    result = _api(
        prom.url, "query_range", query="rate(model_requests_total[5m])", start=start + 600, end=end, step=600
    )

    # Then it returns the history at the explicit times: 10 per minute is 1/6 per second
    assert len(result) == 1
    values = [float(v) for _, v in result[0]["values"]]
    assert len(values) == (end - start - 600) // 600 + 1
    assert all(abs(v - 1 / 6) < 1e-9 for v in values)
