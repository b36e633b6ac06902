"""`make demo`: the local cluster and Prometheus, the operator on its own ServiceAccount, and two
sample rollouts of fraud-scorer through the model router run to a verdict on real requests: v2
(as good as v1) is promoted, v3 (five times the errors) is rolled back. Model servers answer on
the kwok pods' IPs in a network namespace (so the demo needs root), the router fronts them and a
load generator sends users' requests through it the whole time (`demo_serving`). Everything it
starts is stopped at the end, also when it fails."""

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
from .demo_serving import DemoServing
from .loadgen import LoadReport
from .manifests import KWOK_TOLERATION
from .pod_network import claim_pod_cidr
from .prometheus import PrometheusServer
from .tools import free_port, repo_root

NAMESPACE = "demo"
FINAL = {"Promoted", "RolledBack", "Failed", "Paused"}
EXAMPLE = "manifests/examples/fraud-scorer-router.yaml"
RATE = 300.0
"""Users' requests per second through the router: enough for both verdicts in about a minute and
a half (the equivalence of v2's 1% errors within the 1 pp margin takes the most samples), little
enough for two cores that also run the control plane, the router and the model servers."""
HEALTH = ["--seed", "7", "--latency-median", "0.04", "--latency-sigma", "0.3"]
"""One model (seed) and one latency for every version, so only the error rate tells them apart."""
SERVER_ARGS = {
    "v1": [*HEALTH, "--error-rate", "0.01"],
    "v2": [*HEALTH, "--error-rate", "0.01"],
    "v3": [*HEALTH, "--error-rate", "0.05"],
}


def _say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def _apply_example(cluster: LocalCluster, prometheus_url: str, stable: str, candidate: str | None) -> None:
    """The example as shipped, but for the versions (no candidate: the stable alone)."""
    documents = list(yaml.safe_load_all((repo_root() / EXAMPLE).read_text()))
    for document in documents:
        document["metadata"]["namespace"] = NAMESPACE
        if document["kind"] == "ModelRollout":
            spec = document["spec"]
            spec["analysis"]["prometheus"]["address"] = prometheus_url
            for role in ("stable", "candidate"):  # the example fits any cluster; kwok's nodes are tainted
                pod = spec[role]["template"]["spec"]
                pod.update(tolerations=[KWOK_TOLERATION], nodeSelector={"type": "kwok"})
            for role, chosen in (("stable", stable), ("candidate", candidate)):
                if chosen is None:
                    del spec[role]
                    continue
                spec[role]["version"] = chosen
                spec[role]["template"]["spec"]["containers"][0]["image"] = (
                    f"registry.local/fraud-scorer:{chosen}"
                )
    cluster.kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": documents})
    )


def _watch(cluster: LocalCluster, candidate: str, serving: DemoServing, timeout: float = 300) -> str:
    """Print `kubectl get modelrollouts` whenever it changes, until a verdict."""
    deadline = time.monotonic() + timeout
    last = ""
    header_shown = False
    while time.monotonic() < deadline:
        serving.check()
        status = json.loads(
            cluster.kubectl("get", "mro", "fraud-scorer", "-n", NAMESPACE, "-o", "json").stdout
        )
        # the table is read after the status, so the verdict's own line is printed before returning
        table = cluster.kubectl("get", "modelrollouts", "-n", NAMESPACE).stdout.strip()
        lines = table.splitlines()
        columns = lines[1].rsplit(None, 1)[0] if len(lines) > 1 else ""  # all but AGE
        if columns and columns != last:
            if not header_shown:
                print(lines[0])
                header_shown = True
            print(lines[1], flush=True)
            last = columns
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
    if os.geteuid() != 0:
        print(
            "make demo needs root: real model servers answer on the kwok pods' IPs inside a network "
            "namespace (ip netns, a veth pair and a host route), which only root can create. "
            "Run it as root (sudo make demo).",
            file=sys.stderr,
        )
        return 2
    t0 = time.monotonic()
    claim = claim_pod_cidr()  # a pod CIDR no other run on this machine routes
    cluster = LocalCluster(LocalClusterSettings(name="demo", pod_cidr=claim.pod_cidr))
    operator: subprocess.Popen[bytes] | None = None
    serving: DemoServing | None = None
    prometheus: PrometheusServer | None = None
    report: LoadReport | None = None
    try:
        _say("starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)")
        cluster.start()
        print(
            f"ready in {cluster.started_in:.1f}s; KUBECONFIG={cluster.kubeconfig}; pod CIDR {claim.pod_cidr}"
        )
        print(cluster.kubectl("get", "nodes").stdout)
        root = repo_root()
        cluster.kubectl("apply", "--server-side", "-f", str(root / "crds/modelrollout.io_modelrollouts.yaml"))
        cluster.wait_established("modelrollouts.modelrollout.io")
        cluster.kubectl("apply", "-f", str(root / "manifests/install/rbac.yaml"))
        cluster.kubectl("create", "namespace", NAMESPACE)
        operator_config = cluster.service_account_kubeconfig(
            "modelrollout-system", "modelrollout-operator", cluster.run_dir / "operator.kubeconfig"
        )
        serving = DemoServing(cluster, claim, NAMESPACE, "fraud-scorer", "fraud-scorer", SERVER_ARGS, RATE)
        _say(
            f"model servers on the pods' IPs ({claim.pod_cidr}, network namespace), v3 with five times "
            f"the errors; the model router at {serving.router_url} as ServiceAccount {NAMESPACE}/model-router"
        )
        serving.start()
        prometheus = PrometheusServer(targets=[serving.metrics_target]).start()
        _say(f"Prometheus at {prometheus.url} scrapes the router")
        log_path = cluster.run_dir / "operator.log"
        metrics_port = free_port()
        _say(
            "starting the operator as ServiceAccount modelrollout-system/modelrollout-operator "
            f"(metrics on :{metrics_port}, log {log_path})"
        )
        with log_path.open("wb") as log:
            operator = subprocess.Popen(
                [sys.executable, "-m", "modelrollout", "--namespace", NAMESPACE, "--kubeconfig", str(operator_config),
                 "--metrics-port", str(metrics_port)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "KUBECONFIG": str(operator_config)},
            )  # fmt: skip
        _say(f"kubectl apply -f {EXAMPLE}, first without its candidate: the stable v1 alone")
        _apply_example(cluster, prometheus.url, "v1", None)
        serving.wait_serving("v1", replicas=4)
        print(cluster.kubectl("get", "modelrollouts", "-n", NAMESPACE).stdout.rstrip())
        serving.start_load()
        _say(
            f"users send {RATE:.0f} requests/s through the router (load generator, at most "
            f"{serving.concurrency} in flight), for the rest of the demo"
        )
        _say(f"kubectl apply -f {EXAMPLE}   (candidate v2: as good as v1)")
        _apply_example(cluster, prometheus.url, "v1", "v2")
        first = _watch(cluster, "v2", serving)
        _show(cluster)
        _say("a new candidate v3 with five times the error rate")
        _apply_example(cluster, prometheus.url, "v2", "v3")
        verdict = _watch(cluster, "v3", serving)
        _show(cluster)
        report = serving.stop_load()
        _say(f"done in {time.monotonic() - t0:.0f}s: v2 {first}, v3 {verdict}")
        print(_load_line(report))
        return 0 if (first, verdict) == ("Promoted", "RolledBack") else 1
    finally:
        # Stop everything even if one stop fails, so the demo never leaves processes, a network
        # namespace or a veth behind (callbacks run last-registered first).
        with contextlib.ExitStack() as stack:
            stack.callback(claim.release)
            stack.callback(cluster.stop)
            if prometheus is not None:
                stack.callback(prometheus.stop, remove=True)
            if serving is not None:
                stack.callback(serving.stop)
            if operator is not None:
                stack.callback(_stop_process, operator)
        print(f"(stopped everything; logs kept in {Path(cluster.run_dir) / 'logs'})")


def _load_line(report: LoadReport | None) -> str:
    if report is None:
        return "load generator: no report"
    versions = ", ".join(f"{version} {count}" for version, count in sorted(report.by_version.items()))
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(report.by_status.items()))
    unanswered = sum(report.by_status.get(kind, 0) for kind in ("connection-error", "timeout"))
    answered = (
        "every user answered"
        if unanswered == 0 and report.skipped == 0
        else (f"{unanswered} unanswered, {report.skipped} skipped at the concurrency bound")
    )
    return f"load generator: {report.sent} requests through the router, answered by {versions} ({statuses}); {answered}"


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
