"""Many idle ModelRollouts at once, for the request-count test and `make bench-scale`.

Idle: each sits in an analysis step whose metrics are all `dryRun` (measured, never deciding) with
a `maxDuration` far past any run, and its only step is that analysis, so the candidate is at
weight 0 and nothing ever moves. What the operator then does is exactly its steady-state cost:
one analysis per interval and whatever it reads and writes around it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cluster import LocalCluster
from .manifests import pod_template
from .rbac import OPERATOR_ACCOUNT, OPERATOR_NAMESPACE
from .tools import repo_root, stop_pid

CHUNK = 200
"""Objects per `kubectl apply`: bounded, so one call never holds thousands of objects in memory."""


@dataclass(frozen=True)
class FleetSpec:
    namespace: str
    count: int
    prometheus_url: str
    interval: str = "30s"
    """`analysis.interval` of every rollout."""
    method: str = "sequential"
    """`analysis.method`: the default anytime-valid tests, or `fixed` (cheap statistics, so a run
    measures the controller's own costs apart from the statistics')."""
    max_duration: str = "24h"
    """Far past any run, so the analysis step never ends."""
    headless_beyond: int = 200
    """Services past this index get `clusterIP: None`: the local Service CIDR is a /24."""
    prefix: str = "m"

    def name(self, index: int) -> str:
        return f"{self.prefix}-{index:05d}"


def idle_rollout(fleet: FleetSpec, index: int) -> dict[str, Any]:
    name = fleet.name(index)
    labels = {"app": name}
    return {
        "apiVersion": "modelrollout.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {"name": name, "namespace": fleet.namespace},
        "spec": {
            "model": name,
            "service": name,
            "replicas": 1,
            "stable": {"version": "v1", "template": pod_template(labels)},
            "candidate": {
                "version": "v2",
                "template": pod_template(labels, image=f"registry.local/{name}:v2"),
            },
            "strategy": {"type": "Canary", "canary": {"steps": [{"analysis": {}}]}},
            "analysis": {
                "interval": fleet.interval,
                "method": fleet.method,
                "maxDuration": fleet.max_duration,
                "minSamples": 100,
                "prometheus": {"address": fleet.prometheus_url},
                "metrics": [
                    {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.1, "dryRun": True},
                    {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.005, "dryRun": True},
                ],
            },
        },
    }


def model_service(fleet: FleetSpec, index: int) -> dict[str, Any]:
    name = fleet.name(index)
    spec: dict[str, Any] = {
        "selector": {"app": name},
        "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
    }
    if index >= fleet.headless_beyond:
        spec["clusterIP"] = "None"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": fleet.namespace},
        "spec": spec,
    }


def apply_all(cluster: LocalCluster, objects: list[dict[str, Any]]) -> None:
    """Server-side apply in chunks (one kubectl per chunk, not per object)."""
    for start in range(0, len(objects), CHUNK):
        chunk = {"apiVersion": "v1", "kind": "List", "items": objects[start : start + CHUNK]}
        cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(chunk))


def create_fleet(cluster: LocalCluster, fleet: FleetSpec, create_namespace: bool = True) -> None:
    """The namespace (unless it exists), every model's Service, then every ModelRollout."""
    if create_namespace:
        cluster.kubectl("create", "namespace", fleet.namespace)
    wait_for(lambda: cluster.service_account_exists("default", fleet.namespace), 30, "default ServiceAccount")
    apply_all(cluster, [model_service(fleet, index) for index in range(fleet.count)])
    apply_all(cluster, [idle_rollout(fleet, index) for index in range(fleet.count)])


def statuses(cluster: LocalCluster, namespace: str) -> dict[str, dict[str, Any]]:
    """Every ModelRollout's status in the namespace, by name (one LIST)."""
    listed = json.loads(cluster.kubectl("get", "modelrollouts", "-n", namespace, "-o", "json").stdout)
    return {item["metadata"]["name"]: dict(item.get("status") or {}) for item in listed["items"]}


def analysis_runs(status: dict[str, Any]) -> int:
    return int((status.get("analysis") or {}).get("runs") or 0)


def wait_for(probe: Callable[[], bool], timeout: float, what: str, every: float = 0.5) -> float:
    """Seconds until `probe()` held; raises TimeoutError naming `what` after `timeout`."""
    t0 = time.monotonic()
    while not probe():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - t0


def install_operator(cluster: LocalCluster) -> Path:
    """The CRD and the cluster-wide RBAC; returns a kubeconfig holding only the operator's token."""
    root = repo_root()
    cluster.kubectl("apply", "--server-side", "-f", str(root / "crds/modelrollout.io_modelrollouts.yaml"))
    cluster.wait_established("modelrollouts.modelrollout.io")
    cluster.kubectl("apply", "-f", str(root / "manifests/install/rbac.yaml"))
    return cluster.service_account_kubeconfig(
        OPERATOR_NAMESPACE, OPERATOR_ACCOUNT, cluster.run_dir / "fleet-operator.kubeconfig"
    )


def operator_started(log_path: Path) -> bool:
    """Whether the operator has imported everything, listed its caches and started kopf: from
    then on its resident size is its idle size."""
    try:
        return STARTED_LINE in log_path.read_text(errors="replace")
    except OSError:
        return False


STARTED_LINE = "Initial authentication has finished"
"""kopf's log line once its startup handlers ran (after the operator's caches synced)."""


def start_operator(namespace: str, kubeconfig: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """The operator serving `namespace` with its default flags, as the kubeconfig's identity, but
    no /metrics: a test beside it may run another operator on this host (the default port)."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "modelrollout", "--namespace", namespace, "--kubeconfig", str(kubeconfig),
             "--metrics-port", "0"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=repo_root(),
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        )  # fmt: skip


def stop_operator(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, SIGKILL after 20 s (kopf cancels every rollout's daemon first)."""
    stop_pid(process.pid, timeout=20)
    process.poll()
