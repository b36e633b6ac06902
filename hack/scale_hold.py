"""N idle rollouts with the operator, as the scale benchmark sets them up, held until SIGTERM: a
cluster to look into (its audit log, the operator's log, a sampling profiler attached).

    PYTHONPATH=operator:. python hack/scale_hold.py 1000 &
    # once it prints "ready OPERATOR_PID APISERVER_PID" (and writes them to /tmp/scale-hold.ready):
    pip install py-spy   # not a project dependency
    py-spy record --pid OPERATOR_PID --duration 90 --gil --threads --nonblocking --format raw -o spy.txt

`--gil` samples only the thread holding the GIL, so a thread waiting for it (or for a socket)
counts nothing; the run directory (logs/audit.log, logs/operator.log) is printed at the start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from benchmarks.scale.probes import RolloutWatch
from benchmarks.scale.run import PODS_PER_NODE, start_environment

from modelrollout_dev import LocalCluster, LocalClusterSettings
from modelrollout_dev.fleet import FleetSpec, create_fleet, start_operator, stop_operator, wait_for

READY = Path("/tmp/scale-hold.ready")


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the ExitStack stops what was started
    namespace = f"bench-{n}"
    cluster = LocalCluster(LocalClusterSettings(name=f"hold-{n}-{os.getpid()}", nodes=n // PODS_PER_NODE + 2))
    with contextlib.ExitStack() as stack:
        models = [FleetSpec(namespace, n, "").name(i) for i in range(n)]
        _exporter, prometheus, kubeconfig = start_environment(stack, cluster, namespace, models, "5s")
        print(f"run directory {cluster.run_dir}", flush=True)
        fleet = FleetSpec(namespace, n, prometheus.url, interval="30s")
        operator = start_operator(namespace, kubeconfig, cluster.run_dir / "logs" / "operator.log")
        stack.callback(stop_operator, operator)
        watch = RolloutWatch(cluster.api_client(), namespace).start()
        stack.callback(watch.stop)
        create_fleet(cluster, fleet, create_namespace=False)
        wait_for(lambda: sum(1 for r in watch.runs.values() if r >= 1) >= n, 180 + n * 0.9, "first runs", 1.0)
        READY.write_text(f"{operator.pid} {cluster.pid('kube-apiserver')}\n")
        print("ready", operator.pid, cluster.pid("kube-apiserver"), flush=True)
        while True:
            time.sleep(5)


if __name__ == "__main__":
    sys.exit(main())
