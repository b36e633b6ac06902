"""Where each rollout's memory and CPU go: the operator (under `hack/operator_profiled.py`) at N
idle rollouts, then at 2N, on the local control plane with the scale benchmark's exporter and a
real Prometheus. Dumps (RSS, malloc, tracemalloc snapshot, CPU profile) are taken when idle,
after N settled, after `--intervals` intervals at N, after 2N settled and after `--intervals` more;
`hack/scale_profile_report.py OUTDIR` compares them per rollout.

    PYTHONPATH=operator:. python hack/scale_profile.py --rollouts 150 --out /tmp/prof [--tracemalloc 8]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.scale.probes import RolloutWatch, boundary_after
from benchmarks.scale.run import PODS_PER_NODE, start_environment

from modelrollout_dev import LocalCluster, LocalClusterSettings
from modelrollout_dev.fleet import (
    FleetSpec,
    apply_all,
    idle_rollout,
    model_service,
    stop_operator,
    wait_for,
)
from modelrollout_dev.tools import repo_root


def dump(out: Path, name: str, trim: bool = False, trace: bool = False) -> None:
    (out / f"request-{name}").write_text(("trim " if trim else "") + ("trace" if trace else ""))
    wait_for(lambda: (out / f"{name}.json").exists(), 300, f"dump {name}", 0.2)
    print(f"dumped {name}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rollouts", type=int, default=150)
    parser.add_argument("--intervals", type=int, default=2)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--method", default="fixed")
    parser.add_argument("--tracemalloc", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the operator")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop what was started
    n, total = args.rollouts, 2 * args.rollouts
    namespace = "bench-prof"
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    cluster = LocalCluster(
        LocalClusterSettings(name=f"prof-e-{os.getpid()}", nodes=total // PODS_PER_NODE + 2)
    )
    with contextlib.ExitStack() as stack:
        fleet_names = [FleetSpec(namespace, total, "").name(i) for i in range(total)]
        _, prometheus, kubeconfig = start_environment(stack, cluster, namespace, fleet_names, "5s")
        fleet = FleetSpec(
            namespace, total, prometheus.url, interval=f"{args.interval:.0f}s", method=args.method
        )
        own = [str(out)] + (["--tracemalloc", str(args.tracemalloc)] if args.tracemalloc else [])
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        env.update(item.split("=", 1) for item in args.env)
        log = (out / "operator.log").open("wb")
        operator = subprocess.Popen(
            [sys.executable, str(repo_root() / "hack" / "operator_profiled.py"), *own, "--",
             "--namespace", namespace, "--kubeconfig", str(kubeconfig), "--metrics-port", "0"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=repo_root(), env=env,
        )  # fmt: skip
        stack.callback(stop_operator, operator)
        time.sleep(15.0)  # the imports and the first LISTs
        dump(out, "idle", trim=False)
        if args.tracemalloc:
            dump(out, "tracing", trace=True)
        watch = RolloutWatch(cluster.api_client(), namespace).start()
        stack.callback(watch.stop)
        timeout = 180 + total * 0.6

        for label, indices in (("n", range(n)), ("2n", range(n, total))):
            count = indices.stop
            apply_all(cluster, [model_service(fleet, i) for i in indices])
            apply_all(cluster, [idle_rollout(fleet, i) for i in indices])
            wait_for(lambda c=count: len(watch.in_analysis) >= c, timeout, f"{count} in analysis", 1.0)
            wait_for(
                lambda c=count: sum(1 for r in watch.runs.values() if r >= 1) >= c, timeout, "a run", 1.0
            )
            first = boundary_after(time.time(), args.interval) + args.interval * 0.5
            time.sleep(max(0.0, first - time.time()))
            dump(out, f"{label}-settled")
            time.sleep(max(0.0, first + args.intervals * args.interval - time.time()))
            dump(out, f"{label}-steady", trim=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
