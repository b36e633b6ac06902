"""Which pods a pod network serves: the Ready kwok pods of a label selector, read from the cluster.

Each Ready pod with an IP gets a model server named after the pod's labels
(`modelrollout.io/model`, `modelrollout.io/version`) and namespace, as the operator labels the
pods of a ModelRollout's versions; extra arguments per version set its behaviour (latency,
errors, shift). `PodFollower` keeps doing that in a thread while a rollout scales Deployments up
and down, so a pod kwok marks Ready answers within a poll interval, and the server of a pod that
went away is stopped.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .cluster import LocalCluster
from .pod_network import PodNetwork, PodNetworkError, PodServer
from .tools import stop_pid

__all__ = ["PodFollower", "deployment_selector", "ready_addresses", "serve_deployment", "sync_pods"]

log = logging.getLogger("modelrollout_dev.pod_network")

MODEL_LABEL = "modelrollout.io/model"
VERSION_LABEL = "modelrollout.io/version"
DEFAULT_PORT = 8080


def _serving(pod: dict[str, Any]) -> bool:
    """Ready, with an IP, not being deleted: what the endpointslice controller lists as ready."""
    status = pod.get("status", {})
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", []))
    return ready and bool(status.get("podIP")) and not pod["metadata"].get("deletionTimestamp")


def _server_args(pod: dict[str, Any], namespace: str, per_version: Mapping[str, Sequence[str]]) -> list[str]:
    labels = pod["metadata"].get("labels", {})
    args = ["--namespace", namespace]
    if MODEL_LABEL in labels:
        args += ["--model", labels[MODEL_LABEL]]
    if VERSION_LABEL in labels:
        args += ["--version", labels[VERSION_LABEL]]
    # argparse keeps the last value of a flag: the caller's arguments override the labels
    return [*args, *per_version.get(labels.get(VERSION_LABEL, ""), ())]


def sync_pods(
    network: PodNetwork,
    cluster: LocalCluster,
    namespace: str,
    selector: str,
    server_args: Mapping[str, Sequence[str]] | None = None,
    port: int = DEFAULT_PORT,
    drain: float = 0.0,
) -> list[PodServer]:
    """Serves every Ready pod of `selector` not served yet, stops the servers of the namespace's
    pods that are no longer Ready (or gone) once they were so for `drain` seconds, and returns
    the servers of the Ready pods of `selector` (equality terms `k=v,k2=v2`). `server_args` maps
    a version label to extra model-server arguments. A drain is what a real pod does between
    its deletion and its exit: it still answers while routers learn that it left."""
    wanted = _equality_terms(selector)
    out = cluster.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout
    ready = [pod for pod in json.loads(out)["items"] if _serving(pod)]
    listed = {pod["metadata"]["name"]: pod for pod in json.loads(out)["items"]}
    for server in list(network.servers.values()):
        if server.group == namespace and server.pod not in {pod["metadata"]["name"] for pod in ready}:
            now = time.monotonic()
            if server.leaving_since is None:
                server.leaving_since = now
            if now - server.leaving_since >= drain:
                pod = listed.get(server.pod)
                log.info("stopping the server of pod %s: %s", server.pod, pod["status"] if pod else "gone")
                network.stop_server(server.pod)
    per_version = server_args or {}
    return [
        network.serve(
            pod["metadata"]["name"],
            pod["status"]["podIP"],
            port,
            _server_args(pod, namespace, per_version),
            namespace,
        )
        for pod in ready
        if wanted.items() <= pod["metadata"].get("labels", {}).items()
    ]


def _equality_terms(selector: str) -> dict[str, str]:
    terms = {}
    for term in filter(None, (part.strip() for part in selector.split(","))):
        key, separator, value = term.partition("=")
        if not separator or not key or value.startswith("=") or key.endswith("!"):
            raise PodNetworkError(f"selector {selector!r}: only equality terms `key=value` are supported")
        terms[key] = value
    return terms


def ready_addresses(cluster: LocalCluster, namespace: str, service: str) -> set[str]:
    """The ready endpoint addresses of the Service's EndpointSlices: what a router or a mesh
    resolves the Service to."""
    out = cluster.kubectl(
        "get", "endpointslices", "-n", namespace, "-l", f"kubernetes.io/service-name={service}", "-o", "json"
    ).stdout
    return {
        address
        for item in json.loads(out)["items"]
        for endpoint in item.get("endpoints") or []
        if (endpoint.get("conditions") or {}).get("ready")
        for address in endpoint["addresses"]
    }


def deployment_selector(cluster: LocalCluster, namespace: str, deployment: str) -> str:
    """The Deployment's own pod selector, as `kubectl -l` takes it."""
    out = cluster.kubectl("get", "deployment", deployment, "-n", namespace, "-o", "json").stdout
    labels = json.loads(out)["spec"]["selector"].get("matchLabels", {})
    if not labels:
        raise PodNetworkError(f"deployment {namespace}/{deployment} has no matchLabels to find its pods by")
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def serve_deployment(
    network: PodNetwork,
    cluster: LocalCluster,
    namespace: str,
    deployment: str,
    server_args: Sequence[str] = (),
    port: int = DEFAULT_PORT,
) -> list[PodServer]:
    """Serves the Deployment's Ready pods, each with the extra `server_args`."""
    selector = deployment_selector(cluster, namespace, deployment)
    out = cluster.kubectl("get", "deployment", deployment, "-n", namespace, "-o", "json").stdout
    version = json.loads(out)["spec"]["template"]["metadata"].get("labels", {}).get(VERSION_LABEL, "")
    return sync_pods(network, cluster, namespace, selector, {version: server_args}, port)


@dataclass
class PodFollower:
    """`sync_pods` in a thread from `start()` until `stop()`: at once when a pod of the namespace
    changes (a `kubectl get pods --watch` tells), and every `interval` seconds anyway. kwok marks a
    pod Ready and the router sends it requests within moments; a poll alone would leave it
    refusing them for up to `interval`."""

    network: PodNetwork
    cluster: LocalCluster
    namespace: str
    selector: str
    server_args: Mapping[str, Sequence[str]] = field(default_factory=dict)
    port: int = DEFAULT_PORT
    interval: float = 0.3
    drain: float = 0.0
    """Seconds a pod that left keeps answering (see `sync_pods`)."""
    errors: list[BaseException] = field(default_factory=list)
    """What went wrong in the thread; `stop()` raises the first."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _changed: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _watch: subprocess.Popen[bytes] | None = None

    def sync(self) -> list[PodServer]:
        return sync_pods(
            self.network, self.cluster, self.namespace, self.selector, self.server_args, self.port, self.drain
        )

    def start(self) -> PodFollower:
        self.warm()
        self.sync()
        self._watch = subprocess.Popen(
            [str(self.cluster.tools.kubectl), "get", "pods", "-n", self.namespace, "--watch-only", "-o", "name"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.cluster.env,
        )  # fmt: skip
        watch = self._watch
        threading.Thread(
            target=self._follow, args=(watch,), name=f"watch {self.selector}", daemon=True
        ).start()
        self._thread = threading.Thread(target=self._run, name=f"pods {self.selector}", daemon=True)
        self._thread.start()
        return self

    def _follow(self, watch: subprocess.Popen[bytes]) -> None:
        assert watch.stdout is not None
        for _ in watch.stdout:
            self._changed.set()

    def warm(self) -> None:
        """Starts a warm server for each version of `server_args` before any of its pods exist, so
        that even the first pod of a new version answers as soon as it is Ready. Needs the model
        label among the selector's terms (the servers' flags must be those its pods will get)."""
        model = _equality_terms(self.selector).get(MODEL_LABEL)
        if model is None:
            return
        for version in self.server_args:
            labels = {MODEL_LABEL: model, VERSION_LABEL: version}
            self.network.warm(
                _server_args({"metadata": {"labels": labels}}, self.namespace, self.server_args)
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            self._changed.wait(self.interval)
            self._changed.clear()
            if self._stop.is_set():
                return
            try:
                self.sync()
            except Exception as error:  # kept for stop() to raise in the test's thread
                self.errors.append(error)

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()
        if self._watch is not None:
            stop_pid(self._watch.pid, timeout=5.0)
            self._watch.wait()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.errors:
            raise self.errors[0]
