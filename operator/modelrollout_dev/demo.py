"""`make demo`: the local cluster and Prometheus, the operator on its own ServiceAccount, and two
sample rollouts of fraud-scorer run to a verdict: v2 (as good as v1) is promoted, v3 (five times
the errors) is rolled back. Everything it starts is stopped at the end."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .cluster import LocalCluster, LocalClusterSettings
from .manifests import KWOK_TOLERATION
from .model_traffic import Behaviour, ModelTraffic, ready_pods_reader
from .prometheus import PrometheusServer
from .tools import repo_root

NAMESPACE = "demo"
FINAL = {"Promoted", "RolledBack", "Failed", "Paused"}


def _say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def _apply_example(
    cluster: LocalCluster, prometheus_url: str, stable: str | None = None, candidate: str | None = None
) -> None:
    documents = list(yaml.safe_load_all((repo_root() / "manifests/examples/fraud-scorer.yaml").read_text()))
    for document in documents:
        document["metadata"]["namespace"] = NAMESPACE
        if document["kind"] == "ModelRollout":
            document["spec"]["analysis"]["prometheus"]["address"] = prometheus_url
            for version in ("stable", "candidate"):  # the example fits any cluster; kwok's nodes are tainted
                pod = document["spec"][version]["template"]["spec"]
                pod.update(tolerations=[KWOK_TOLERATION], nodeSelector={"type": "kwok"})
            if stable and candidate:
                document["spec"]["stable"]["version"] = stable
                document["spec"]["candidate"]["version"] = candidate
                image = document["spec"]["candidate"]["template"]["spec"]["containers"][0]
                image["image"] = f"registry.local/fraud-scorer:{candidate}"
    cluster.kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": documents})
    )


def _watch(cluster: LocalCluster, candidate: str, timeout: float = 300) -> str:
    """Print `kubectl get modelrollouts` whenever it changes, until a verdict."""
    deadline = time.monotonic() + timeout
    last = ""
    header_shown = False
    while time.monotonic() < deadline:
        table = cluster.kubectl("get", "modelrollouts", "-n", NAMESPACE).stdout.strip()
        lines = table.splitlines()
        columns = lines[1].rsplit(None, 1)[0] if len(lines) > 1 else ""  # all but AGE
        if columns and columns != last:
            if not header_shown:
                print(lines[0])
                header_shown = True
            print(lines[1], flush=True)
            last = columns
        status = json.loads(
            cluster.kubectl("get", "mro", "fraud-scorer", "-n", NAMESPACE, "-o", "json").stdout
        )
        current = status.get("status") or {}
        phase = current.get("phase", "")
        about_candidate = candidate in (current.get("candidateVersion"), current.get("stableVersion"))
        if (
            phase in FINAL
            and about_candidate
            and current.get("observedGeneration") == status["metadata"]["generation"]
        ):
            return str(phase)
        time.sleep(1)
    raise TimeoutError("no verdict within the demo's time")


def _show(cluster: LocalCluster) -> None:
    status = json.loads(cluster.kubectl("get", "mro", "fraud-scorer", "-n", NAMESPACE, "-o", "json").stdout)[
        "status"
    ]
    analysis = status.get("analysis") or {}
    score = analysis.get("score")
    shown = f"{score:.0f}/100" if isinstance(score, int | float) else "-"
    print(f"verdict: {analysis.get('verdict')}  score: {shown}")
    for metric in analysis.get("metrics", []):
        print(f"  - {metric['name']}: {metric['verdict']}: {metric.get('explanation', '')}")
    print("lineage:")
    for entry in status.get("lineage", []):
        print(
            f"  {entry['version']:>4}  parent={entry.get('parent')}  outcome={entry['outcome']}  {entry.get('reason', '')}"
        )
    print(cluster.kubectl("get", "deployments", "-n", NAMESPACE).stdout)


def run() -> int:
    t0 = time.monotonic()
    cluster = LocalCluster(LocalClusterSettings(name="demo"))
    _say("starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)")
    cluster.start()
    print(f"ready in {cluster.started_in:.1f}s; KUBECONFIG={cluster.kubeconfig}")
    print(cluster.kubectl("get", "nodes").stdout)
    operator: subprocess.Popen[bytes] | None = None
    traffic: ModelTraffic | None = None
    prometheus: PrometheusServer | None = None
    try:
        root = repo_root()
        cluster.kubectl("apply", "--server-side", "-f", str(root / "crds/modelrollout.io_modelrollouts.yaml"))
        cluster.kubectl("wait", "--for=condition=Established", "crd/modelrollouts.modelrollout.io")
        cluster.kubectl("apply", "-f", str(root / "manifests/install/rbac.yaml"))
        cluster.kubectl("create", "namespace", NAMESPACE)
        operator_config = cluster.service_account_kubeconfig(
            "modelrollout-system", "modelrollout-operator", cluster.run_dir / "operator.kubeconfig"
        )
        behaviours = {
            "v1": Behaviour(),
            "v2": Behaviour(),
            "v3": Behaviour(error_rate=0.05),
        }
        traffic = ModelTraffic(
            namespace=NAMESPACE,
            model="fraud-scorer",
            rps=300,
            behaviours=behaviours,
            ready_pods=ready_pods_reader(lambda *a: cluster.kubectl(*a), NAMESPACE, "fraud-scorer"),
        ).start()
        prometheus = PrometheusServer(targets=[traffic.target]).start()
        _say(f"Prometheus at {prometheus.url} scrapes simulated fraud-scorer traffic (300 rps)")
        log_path = cluster.run_dir / "operator.log"
        _say(
            f"starting the operator as ServiceAccount modelrollout-system/modelrollout-operator (log {log_path})"
        )
        with log_path.open("wb") as log:
            operator = subprocess.Popen(
                [sys.executable, "-m", "modelrollout", "--namespace", NAMESPACE, "--kubeconfig", str(operator_config)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "KUBECONFIG": str(operator_config)},
            )  # fmt: skip
        _say(
            "kubectl apply -f manifests/examples/fraud-scorer.yaml   (stable v1, candidate v2: as good as v1)"
        )
        _apply_example(cluster, prometheus.url)
        first = _watch(cluster, "v2")
        _show(cluster)
        _say("a new candidate v3 with five times the error rate")
        _apply_example(cluster, prometheus.url, stable="v2", candidate="v3")
        verdict = _watch(cluster, "v3")
        _show(cluster)
        _say(f"done in {time.monotonic() - t0:.0f}s: v2 {first}, v3 {verdict}")
        return 0 if (first, verdict) == ("Promoted", "RolledBack") else 1
    finally:
        # Stop everything even if one stop fails, so the demo never leaves processes behind.
        with contextlib.ExitStack() as stack:
            stack.callback(cluster.stop)
            if prometheus is not None:
                stack.callback(prometheus.stop, remove=True)
            if traffic is not None:
                stack.callback(traffic.stop)
            if operator is not None:
                stack.callback(_stop_process, operator)
        print(f"(stopped everything; logs kept in {Path(cluster.run_dir) / 'logs'})")


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
