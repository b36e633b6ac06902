"""Operator RSS per rollout above its idle size, alone: the first phase of `make bench-scale`
(benchmarks/scale/run.py) up to its RSS reading, without the reference loads that follow, so a
level takes minutes less. Same method: idle RSS 5 s after the operator starts, then N rollouts
(analysis.method fixed, 30 s interval, real series from the synthetic exporter), a first analysis
of each, three more intervals, RSS again. Run it from the checkout to measure.

    PYTHONPATH=operator:. python hack/scale_memory.py 100,300
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

from benchmarks.scale.exporter import SyntheticExporter
from benchmarks.scale.probes import RolloutWatch, boundary_after, rss_bytes
from benchmarks.scale.run import PODS_PER_NODE, Level

from modelrollout_dev import LocalCluster, LocalClusterSettings, PrometheusServer, PrometheusSettings
from modelrollout_dev.fleet import (
    FleetSpec,
    create_fleet,
    install_operator,
    start_operator,
    stop_operator,
    wait_for,
)


def measure(level: Level) -> dict[str, float]:
    n, namespace = level.rollouts, f"bench-{level.rollouts}"
    cluster = LocalCluster(LocalClusterSettings(name=f"bench-mem-{n}", nodes=n // PODS_PER_NODE + 2))
    with contextlib.ExitStack() as stack:
        cluster.start()
        stack.callback(cluster.stop, remove=True)
        exporter = SyntheticExporter(
            namespace, [FleetSpec(namespace, n, "").name(i) for i in range(n)]
        ).start()
        stack.callback(exporter.stop)
        prometheus = PrometheusServer(
            PrometheusSettings(scrape_interval=level.scrape_interval), targets=[exporter.target]
        )
        prometheus.start()
        stack.callback(prometheus.stop, remove=True)
        fleet = FleetSpec(
            namespace, n, prometheus.url, interval=f"{level.interval:.0f}s", method=level.method
        )
        kubeconfig = install_operator(cluster)
        cluster.kubectl("create", "namespace", namespace)
        operator = start_operator(namespace, kubeconfig, cluster.run_dir / "logs" / "operator.log")
        stack.callback(stop_operator, operator)
        time.sleep(5.0)
        idle = rss_bytes(operator.pid)
        watch = RolloutWatch(cluster.api_client(), namespace).start()
        stack.callback(watch.stop)
        create_fleet(cluster, fleet, create_namespace=False)
        wait_for(lambda: len(watch.in_analysis) >= n, level.settle_timeout, "in analysis", 1.0)
        wait_for(
            lambda: sum(1 for r in watch.runs.values() if r >= 1) >= n, level.settle_timeout, "a run", 1.0
        )
        first = boundary_after(time.time(), level.interval)
        time.sleep(max(0.0, first + level.intervals * level.interval - time.time()))
        rss = rss_bytes(operator.pid)
    return {
        "rollouts": n,
        "rss_idle_mb": idle / 2**20,
        "rss_mb": rss / 2**20,
        "rss_per_rollout_kb": (rss - idle) / 1024 / n,
    }


if __name__ == "__main__":
    for count in sys.argv[1].split(","):
        print(json.dumps(measure(Level(int(count), intervals=3, method="fixed"))), flush=True)
