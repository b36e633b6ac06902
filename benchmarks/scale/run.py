"""One level of the scale benchmark: a fresh local control plane, one synthetic exporter, a real
Prometheus, N idle rollouts and the operator with its default flags; then, with the operator
stopped, the two reference loads on the same apiserver and Prometheus.

Phases, each exactly `intervals` analysis intervals long and aligned to the operator's grid:
1. operator: its requests (audit log), its CPU and RSS, the apiserver's and Prometheus' CPU,
   PromQL queries, and when each status showed each boundary (a watch);
2. status floor: one status PATCH per rollout per interval, the apiserver's CPU (Prometheus'
   CPU here is its scrape-only floor);
3. per-rollout queries: Prometheus' CPU and query count for Flagger-style queries.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelrollout_dev import LocalCluster, LocalClusterSettings, PrometheusServer, PrometheusSettings
from modelrollout_dev.audit import OPERATOR_USER, audit_counts
from modelrollout_dev.fleet import (
    FleetSpec,
    create_fleet,
    install_operator,
    operator_started,
    start_operator,
    statuses,
    stop_operator,
    wait_for,
)

from .exporter import SyntheticExporter
from .loads import per_rollout_queries, query_per_rollout, status_patches
from .probes import (
    CpuMeter,
    RolloutWatch,
    boundary_after,
    percentile,
    prometheus_queries,
    prometheus_query_seconds,
    rss_bytes,
)

PODS_PER_NODE = 200
"""Fewer than a kwok node's 250 pods, so the scheduler never runs out of room."""


@dataclass(frozen=True)
class Level:
    rollouts: int
    intervals: int
    interval: float = 30.0
    """Seconds: every rollout's `analysis.interval`."""
    scrape_interval: str = "5s"
    method: str = "sequential"
    """Every rollout's `analysis.method` (`fixed` separates the controller's costs from the
    statistics')."""
    warmup_intervals: int = 2
    """Whole intervals left unmeasured after every rollout's first analysis: the steady state the
    targets are about. At 1,000 on a slow machine the start (finalizers, first writes, their
    conflicts) is not over when the last first analysis is, and a window opened right away
    counts its end as steady-state cost."""

    @property
    def settle_timeout(self) -> float:
        return 180.0 + self.rollouts * 0.6


QUERY_COUNT_LEAD = 2.0
"""Seconds before a boundary at which Prometheus' query counter is read (no tick runs then)."""


IDLE_SETTLE_SECONDS = 5.0
"""After the operator started, how long its resident size must hold still to be its idle size."""


def idle_size(pid: int, log_path: Path) -> int:
    """The operator's RSS once it has started (imports, caches, kopf) and holds still: a fixed
    wait after the start read it mid-import on a loaded machine (tens of MB apart)."""
    wait_for(lambda: operator_started(log_path), 120, "the operator's start", 0.5)
    size, since = rss_bytes(pid), time.monotonic()
    deadline = since + 60
    while time.monotonic() - since < IDLE_SETTLE_SECONDS and time.monotonic() < deadline:
        time.sleep(0.5)
        now = rss_bytes(pid)
        if abs(now - size) > 256 * 1024:
            size, since = now, time.monotonic()
    return size


def start_environment(
    stack: contextlib.ExitStack,
    cluster: LocalCluster,
    namespace: str,
    models: list[str],
    scrape_interval: str,
) -> tuple[SyntheticExporter, PrometheusServer, Path]:
    """The control plane, the exporter of `models`' series, Prometheus scraping it, the CRD and
    RBAC, and `namespace`: each stopped by `stack`. Returns the operator's kubeconfig too."""
    cluster.start()
    stack.callback(cluster.stop, remove=True)
    exporter = SyntheticExporter(namespace, models).start()
    stack.callback(exporter.stop)
    prometheus = PrometheusServer(
        PrometheusSettings(scrape_interval=scrape_interval), targets=[exporter.target]
    )
    prometheus.start()
    stack.callback(prometheus.stop, remove=True)
    kubeconfig = install_operator(cluster)
    cluster.kubectl("create", "namespace", namespace)
    return exporter, prometheus, kubeconfig


CORES = len(os.sched_getaffinity(0))
"""The cores everything here shares: the operator, the control plane, Prometheus, the harness."""


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def run_level(level: Level, log: Any = print) -> dict[str, Any]:
    n, interval = level.rollouts, level.interval
    namespace = f"bench-{n}"
    settings = LocalClusterSettings(name=f"bench-scale-{n}-{os.getpid()}", nodes=n // PODS_PER_NODE + 2)
    cluster = LocalCluster(settings)
    with contextlib.ExitStack() as stack:
        log(f"[{n}] starting the control plane ({settings.nodes} kwok nodes)")
        models = [FleetSpec(namespace, n, "").name(i) for i in range(n)]
        exporter, prometheus, kubeconfig = start_environment(
            stack, cluster, namespace, models, level.scrape_interval
        )
        fleet = FleetSpec(namespace, n, prometheus.url, interval=f"{interval:.0f}s", method=level.method)
        operator = start_operator(namespace, kubeconfig, cluster.run_dir / "logs" / "operator.log")
        stack.callback(stop_operator, operator)
        apiserver_pid = cluster.pid("kube-apiserver")
        assert prometheus.pid is not None
        idle_rss = idle_size(operator.pid, cluster.run_dir / "logs" / "operator.log")
        watch = RolloutWatch(cluster.api_client(), namespace).start()
        stack.callback(watch.stop)

        log(f"[{n}] creating {n} Services and ModelRollouts")
        created = time.time()
        create_fleet(cluster, fleet, create_namespace=False)
        creation_seconds = time.time() - created
        wait_for(lambda: len(watch.in_analysis) >= n, level.settle_timeout, f"{n} rollouts in analysis", 1.0)
        to_analysis = max(watch.in_analysis.values()) - created
        log(f"[{n}] every rollout in analysis after {to_analysis:.1f}s; waiting for a first analysis of each")
        wait_for(
            lambda: sum(1 for r in watch.runs.values() if r >= 1) >= n,
            level.settle_timeout,
            "a first run",
            1.0,
        )

        # phase 1: the operator
        first = boundary_after(time.time() + level.warmup_intervals * interval, interval)
        end = first + level.intervals * interval
        # Queries are counted from just before `first` to just before `end`: exactly the ticks of
        # the boundaries measured, not the start of the one at `end`.
        _sleep_until(first - QUERY_COUNT_LEAD)
        queries_before = prometheus_queries(prometheus.url)
        query_seconds_before = prometheus_query_seconds(prometheus.url)
        _sleep_until(first)
        log(f"[{n}] measuring the operator for {level.intervals} intervals of {interval:.0f}s")
        meter = CpuMeter(
            {"operator": operator.pid, "apiserver": apiserver_pid, "prometheus": prometheus.pid},
            main_threads=("operator",),
        )
        meter.start()
        _sleep_until(end - QUERY_COUNT_LEAD)
        queries = prometheus_queries(prometheus.url) - queries_before
        query_seconds = prometheus_query_seconds(prometheus.url) - query_seconds_before
        _sleep_until(end)
        used = meter.stop()
        operator_rss = rss_bytes(operator.pid)
        requests = audit_counts(cluster.audit_log, OPERATOR_USER, _utc(first), _utc(end))
        boundaries = [first + i * interval for i in range(level.intervals)]
        latencies, skipped = watch.latencies(boundaries, interval)
        stop_operator(operator)
        last_statuses = statuses(cluster, namespace)

        # phase 2: the status floor
        first = boundary_after(time.time(), interval)
        _sleep_until(first)
        log(f"[{n}] status floor: one status PATCH per rollout per interval")
        floor_meter = CpuMeter({"apiserver": apiserver_pid, "prometheus": prometheus.pid}).start()
        floor = status_patches(
            cluster.api_client(), namespace, last_statuses, first, level.intervals, interval
        )
        floor_used = floor_meter.stop()

        # phase 3: per-rollout queries
        per_rollout = per_rollout_queries(namespace, models, interval)
        first = boundary_after(time.time(), interval)
        _sleep_until(first)
        log(f"[{n}] per-rollout queries: {len(per_rollout)} per interval")
        query_meter = CpuMeter({"prometheus": prometheus.pid}).start()
        queries_before = prometheus_queries(prometheus.url)
        asked = query_per_rollout(prometheus.url, per_rollout, first, level.intervals, interval)
        query_used = query_meter.stop()
        per_rollout_count = prometheus_queries(prometheus.url) - queries_before

    per_interval = float(level.intervals)
    per_rollout_interval = n * per_interval
    return {
        "level": asdict(level),
        "rollouts": n,
        "series": exporter.series,
        "creation_seconds": creation_seconds,
        "time_to_analysis_seconds": to_analysis,
        "operator": {
            "rss_idle_mb": idle_rss / 2**20,
            "rss_mb": operator_rss / 2**20,
            "rss_per_rollout_kb": (operator_rss - idle_rss) / 1024 / n,
            "cpu_seconds_per_interval": used["operator"] / per_interval,
            "cpu_ms_per_rollout_per_interval": 1000 * used["operator"] / per_rollout_interval,
            # The event loop (kopf's watches, daemons, the batcher's bookkeeping) apart from the
            # threads that read, reconcile, write and run the statistics.
            "event_loop_cpu_ms_per_rollout_per_interval": 1000 * used["operator:main"] / per_rollout_interval,
        },
        "requests": {
            "per_rollout_per_interval": sum(requests.values()) / per_rollout_interval,
            "by_verb_resource": {
                f"{verb} {resource}": count / per_rollout_interval
                for (verb, resource), count in sorted(requests.items(), key=lambda item: -item[1])
            },
        },
        "apiserver": {
            "cpu_seconds_per_interval": used["apiserver"] / per_interval,
            "floor_cpu_seconds_per_interval": floor_used["apiserver"] / per_interval,
            "ratio_to_floor": used["apiserver"] / max(floor_used["apiserver"], 1e-9),
            "floor_status_bytes": floor["status_bytes"],
            "floor_failures": floor["failures"],
        },
        "latency": {
            # The p99 target: within 10 s of the boundary plus the time the tick's queries took.
            "query_seconds_per_interval": query_seconds / per_interval,
            # The least any schedule could achieve on this machine: a status depends on data up
            # to the boundary, so the operator's and the apiserver's CPU of an interval (spent
            # mostly after its boundary) cannot all be done sooner than with every core on them.
            "cpu_bound_seconds": (used["operator"] + used["apiserver"]) / per_interval / CORES,
            "cores": CORES,
            "p50_seconds": percentile(latencies, 0.5),
            "p99_seconds": percentile(latencies, 0.99),
            "max_seconds": max(latencies, default=None),
            "written": len(latencies),
            "skipped": skipped,
            "watch_errors": watch.errors,
        },
        "promql": {
            "queries_per_interval": queries / per_interval,
            "prometheus_cpu_seconds_per_interval": used["prometheus"] / per_interval,
            "scrape_only_cpu_seconds_per_interval": floor_used["prometheus"] / per_interval,
            "per_rollout_mode": {
                "queries_per_interval": per_rollout_count / per_interval,
                "prometheus_cpu_seconds_per_interval": query_used["prometheus"] / per_interval,
                "slowest_interval_seconds": asked["slowest_interval_seconds"],
                "failures": asked["failures"],
            },
        },
    }
