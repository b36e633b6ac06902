"""Credentials reach the wire: a bearer token or basic auth on every query, and the timeout too.

A tiny local HTTP server stands in for Prometheus' API and records what it was sent.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from modelrollout.metrics import MetricSourceError, PrometheusCredentials, PrometheusSource

AT = datetime(2025, 1, 1, tzinfo=UTC)


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, list[str]], str | None]] = []
    status = 200

    def do_GET(self) -> None:
        url = urlparse(self.path)
        Recorder.seen.append((url.path, parse_qs(url.query), self.headers.get("Authorization")))
        body = {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {"a": "b"}, "value": [1, "2.5"]}]},
        }
        payload = json.dumps(body if Recorder.status == 200 else {"status": "error", "error": "bad"}).encode()
        self.send_response(Recorder.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def api() -> Iterator[str]:
    Recorder.seen, Recorder.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=5)


def test_a_bearer_token_is_sent_with_the_query_and_the_timeout(api: str) -> None:
    source = PrometheusSource(api, timeout=7, credentials=PrometheusCredentials(bearer_token="t0ken"))

    (series,) = source.query('up{job="x"}', AT)

    path, params, authorization = Recorder.seen[-1]
    assert (path, authorization) == ("/api/v1/query", "Bearer t0ken")
    assert params["query"] == ['up{job="x"}'] and params["timeout"] == ["7s"]
    assert params["time"] == [str(int(AT.timestamp()))]
    assert (series.labels, series.value) == ({"a": "b"}, 2.5)


def test_basic_auth_is_sent_when_a_user_is_given(api: str) -> None:
    source = PrometheusSource(api, credentials=PrometheusCredentials(username="reader", password="pw"))

    source.query("up", AT)

    expected = "Basic " + base64.b64encode(b"reader:pw").decode()
    assert Recorder.seen[-1][2] == expected


def test_an_http_error_is_a_source_error(api: str) -> None:
    Recorder.status = 400
    source = PrometheusSource(api, retries=0)

    with pytest.raises(MetricSourceError, match="rejected"):
        source.query("up", AT)
