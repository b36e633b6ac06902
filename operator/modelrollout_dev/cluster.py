"""A real Kubernetes control plane as local processes: etcd, kube-apiserver, controller-manager,
scheduler (built from source by hack/build-tools.sh) and kwok playing the nodes.

Why by hand and not kwokctl: the apiserver must listen on 127.0.0.1 only, with RBAC and the
controller-manager on its own identity, so least-privilege RBAC is exercised the way a real
cluster does it. Every process is started with its own log and stopped by pid.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import pki
from .audit import audit_policy, settings_fingerprint
from .kubeconfig import write_kubeconfig
from .tools import ToolPaths, cache_dir, free_port, is_running, process_identity, stop_pid, tail


class ClusterError(RuntimeError):
    """A component did not start; the message carries the end of its log."""


@dataclass
class LocalClusterSettings:
    name: str = "modelrollout"
    """Run directory name under `<cache>/run/`; wiped at every start (data dirs are fresh)."""
    nodes: int = 3
    """Fake kwok nodes to create."""
    node_cpu: str = "32"
    """Capacity of each fake node; generous so scheduling never limits a test."""
    node_memory: str = "128Gi"
    start_timeout: float = 120.0
    """Seconds to wait for /readyz, the default ServiceAccount and the nodes."""
    detach: bool = False
    """Start components in their own session so they outlive this Python process (`make cluster-up`)."""
    audited_groups: tuple[str, ...] = ("system:serviceaccounts:modelrollout-system",)
    """Users in these groups have every request audited at level Metadata (to count the operator's
    requests per verb and resource); everyone else's are not logged, so the audit log costs the
    apiserver next to nothing. Empty: no audit log at all."""
    audit_log_max_mb: int = 200
    """Size at which the apiserver rotates the audit log (it keeps `audit_log_backups` old files)."""
    audit_log_backups: int = 3
    pod_cidr: str = "10.244.0.0/16"
    """kwok's pod IP range (`--cidr`). Clusters running at once whose pods are served on a pod
    network need different ones: `pod_network.claim_pod_cidr()` hands them out."""


@dataclass
class LocalCluster:
    settings: LocalClusterSettings = field(default_factory=LocalClusterSettings)
    tools: ToolPaths = field(default_factory=ToolPaths.from_cache)
    run_dir: Path = field(init=False)
    server: str = field(init=False, default="")
    started_in: float = field(init=False, default=0.0)
    _procs: dict[str, subprocess.Popen[bytes]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.run_dir = cache_dir() / "run" / self.settings.name

    # -- paths people and tests use ---------------------------------------------------------
    @property
    def pki_dir(self) -> Path:
        return self.run_dir / "pki"

    @property
    def audit_log(self) -> Path:
        """The apiserver's audit log (JSON lines; see `modelrollout_dev.audit` to read it)."""
        return self.run_dir / "logs" / "audit.log"

    @property
    def kubeconfig(self) -> Path:
        """Admin kubeconfig (system:masters)."""
        return self.run_dir / "admin.kubeconfig"

    @property
    def env(self) -> dict[str, str]:
        """Environment for kubectl/helm: this cluster's kubeconfig and a private discovery cache."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["KUBECACHEDIR"] = str(self.run_dir / "kube-cache")
        env["HELM_CACHE_HOME"] = str(self.run_dir / "helm" / "cache")
        env["HELM_CONFIG_HOME"] = str(self.run_dir / "helm" / "config")
        env["HELM_DATA_HOME"] = str(self.run_dir / "helm" / "data")
        env["PATH"] = f"{self.run_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> LocalCluster:
        self.tools.ensure_built()
        t0 = time.monotonic()
        self.stop_recorded()
        shutil.rmtree(self.run_dir, ignore_errors=True)
        (self.run_dir / "logs").mkdir(parents=True)
        (self.run_dir / "pids").mkdir()
        self._link_tools()
        pki.make_all(self.pki_dir)
        try:
            self._start_components()
            self._wait_ready(t0)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - t0
        (self.run_dir / "started_in").write_text(f"{self.started_in:.2f}\n")
        return self

    def stop(self, remove: bool = False) -> None:
        """Stop every component; `remove` also deletes the run directory (etcd data, logs)."""
        for name in reversed(list(self._procs)):
            stop_pid(self._procs[name].pid)
            self._procs[name].wait(timeout=5)
        self._procs.clear()
        self.stop_recorded()
        if remove:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def stop_recorded(self) -> None:
        """Stop the processes a previous start left in `pids/` (also from another Python process)."""
        pid_dir = self.run_dir / "pids"
        if not pid_dir.is_dir():
            return
        for pid_file in sorted(pid_dir.glob("*.pid"), reverse=True):
            pid, _, identity = pid_file.read_text().strip().partition(" ")
            # Only a process that is still the one we started: after a reboot the pid may be reused.
            if pid.isdigit() and is_running(int(pid)) and process_identity(int(pid)) == identity:
                stop_pid(int(pid))
            pid_file.unlink(missing_ok=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- components ---------------------------------------------------------------------------
    def _link_tools(self) -> None:
        bin_dir = self.run_dir / "bin"
        bin_dir.mkdir()
        (bin_dir / "kubectl").symlink_to(self.tools.kubectl)
        (bin_dir / "helm").symlink_to(self.tools.helm)

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.run_dir / "logs" / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=self.settings.detach,
        )
        log.close()
        self._procs[name] = proc
        index = len(self._procs)
        (self.run_dir / "pids" / f"{index:02d}-{name}.pid").write_text(
            f"{proc.pid} {process_identity(proc.pid)}\n"
        )

    def _component_kubeconfig(self, name: str) -> Path:
        return write_kubeconfig(
            self.run_dir / f"{name}.kubeconfig",
            self.server,
            self.pki_dir / "ca.crt",
            user=name,
            cert_file=self.pki_dir / f"{name}.crt",
            key_file=self.pki_dir / f"{name}.key",
        )

    def _start_components(self) -> None:
        p = self.pki_dir
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        self.server = f"https://127.0.0.1:{api_port}"
        self._spawn("etcd", [
            str(self.tools.etcd), "--name=local", f"--data-dir={self.run_dir / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
            f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
            f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-cluster=local=http://127.0.0.1:{peer_port}",
            "--listen-metrics-urls=", "--unsafe-no-fsync=true", "--log-level=warn",
        ])  # fmt: skip
        self._spawn("kube-apiserver", [
            str(self.tools.kube_apiserver), *self._audit_flags(),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1", f"--secure-port={api_port}", "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={p / 'apiserver.crt'}", f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            "--authorization-mode=Node,RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            "--v=1",
        ])  # fmt: skip
        self._wait_for("kube-apiserver", self._apiserver_ready, self.settings.start_timeout)
        admin = write_kubeconfig(
            self.kubeconfig, self.server, p / "ca.crt", user="admin",
            cert_file=p / "admin.crt", key_file=p / "admin.key",
        )  # fmt: skip
        del admin
        self._spawn("kube-controller-manager", [
            str(self.tools.kube_controller_manager),
            f"--kubeconfig={self._component_kubeconfig('controller-manager')}",
            "--bind-address=127.0.0.1", f"--secure-port={free_port()}",
            "--use-service-account-credentials=true", "--controllers=*",
            f"--service-account-private-key-file={p / 'sa.key'}", f"--root-ca-file={p / 'ca.crt'}",
            f"--cluster-signing-cert-file={p / 'ca.crt'}", f"--cluster-signing-key-file={p / 'ca.key'}",
            "--leader-elect=false", "--v=1",
            # The HPA controller looks at each HPA every 2s instead of 15s, so a test that moves
            # an HPA's bounds sees the rollout resized in seconds.
            "--horizontal-pod-autoscaler-sync-period=2s",
        ])  # fmt: skip
        self._spawn("kube-scheduler", [
            str(self.tools.kube_scheduler),
            f"--kubeconfig={self._component_kubeconfig('scheduler')}",
            "--bind-address=127.0.0.1", f"--secure-port={free_port()}", "--leader-elect=false", "--v=1",
        ])  # fmt: skip
        stages = self.tools.kwok_stages
        self._spawn("kwok", [
            str(self.tools.kwok),
            f"--kubeconfig={self._component_kubeconfig('kwok')}",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            # kwok gives pods the CIDR's addresses from the first one up: the nodes' InternalIP
            # is the last one, so that no pod shares it.
            f"--cidr={self.settings.pod_cidr}", f"--node-ip={_last_address(self.settings.pod_cidr)}",
            # Renew each fake node's Lease: without it the node-lifecycle controller sees every node
            # go NotReady ~50 s after start and marks all pods unready.
            "--node-lease-duration-seconds=40",
            f"--server-address=127.0.0.1:{free_port()}",
            *[f"--config={stages / f}" for f in sorted(os.listdir(stages)) if f.endswith(".yaml")],
        ])  # fmt: skip

    def _audit_flags(self) -> list[str]:
        """The audit policy file and log flags; the policy's fingerprint is recorded beside the pid
        files, so `recorded_running` never takes a cluster started with other flags for this one."""
        settings = self.settings
        (self.run_dir / "pids" / "settings.fingerprint").write_text(
            settings_fingerprint(settings.audited_groups) + "\n"
        )
        if not settings.audited_groups:
            return []
        policy_file = self.run_dir / "audit-policy.json"
        policy_file.write_text(json.dumps(audit_policy(settings.audited_groups), indent=2))
        return [
            f"--audit-policy-file={policy_file}", f"--audit-log-path={self.audit_log}",
            "--audit-log-format=json", f"--audit-log-maxsize={settings.audit_log_max_mb}",
            f"--audit-log-maxbackup={settings.audit_log_backups}", "--audit-log-maxage=1",
        ]  # fmt: skip

    def _apiserver_ready(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.pki_dir / "ca.crt"))
        context.load_cert_chain(str(self.pki_dir / "admin.crt"), str(self.pki_dir / "admin.key"))
        try:
            with urllib.request.urlopen(f"{self.server}/readyz", context=context, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def _wait_for(self, what: str, probe: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise ClusterError(
                        f"{name} exited with {proc.returncode} while waiting for {what}; its log ends:\n"
                        + tail(self.run_dir / "logs" / f"{name}.log")
                    )
            if probe():
                return
            time.sleep(0.2)
        logs = "\n".join(
            f"--- {name} ---\n{tail(self.run_dir / 'logs' / f'{name}.log', 15)}" for name in self._procs
        )
        raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")

    def _wait_ready(self, t0: float) -> None:
        self.kubectl("apply", "-f", "-", input=self._nodes_manifest())
        remaining = max(5.0, self.settings.start_timeout - (time.monotonic() - t0))
        self._wait_for(
            "the default ServiceAccount", lambda: self.service_account_exists("default"), remaining
        )
        self._wait_for("Ready nodes", self._nodes_ready, remaining)

    def _nodes_manifest(self) -> str:
        nodes = []
        for i in range(self.settings.nodes):
            capacity = {"cpu": self.settings.node_cpu, "memory": self.settings.node_memory, "pods": "250"}
            nodes.append({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {
                    "name": f"kwok-node-{i}",
                    "annotations": {"kwok.x-k8s.io/node": "fake"},
                    "labels": {"type": "kwok", "kubernetes.io/hostname": f"kwok-node-{i}"},
                },
                "spec": {"taints": [{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]},
                "status": {"allocatable": capacity, "capacity": capacity},
            })  # fmt: skip
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes})

    def _nodes_ready(self) -> bool:
        out = self.kubectl("get", "nodes", "-o", "json", check=False)
        if out.returncode != 0:
            return False
        items = json.loads(out.stdout)["items"]
        ready = [n for n in items if _has_condition(n, "Ready")]
        return len(ready) >= self.settings.nodes

    # -- helpers for tests and people ------------------------------------------------------
    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this cluster (admin unless `env` says otherwise)."""
        result = subprocess.run(
            [str(self.tools.kubectl), *args],
            input=input,
            capture_output=True,
            text=True,
            env=env or self.env,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise ClusterError(
                f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result

    def wait_established(self, crd: str, timeout: float = 60) -> None:
        """Until the CRD `crd` (e.g. `modelrollouts.modelrollout.io`) is Established. A probe, not
        `kubectl wait --for=condition=Established`: that fails at once, rather than waiting, while
        a CRD just created has no conditions yet (seen on a busy machine)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.kubectl("get", f"crd/{crd}", "-o", "json", check=False)
            if found.returncode == 0:
                conditions = (json.loads(found.stdout).get("status") or {}).get("conditions") or []
                if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                    return
            if time.monotonic() > deadline:
                raise ClusterError(f"the CRD {crd} was not Established within {timeout:.0f}s")
            time.sleep(0.2)

    def service_account_exists(self, name: str, namespace: str = "default") -> bool:
        return self.kubectl("get", "serviceaccount", name, "-n", namespace, check=False).returncode == 0

    def service_account_kubeconfig(self, namespace: str, name: str, path: Path, hours: int = 24) -> Path:
        """A kubeconfig that authenticates as the ServiceAccount with a TokenRequest token, so what
        it may do is exactly what its RBAC grants (used to run the operator least-privileged)."""
        token = self.kubectl("create", "token", name, "-n", namespace, f"--duration={hours}h").stdout.strip()
        return write_kubeconfig(
            path,
            self.server,
            self.pki_dir / "ca.crt",
            user=f"{namespace}-{name}",
            token=token,
            namespace=namespace,
        )

    def api_client(self, kubeconfig: Path | None = None) -> Any:
        """A `kubernetes.client.ApiClient` for the admin (or the given kubeconfig)."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(kubeconfig or self.kubeconfig))

    def component_logs(self) -> dict[str, Path]:
        return {p.stem: p for p in (self.run_dir / "logs").glob("*.log")}

    def pid(self, component: str) -> int:
        """Process id of a component this object started (e.g. `kube-apiserver`), to read its /proc."""
        return self._procs[component].pid

    def running(self) -> bool:
        return bool(self._procs) and all(proc.poll() is None for proc in self._procs.values())


def _last_address(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr).broadcast_address - 1)


def _has_condition(obj: dict[str, Any], kind: str) -> bool:
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c["type"] == kind and c["status"] == "True" for c in conditions)


def recorded_running(settings: LocalClusterSettings | None = None) -> bool:
    """Whether a detached cluster started by `make cluster-up` is still up."""
    settings = settings or LocalClusterSettings()
    run_dir = cache_dir() / "run" / settings.name
    recorded_fingerprint = run_dir / "pids" / "settings.fingerprint"
    if not recorded_fingerprint.exists():  # started before the audit log existed, or never
        return False
    if recorded_fingerprint.read_text().strip() != settings_fingerprint(settings.audited_groups):
        return False
    pids = list((run_dir / "pids").glob("*.pid")) if (run_dir / "pids").is_dir() else []
    recorded = [p.read_text().strip().partition(" ") for p in pids]
    return bool(recorded) and all(
        pid.isdigit() and is_running(int(pid)) and process_identity(int(pid)) == identity
        for pid, _, identity in recorded
    )
