"""One synthetic exporter for the whole fleet: both versions of every model, at a fixed rate.

The counters are a function of the time since start (requests, errors, latency buckets grow at
a constant rate), so every scrape is consistent, costs no per-request work, and Prometheus holds
real series for every rollout: the analysis reaches real verdicts, not "no data".
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from modelrollout_dev.tools import free_port

BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Upper bounds of the latency histogram (seconds); `+Inf` follows."""


@dataclass(frozen=True)
class Traffic:
    rps: float = 20.0
    """Requests per second per version."""
    error_rate: float = 0.01
    median_latency: float = 0.08
    """Seconds; latencies are log-normal around it."""
    latency_sigma: float = 0.4


def _lognormal_cdf(x: float, median: float, sigma: float) -> float:
    return 0.5 * (1.0 + math.erf(math.log(x / median) / (sigma * math.sqrt(2.0))))


@dataclass
class SyntheticExporter:
    namespace: str
    models: Sequence[str]
    versions: tuple[str, ...] = ("v1", "v2")
    traffic: Traffic = field(default_factory=Traffic)
    port: int = field(default_factory=free_port)
    scrapes: int = 0
    _server: ThreadingHTTPServer | None = field(init=False, default=None)
    _started: float = field(init=False, default=0.0)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def series(self) -> int:
        per_version = 2 + len(BUCKETS) + 1 + 2  # outcomes, buckets with +Inf, _sum and _count
        return len(self.models) * len(self.versions) * per_version

    def start(self) -> SyntheticExporter:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self._started = time.time()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, name="exporter", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def render(self) -> str:
        """The exposition text at this instant: every counter is rate x elapsed seconds."""
        self.scrapes += 1
        traffic = self.traffic
        requests = traffic.rps * (time.time() - self._started)
        errors = math.floor(requests * traffic.error_rate)
        cumulative = [
            math.floor(requests * _lognormal_cdf(b, traffic.median_latency, traffic.latency_sigma))
            for b in BUCKETS
        ]
        total = math.floor(requests)
        mean = traffic.median_latency * math.exp(traffic.latency_sigma**2 / 2)
        # Each family's lines together, as the exposition format requires.
        labelled = [
            f'namespace="{self.namespace}",model="{model}",version="{version}"'
            for model in self.models
            for version in self.versions
        ]
        lines = ["# TYPE model_requests_total counter"]
        for labels in labelled:
            lines.append(f'model_requests_total{{{labels},outcome="success"}} {total - errors}')
            lines.append(f'model_requests_total{{{labels},outcome="error"}} {errors}')
        lines.append("# TYPE model_request_duration_seconds histogram")
        for labels in labelled:
            for bound, count in zip(BUCKETS, cumulative, strict=True):
                lines.append(f'model_request_duration_seconds_bucket{{{labels},le="{bound}"}} {count}')
            lines.append(f'model_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total}')
            lines.append(f"model_request_duration_seconds_sum{{{labels}}} {total * mean:.3f}")
            lines.append(f"model_request_duration_seconds_count{{{labels}}} {total}")
        return "\n".join(lines) + "\n"
