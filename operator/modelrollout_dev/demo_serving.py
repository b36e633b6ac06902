"""The data plane of `make demo`: real requests, as users would send them.

Model servers answer on the kwok pods' own IPs inside a network namespace (`PodFollower` serves
each Ready pod of the model as the operator scales its Deployments), the model router fronts them
as its own least-privileged ServiceAccount and follows the weights the `router` traffic provider
writes, and the load generator sends a steady, bounded load through the router from a thread for
as long as the demo runs. Prometheus scrapes the router, whose series the analysis reads.

`stop()` takes everything down by pid and removes the namespace and the veth, whatever state
`start()` reached, so a failed demo leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cluster import LocalCluster
from .loadgen import LoadReport, LoadSettings, run_load
from .pod_network import PodCidrClaim, PodNetwork
from .pod_network_pods import PodFollower
from .router_process import grant_router, router_ready, start_router
from .tools import free_port, stop_pid, tail

__all__ = ["DemoServing"]

log = logging.getLogger("modelrollout_dev.demo")
ROUTER_ACCOUNT = "model-router"


@dataclass
class DemoServing:
    cluster: LocalCluster
    claim: PodCidrClaim
    """The cluster's pod CIDR, held for as long as the demo runs."""
    namespace: str
    rollout: str
    model: str
    server_args: Mapping[str, Sequence[str]]
    """Model-server arguments per version label: how healthy each version is."""
    rate: float = 200.0
    """Users' requests per second through the router."""
    concurrency: int = 64
    """Requests in flight at most: the load stays bounded whatever the servers do."""
    spares: int = 2
    """Warm model servers per version: a promotion adds two pods of the new stable at once."""
    drain: float = 5.0
    """Seconds the server of a pod that left keeps answering, as a terminating pod does while the
    router's view of the EndpointSlices catches up."""
    router_port: int = field(default_factory=free_port)
    network: PodNetwork | None = None
    follower: PodFollower | None = None
    router: subprocess.Popen[bytes] | None = None
    report: LoadReport | None = None
    _load: threading.Thread | None = None
    _stop_load: threading.Event = field(default_factory=threading.Event)
    _load_error: list[BaseException] = field(default_factory=list)

    @property
    def directory(self) -> Path:
        return self.cluster.run_dir

    @property
    def router_url(self) -> str:
        return f"http://127.0.0.1:{self.router_port}"

    @property
    def router_log(self) -> Path:
        return self.directory / "router.log"

    @property
    def metrics_target(self) -> str:
        """The router serves its /metrics on its own port."""
        return f"127.0.0.1:{self.router_port}"

    def start(self) -> DemoServing:
        """The pod network, its servers and the router; the load starts with `start_load()` once
        the router has a configuration to serve."""
        self.network = PodNetwork(
            self.claim.pod_cidr,
            claim=self.claim,
            log_dir=self.directory / "model-servers",
            spares=self.spares,
        ).up()
        self.follower = PodFollower(
            self.network,
            self.cluster,
            self.namespace,
            f"modelrollout.io/model={self.model}",
            self.server_args,
            drain=self.drain,
        ).start()
        kubeconfig = grant_router(
            self.cluster, self.namespace, ROUTER_ACCOUNT, self.directory / "router.kubeconfig"
        )
        self.router = start_router(
            self.namespace, self.rollout, self.router_port, kubeconfig, self.router_log
        )
        return self

    def wait_serving(self, version: str, replicas: int, timeout: float = 120) -> None:
        """Until `replicas` pods of `version` have a model server that answers and the router is
        ready (it has the provider's ConfigMap): users' first requests then find every pod
        listening. A kwok pod is Ready before its server listens, and the router would send it
        requests meanwhile."""
        assert self.router is not None and self.network is not None, "start() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.router.poll() is not None:
                raise RuntimeError(
                    f"the router exited with {self.router.returncode}:\n{tail(self.router_log)}"
                )
            self.check()
            # a pod of the version's Deployment `<rollout>-<version>` is named after it
            served = sum(
                1 for pod in list(self.network.servers) if pod.startswith(f"{self.rollout}-{version}-")
            )
            if served >= replicas and router_ready(self.router_url):
                return
            time.sleep(0.3)
        raise TimeoutError(
            f"{version} was not served by {replicas} pods and the router within {timeout:.0f}s:\n{tail(self.router_log)}"
        )

    def check(self) -> None:
        """Raises what went wrong in the pod follower's or the load generator's thread."""
        if self.follower is not None and self.follower.errors:
            raise self.follower.errors[0]
        if self._load_error:
            raise self._load_error[0]

    def start_load(self, max_seconds: float = 900) -> None:
        settings = LoadSettings(
            url=self.router_url, model=self.model, rate=self.rate, duration=max_seconds,
            concurrency=self.concurrency, users=2000, stop=self._stop_load,
        )  # fmt: skip

        def send() -> None:
            try:
                self.report = asyncio.run(run_load(settings))
            except BaseException as error:  # kept for check() and stop_load() in the demo's thread
                self._load_error.append(error)

        self._load = threading.Thread(target=send, name="loadgen", daemon=True)
        self._load.start()

    def stop_load(self) -> LoadReport | None:
        """Ends the arrivals, waits for the last answers and returns the report (None when the
        load never ran)."""
        self._stop_load.set()
        if self._load is not None:
            self._load.join(timeout=30)
        return self.report

    def stop(self) -> None:
        """Load, router, model servers, then the namespace and the veth; every step runs even if
        an earlier one fails, and the first failure is raised at the end."""
        steps: list[Callable[[], object]] = [self.stop_load]
        if self.router is not None:
            router = self.router
            steps.append(lambda: stop_pid(router.pid, timeout=5))
        if self.follower is not None:
            steps.append(self.follower.stop)
        if self.network is not None:
            steps.append(self.network.down)
        failures: list[BaseException] = []
        for step in steps:
            try:
                step()
            except Exception as error:
                log.warning("stopping the demo's data plane: %s", error)
                failures.append(error)
        if failures:
            raise failures[0]
