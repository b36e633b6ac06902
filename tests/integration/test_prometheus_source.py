"""The Prometheus source against a real Prometheus: values, escaping, batching, failures, resets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from modelrollout.api.v1alpha1 import AnalysisSpec, MetricSpec, MetricType, PrometheusSpec
from modelrollout.evaluation import EvaluationRequest, align, evaluate_intervals
from modelrollout.metrics import (
    BatchedQuerier,
    MetricSourceError,
    PrometheusSource,
    escape_label_value,
)
from modelrollout.metrics import queries as defaults
from modelrollout_dev.tools import free_port

pytestmark = pytest.mark.prometheus

HOSTILE_VERSION = 'v9"} or vector(1) #\nnext\\line'
MODELS = {"fraud": 40, "ranker": 20, "search": 10}
"""Candidate requests per second per model; the stable serves the same."""


class Traffic:
    """A /metrics endpoint whose request counters grow continuously, in a thread."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "model_requests", "requests", ["namespace", "model", "version", "outcome"], registry=self.registry
        )
        self.port = free_port()
        self._stop = threading.Event()
        self.requests.labels("team-a", "fraud", HOSTILE_VERSION, "success").inc(3)
        for model in MODELS:
            # The error series exist at 0, as a client library exports them once the labels are
            # known: no error is then zero errors, not a series that does not exist.
            self.requests.labels("team-a", model, "v1", "error")

    def run(self) -> None:
        while not self._stop.wait(0.1):
            for model, rate in MODELS.items():
                for version in ("v1", "v2"):
                    self.requests.labels("team-a", model, version, "success").inc(rate / 10)

    def __enter__(self) -> Traffic:
        self.server, self.server_thread = start_http_server(
            self.port, addr="127.0.0.1", registry=self.registry
        )
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.server.shutdown()
        self.server_thread.join(timeout=5)


@pytest.fixture
def scraped(prometheus_factory: Any) -> Iterator[PrometheusSource]:
    with Traffic() as traffic:
        prometheus = prometheus_factory.scraping([f"127.0.0.1:{traffic.port}"])
        source = PrometheusSource(prometheus.url, timeout=5)
        deadline = time.monotonic() + 30
        while not source.query("model_requests_total", datetime.now(UTC)):
            assert time.monotonic() < deadline, "nothing scraped within 30s"
            time.sleep(0.5)
        yield source
        source.close()


def test_an_instant_query_returns_the_scraped_value(scraped: PrometheusSource) -> None:
    assert scraped.is_online()

    (series,) = scraped.query(
        'sum by (version) (model_requests_total{model="fraud", version="v1"})', datetime.now(UTC)
    )

    assert series.labels == {"version": "v1"}
    assert series.value > 0


def test_an_escaped_hostile_label_value_matches_exactly_its_own_series(scraped: PrometheusSource) -> None:
    promql = f'model_requests_total{{version="{escape_label_value(HOSTILE_VERSION)}"}}'

    answer = scraped.query(promql, datetime.now(UTC))

    assert [(s.labels["version"], s.value) for s in answer] == [(HOSTILE_VERSION, 3.0)]


def test_a_query_prometheus_rejects_is_an_error_not_empty(scraped: PrometheusSource) -> None:
    with pytest.raises(MetricSourceError, match="rejected"):
        scraped.query("sum(rate(model_requests_total[", datetime.now(UTC))


def test_one_batched_query_serves_every_rollout(scraped: PrometheusSource) -> None:
    interval = 5.0
    spec = AnalysisSpec(
        interval="5s",
        min_samples=10,
        prometheus=PrometheusSpec(address="http://unused:9090"),
        metrics=[MetricSpec(name="errors", type=MetricType.ERROR_RATE, max_absolute_increase=0.01)],
    )
    started = datetime.now(UTC)
    # Three complete intervals after the start, plus a little for the last scrape to land.
    at = align(started, interval) + timedelta(seconds=4 * interval)
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 2)
    requests = [
        EvaluationRequest("team-a", model, model, "v1", "v2", spec, started_at=started, at=at)
        for model in MODELS
    ]
    querier = BatchedQuerier(scraped)

    results = evaluate_intervals(requests, querier)

    assert querier.executed == 4, (
        "errors and requests: one range query each, and one presence query each, for the three rollouts"
    )
    counted = {r.request.model: r.metrics[0].samples_candidate or 0 for r in results}
    assert [r.intervals for r in results] == [3, 3, 3]
    for model, rate in MODELS.items():
        expected = rate * 3 * interval
        assert 0.6 * expected <= counted[model] <= 1.4 * expected, (model, counted)
    assert all("no data" not in r.metrics[0].explanation for r in results)
    assert counted["fraud"] > counted["ranker"] > counted["search"]


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def test_summed_increases_survive_a_counter_reset(prometheus_factory: Any) -> None:
    # Given a counter that grows 10 per 5s scrape, restarts from zero halfway, and grows again
    interval = 30
    end = (int(time.time()) // interval) * interval - 3600
    start = end - 20 * interval
    reset_at = start + 10 * interval
    lines = ["# TYPE model_requests counter"]
    for t in range(start - 60, end + 1, 5):
        value = (t - (start - 60)) * 2 if t < reset_at else (t - reset_at) * 2
        lines.append(f'model_requests_total{{namespace="ns",model="m",version="v1"}} {value} {t}')
    lines.append("# EOF")
    prometheus = prometheus_factory.backfilled("\n".join(lines) + "\n")
    source = PrometheusSource(prometheus.url, timeout=5)
    promql = defaults.requests(defaults.REQUESTS_METRIC, interval)

    # When the per-interval increases from `start` are summed
    (series,) = source.query_range(promql, at(start + interval), at(end), interval)
    total = sum(value for _, value in series.points)

    # Then the sum is the real growth (2 per second), the reset costing no negative jump
    assert len(series.points) == 20
    assert total == pytest.approx(2 * (end - start), rel=0.03)


def test_listed_log_patterns_are_matched_literally_and_alone(prometheus_factory: Any) -> None:
    """A pattern full of regex and string metacharacters selects exactly its own series."""
    hostile = 'CUDA error: out of memory (x.*) "quoted" \\ [0-9]+'
    rates = {"OOMKilled": 1, hostile: 10, "CUDA error: out of memory (x": 100, "other": 1000}
    end = align(datetime.now(UTC) - timedelta(minutes=5), 30)
    start = end - timedelta(minutes=10)
    lines = ["# TYPE model_log_pattern counter"]
    for pattern, per_sample in rates.items():
        label = escape_label_value(pattern)
        for k in range(int((end - start).total_seconds() // 10) + 1):
            moment = start.timestamp() + 10 * k
            lines.append(
                f'model_log_pattern_total{{namespace="team-a",model="fraud",version="v2",pattern="{label}"}}'
                f" {per_sample * k} {moment:.3f}"
            )
    lines.append("# EOF")
    prometheus = prometheus_factory.backfilled("\n".join(lines))
    source = PrometheusSource(prometheus.url)

    def hits(patterns: list[str] | None) -> float:
        promql = defaults.log_pattern_hits(defaults.LOG_PATTERN_METRIC, patterns, 30)
        (series,) = source.query_range(promql, end - timedelta(minutes=5), end, 30)
        return series.points[-1][1]

    assert hits([hostile]) == pytest.approx(10 * 3)  # three samples 10 s apart per 30 s window
    assert hits(["OOMKilled", hostile]) == pytest.approx(11 * 3)
    assert hits(None) == pytest.approx(sum(rates.values()) * 3)


def _pod_series(metric: str, pod: str, container: str, values: list[float], times: list[float]) -> list[str]:
    labels = f'namespace="team-a",pod="{pod}",container="{container}"'
    return [f"{metric}{{{labels}}} {value} {moment:.3f}" for value, moment in zip(values, times, strict=True)]


@pytest.mark.parametrize(
    ("metric_name", "limit", "busiest", "verdict"),
    [
        ("container_cpu_usage_seconds_total", 1.5, 1.2, "Pass"),
        ("container_cpu_usage_seconds_total", 1.0, 1.2, "Fail"),
        ("container_memory_working_set_bytes", 5e8, 7e8, "Fail"),
        ("container_memory_working_set_bytes", 1e9, 7e8, "Pass"),
    ],
)
def test_resource_guardrails_check_the_candidates_busiest_pod_in_a_real_prometheus(
    prometheus_factory: Any, metric_name: str, limit: float, busiest: float, verdict: str
) -> None:
    """Only `<name>-<candidate>-*` pods count: not the stable's, not `fraud-v20-*`, not the pause
    container; CPU is a counter taken as a rate, memory a gauge taken at its maximum."""
    end = align(datetime.now(UTC) - timedelta(minutes=5), 30)
    times = [end.timestamp() - 600 + 10 * k for k in range(61)]
    cpu = {"fraud-v1-aaa": 0.3, "fraud-v2-bbb": 0.5, "fraud-v2-ccc": 1.2, "fraud-v20-ddd": 5.0}
    memory = {"fraud-v1-aaa": 9e8, "fraud-v2-bbb": 3e8, "fraud-v2-ccc": 7e8, "fraud-v20-ddd": 4e9}
    lines = ["# TYPE container_cpu_usage_seconds counter"]
    for pod, cores in cpu.items():
        lines += _pod_series(
            "container_cpu_usage_seconds_total", pod, "model", [cores * 10 * k for k in range(61)], times
        )
    lines += _pod_series(
        "container_cpu_usage_seconds_total", "fraud-v2-ccc", "POD", [50.0 * k for k in range(61)], times
    )
    lines.append("# TYPE container_memory_working_set_bytes gauge")
    for pod, peak in memory.items():
        lines += _pod_series(
            "container_memory_working_set_bytes",
            pod,
            "model",
            [peak if k % 6 == 0 else peak / 2 for k in range(61)],
            times,
        )
    lines.append("# EOF")
    prometheus = prometheus_factory.backfilled("\n".join(lines))
    spec = AnalysisSpec(
        interval="30s",
        prometheus=PrometheusSpec(address=prometheus.url),
        metrics=[MetricSpec(name="usage", type=MetricType.RESOURCE, metric_name=metric_name, max=limit)],
    )
    request = EvaluationRequest(
        namespace="team-a", name="fraud", model="fraud", stable_version="v1", candidate_version="v2",
        analysis=spec, started_at=end - timedelta(minutes=5), at=end,
    )  # fmt: skip

    (result,) = evaluate_intervals([request], PrometheusSource(prometheus.url))

    (usage,) = result.metrics
    assert usage.verdict == verdict, usage.explanation
    assert usage.candidate == pytest.approx(busiest, rel=0.02)
    assert usage.stable == pytest.approx(
        cpu["fraud-v1-aaa"] if "cpu" in metric_name else memory["fraud-v1-aaa"], rel=0.02
    )


def _range_queries_served(url: str) -> float:
    """Prometheus' own count of range queries it has answered, read from its /metrics."""
    import urllib.request

    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("prometheus_http_requests_total{") and 'handler="/api/v1/query_range"' in line
    )


def _boundary_far_from_settling(interval: float) -> datetime:
    """The boundary just passed, once it is young enough that its newest point cannot settle
    (one interval after it) while the test runs: a point that settles between two batches is
    rightly read again, which is not what this test measures."""
    now = time.time()
    since = now % interval
    if since > interval - 5:
        time.sleep(interval - since + 0.1)
    return align(datetime.now(UTC), interval)


@pytest.mark.parametrize("spacing", [0.0, 0.5])
def test_the_controller_batches_rollouts_that_ask_within_its_window(
    prometheus_factory: Any, spacing: float
) -> None:
    """Three rollouts due at one boundary cost Prometheus one query per template, whether they
    ask within `batch_window` or further apart (separate batches): a later batch of the same
    tick is answered from what the first one read (`metrics.points`)."""
    import asyncio

    from modelrollout.controller.analysis_batcher import AnalysisBatcher

    prometheus = prometheus_factory.backfilled("# EOF\n")
    spec = AnalysisSpec(
        interval="30s",
        prometheus=PrometheusSpec(address=prometheus.url),
        metrics=[
            MetricSpec(name="errors", type=MetricType.ERROR_RATE, max_absolute_increase=0.01),
            MetricSpec(name="latency", type=MetricType.LATENCY, max_relative_increase=0.1),
        ],
    )
    at = _boundary_far_from_settling(30)
    requests = [
        EvaluationRequest(
            "team-a", model, model, "v1", "v2", spec, started_at=at - timedelta(minutes=3), at=at
        )
        for model in MODELS
    ]
    batcher = AnalysisBatcher(client=None, batch_window=0.2)  # type: ignore[arg-type]  # no Secrets named

    async def ask(index: int, request: EvaluationRequest) -> None:
        await asyncio.sleep(index * spacing)
        await batcher.evaluate(request)

    async def ask_all() -> None:
        await asyncio.gather(*(ask(i, r) for i, r in enumerate(requests)))

    before = _range_queries_served(prometheus.url)
    asyncio.run(ask_all())

    # requests, errors, latency buckets and latency sum: four templates, whatever the fleet size
    assert _range_queries_served(prometheus.url) - before == 4
