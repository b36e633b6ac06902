"""Simulated model traffic for the e2e tests and the demo: kwok pods run no containers, so this
process plays every model server behind a Service.

It splits `rps` requests per second between versions in proportion to their READY pods (what a
Service does with its endpoints), draws each version's latency and errors from its `Behaviour`,
and exposes the conventional series (`model_requests_total`, `model_request_duration_seconds`,
`model_prediction`, and `model_conversions_total` where a version converts) on a real /metrics endpoint that a real Prometheus scrapes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from .tools import free_port

LABELS = ("namespace", "model", "version")


@dataclass
class Behaviour:
    median_latency: float = 0.08
    """Seconds; latencies are log-normal around it."""
    latency_sigma: float = 0.4
    error_rate: float = 0.01
    prediction_mean: float = 0.3
    prediction_sigma: float = 0.1
    conversion_rate: float = 0.0
    """Share of requests that convert (an A/B test's goal, `model_conversions_total`); at 0 the
    series is not exported at all."""


@dataclass
class ModelTraffic:
    namespace: str
    model: str
    ready_pods: Callable[[], dict[str, int]]
    """Ready pods per version, read from the cluster."""
    rps: float = 200.0
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    tick: float = 0.1
    seed: int = 7
    port: int = field(default_factory=free_port)
    served: dict[str, int] = field(default_factory=dict)
    """Requests served per version so far (for assertions about who got traffic)."""

    def __post_init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "model_requests", "Requests served.", (*LABELS, "outcome"), registry=self.registry
        )
        self.latency = Histogram("model_request_duration_seconds", "Latency.", LABELS, registry=self.registry)
        self.prediction = Histogram(
            "model_prediction",
            "Predicted score.",
            LABELS,
            buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
            registry=self.registry,
        )
        self.conversions = Counter(
            "model_conversions", "Requests that converted.", LABELS, registry=self.registry
        )
        self._stop = threading.Event()
        self._rng = np.random.default_rng(self.seed)
        self._threads: list[threading.Thread] = []
        self._server: object | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> ModelTraffic:
        server, thread = start_http_server(self.port, addr="127.0.0.1", registry=self.registry)
        self._server = server
        self._threads.append(thread)
        worker = threading.Thread(target=self._run, name="model-traffic", daemon=True)
        worker.start()
        self._threads.append(worker)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()  # type: ignore[attr-defined]
        for thread in self._threads:
            thread.join(timeout=5)

    def _run(self) -> None:
        pods: dict[str, int] = {}
        last_poll = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - last_poll > 0.5:
                try:
                    pods = self.ready_pods()
                except Exception:  # a transient API error keeps the previous split
                    pass
                last_poll = now
            self._serve(pods)
            self._stop.wait(self.tick)

    def _serve(self, pods: dict[str, int]) -> None:
        total = sum(pods.values())
        if total == 0:
            return
        count = int(self._rng.poisson(self.rps * self.tick))
        if count == 0:
            return
        versions = sorted(pods)
        shares = np.array([pods[v] / total for v in versions])
        per_version = self._rng.multinomial(count, shares)
        for version, n in zip(versions, per_version, strict=True):
            if n:
                self._record(version, int(n))

    def _record(self, version: str, n: int) -> None:
        behaviour = self.behaviours.get(version, Behaviour())
        labels = (self.namespace, self.model, version)
        latencies = self._rng.lognormal(np.log(behaviour.median_latency), behaviour.latency_sigma, n)
        errors = int(self._rng.binomial(n, behaviour.error_rate))
        predictions = np.clip(
            self._rng.normal(behaviour.prediction_mean, behaviour.prediction_sigma, n), 0, 1
        )
        histogram = self.latency.labels(*labels)
        for value in latencies:
            histogram.observe(float(value))
        scores = self.prediction.labels(*labels)
        for value in predictions:
            scores.observe(float(value))
        self.requests.labels(*labels, "success").inc(n - errors)
        # Exported from the first request, at 0 if need be, as a client library does for labels
        # known up front: the analysis tells "no errors yet" from "no such series" by it.
        self.requests.labels(*labels, "error").inc(errors)
        if behaviour.conversion_rate > 0:
            self.conversions.labels(*labels).inc(int(self._rng.binomial(n, behaviour.conversion_rate)))
        self.served[version] = self.served.get(version, 0) + n


def ready_pods_reader(
    kubectl: Callable[..., object], namespace: str, model: str
) -> Callable[[], dict[str, int]]:
    """Ready pods per `modelrollout.io/version` among pods labelled with the model, via kubectl."""
    import json

    def read() -> dict[str, int]:
        result = kubectl("get", "pods", "-n", namespace, "-l", f"modelrollout.io/model={model}", "-o", "json")
        pods = json.loads(result.stdout)["items"]  # type: ignore[attr-defined]
        counts: dict[str, int] = {}
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp"):
                continue
            conditions = pod.get("status", {}).get("conditions", [])
            if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                version = pod["metadata"]["labels"].get("modelrollout.io/version", "")
                counts[version] = counts.get(version, 0) + 1
        return counts

    return read
