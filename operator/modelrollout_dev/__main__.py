"""`python -m modelrollout_dev cluster-up | cluster-down | status`: the local environment for people.

`make cluster-up` leaves the control plane and a Prometheus running in the background (their pids
recorded in the run directory); `make cluster-down` stops them by pid.
"""

from __future__ import annotations

import argparse
import sys
import time

from .cluster import LocalCluster, LocalClusterSettings, recorded_running
from .prometheus import PrometheusServer, PrometheusSettings
from .tools import cache_dir, process_identity


def _settings(name: str) -> LocalClusterSettings:
    return LocalClusterSettings(name=name, detach=True)


def cluster_up(name: str) -> LocalCluster:
    cluster = LocalCluster(_settings(name))
    t0 = time.monotonic()
    cluster.start()
    prometheus_dir = cluster.run_dir / "prometheus"
    prometheus_dir.mkdir()
    prometheus = PrometheusServer(settings=PrometheusSettings(detach=True), data_dir=prometheus_dir)
    prometheus.start()
    assert prometheus.pid is not None
    identity = process_identity(prometheus.pid)
    (cluster.run_dir / "pids" / "99-prometheus.pid").write_text(f"{prometheus.pid} {identity}\n")
    (cluster.run_dir / "prometheus.url").write_text(prometheus.url + "\n")
    kubectl = cluster.run_dir / "bin" / "kubectl"
    print(
        f"local cluster ready in {time.monotonic() - t0:.1f}s (apiserver {cluster.server})\n"
        f"  export KUBECONFIG={cluster.kubeconfig}\n"
        f"  export KUBECACHEDIR={cluster.run_dir / 'kube-cache'}\n"
        f"  {kubectl} get nodes\n"
        f"Prometheus: {prometheus.url}  (curl '{prometheus.url}/api/v1/query?query=up')\n"
        f"logs: {cluster.run_dir / 'logs'}   stop: make cluster-down"
    )
    return cluster


def cluster_down(name: str) -> None:
    LocalCluster(_settings(name)).stop_recorded()
    print(f"stopped the local cluster '{name}' (run dir {cache_dir() / 'run' / name})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelrollout_dev")
    parser.add_argument("command", choices=["cluster-up", "cluster-down", "status", "demo"])
    parser.add_argument("--name", default="modelrollout", help="run directory name")
    args = parser.parse_args(argv)
    if args.command == "cluster-up":
        cluster_up(args.name)
    elif args.command == "demo":
        from .demo import run

        return run()
    elif args.command == "cluster-down":
        cluster_down(args.name)
    else:
        up = recorded_running(_settings(args.name))
        print("running" if up else "not running")
        return 0 if up else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
