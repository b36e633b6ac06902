"""The router on the real control plane: it reads its ConfigMap and the versions' EndpointSlices
with a least-privileged ServiceAccount, reaches real model servers on kwok pods' IPs through the
pod network, applies a weight change within a second under load without failing a request,
refuses a bad ConfigMap while serving the last good one, and its series are scraped by a real
Prometheus. It stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from modelrollout.api.router_config import CONFIG_KEY, ROUTER_ROLE_RULES, config_map_name
from modelrollout_dev import LocalCluster
from modelrollout_dev.manifests import deployment, service
from modelrollout_dev.pod_network import PodNetwork
from modelrollout_dev.pod_network_pods import serve_deployment
from modelrollout_dev.tools import free_port, repo_root

pytestmark = pytest.mark.cluster

MODEL = "scorer"
ROUTER = config_map_name(MODEL)
WITHIN = 1.0
"""Seconds from the ConfigMap's write to the router serving the new weights."""


def _apply(cluster: LocalCluster, manifest: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))


def _config(stable: float, candidate: float, **extra: Any) -> dict[str, Any]:
    return {
        "schemaVersion": "modelrollout.io/router/v1",
        "model": MODEL,
        "versions": [
            {"name": "v1", "service": f"{MODEL}-v1", "port": "http", "weight": stable, "timeoutSeconds": 2},
            {"name": "v2", "service": f"{MODEL}-v2", "port": 8080, "weight": candidate, "timeoutSeconds": 2},
        ],
        **extra,
    }


def _write_config(cluster: LocalCluster, namespace: str, payload: dict[str, Any]) -> None:
    _apply(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": ROUTER, "namespace": namespace},
            "data": {CONFIG_KEY: json.dumps(payload)},
        },
    )


def _wait_ready_replicas(cluster: LocalCluster, namespace: str, name: str, replicas: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = json.loads(cluster.kubectl("get", "deployment", name, "-n", namespace, "-o", "json").stdout)
        if out.get("status", {}).get("readyReplicas") == replicas:
            return
        time.sleep(0.2)
    raise TimeoutError(f"deployment {name} never had {replicas} ready replicas")


@dataclass
class Router:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def namespace_module(cluster: LocalCluster) -> Iterator[str]:
    name = f"router-{os.urandom(3).hex()}"
    cluster.kubectl("create", "namespace", name)
    deadline = time.monotonic() + 30
    while not cluster.service_account_exists("default", name):
        assert time.monotonic() < deadline, "the default ServiceAccount never appeared"
        time.sleep(0.2)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def router(
    cluster: LocalCluster, namespace_module: str, pod_network: PodNetwork, tmp_path_factory: Any
) -> Iterator[Router]:
    namespace = namespace_module
    for version, replicas in (("v1", 2), ("v2", 1)):
        labels = {"modelrollout.io/model": MODEL, "modelrollout.io/version": version}
        _apply(cluster, deployment(f"{MODEL}-{version}", namespace, labels, replicas))
        _apply(cluster, service(f"{MODEL}-{version}", namespace, labels, port=80))
    for version, replicas in (("v1", 2), ("v2", 1)):
        _wait_ready_replicas(cluster, namespace, f"{MODEL}-{version}", replicas)
        serve_deployment(pod_network, cluster, namespace, f"{MODEL}-{version}", ["--latency-median", "0.002"])
    _write_config(cluster, namespace, _config(100, 0))

    # the router's own ServiceAccount, allowed only what ROUTER_ROLE_RULES grants
    cluster.kubectl("create", "serviceaccount", "router", "-n", namespace)
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "router", "namespace": namespace},
    }
    _apply(cluster, {**role, "rules": [dict(rule) for rule in ROUTER_ROLE_RULES]})
    cluster.kubectl(
        "create",
        "rolebinding",
        "router",
        "-n",
        namespace,
        "--role=router",
        f"--serviceaccount={namespace}:router",
    )
    directory = tmp_path_factory.mktemp("router")
    kubeconfig = cluster.service_account_kubeconfig(namespace, "router", directory / "kubeconfig")
    port = free_port()
    log = directory / "router.log"
    env = {**os.environ, "PYTHONPATH": f"{repo_root() / 'operator'}:{repo_root()}"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "modelrollout.router", "--namespace", namespace, "--config-map", ROUTER,
             "--listen", f"127.0.0.1:{port}", "--kubeconfig", str(kubeconfig), "--shutdown-grace", "5"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    running = Router(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while True:  # ready, and every pod listed by the EndpointSlices (the controller's pace)
            try:
                status, state = running.get(f"/v1/models/{MODEL}")
                pods = {name: v["readyPods"] for name, v in state.get("versions", {}).items()}
                if status == 200 and pods == {"v1": 2, "v2": 1}:
                    break
            except OSError:
                pass
            assert process.poll() is None, f"the router exited:\n{running.log_text()}"
            assert time.monotonic() < deadline, f"the router never became ready:\n{running.log_text()}"
            time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


async def _load_through_a_change(
    router: Router, change: Any, seconds: float, users: int
) -> tuple[list[tuple[float, str]], list[str], float]:
    """`users` clients posting predictions for `seconds`; `change()` runs in a thread after a
    third of it. Returns (time, version) of every answer, the failures, and when the change's
    write had returned."""
    answers: list[tuple[float, str]] = []
    failures: list[str] = []
    written = 0.0

    async def user(session: aiohttp.ClientSession, index: int) -> None:
        deadline = time.monotonic() + seconds
        body = {"instances": [[0.1 * index, 1.0, 2.0]]}
        while time.monotonic() < deadline:
            try:
                async with session.post(f"{router.url}/v1/models/{MODEL}:predict", json=body) as response:
                    await response.read()
                    if response.status != 200:
                        failures.append(f"{response.status}")
                    answers.append((time.monotonic(), response.headers.get("x-modelrollout-version", "?")))
            except aiohttp.ClientError as error:
                failures.append(repr(error))

    async def changer() -> None:
        nonlocal written
        await asyncio.sleep(seconds / 3)
        await asyncio.to_thread(change)
        written = time.monotonic()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(changer(), *(user(session, i) for i in range(users)))
    return answers, failures, written


def test_a_weight_change_is_applied_within_a_second_under_load_without_a_failed_request(
    cluster: LocalCluster, namespace_module: str, router: Router
) -> None:
    # given the router serving v1 only, its model state read from the real pods
    status, state = router.get(f"/v1/models/{MODEL}")
    assert (
        status == 200
        and state["versions"]["v1"]["readyPods"] == 2
        and state["versions"]["v2"]["readyPods"] == 1
    )

    # when the ConfigMap moves all traffic to v2 while 8 users keep sending
    answers, failures, written = asyncio.run(
        _load_through_a_change(
            router, lambda: _write_config(cluster, namespace_module, _config(0, 100)), 3.0, 8
        )
    )

    # then no request failed, and within a second of the write every answer came from v2
    assert failures == [], failures[:5]
    assert {v for at, v in answers if at < written - 0.5} == {"v1"}
    last_v1 = max(at for at, v in answers if v == "v1")
    print(f"last v1 answer {last_v1 - written:+.3f}s after the write returned; {len(answers)} answers")
    assert last_v1 - written < WITHIN, f"v1 still answered {last_v1 - written:.2f}s after the write"
    assert {v for at, v in answers if at > written + WITHIN} == {"v2"}
    assert len(answers) > 100, "the router kept serving under load"


def test_a_bad_config_map_is_refused_and_the_last_good_one_serves(
    cluster: LocalCluster, namespace_module: str, router: Router
) -> None:
    # when the ConfigMap gets a schema this router does not know
    _write_config(
        cluster, namespace_module, {**_config(100, 0), "schemaVersion": "modelrollout.io/router/v9"}
    )
    deadline = time.monotonic() + 5
    while router.get("/readyz")[1]["configError"] is None:
        assert time.monotonic() < deadline, "the refusal was never reported"
        time.sleep(0.05)
    # then it is reported, and the last good configuration (all on v2) keeps serving
    status, body = router.get("/readyz")
    assert status == 200 and "modelrollout.io/router/v9" in body["configError"]
    assert "refused" in router.log_text()
    request = urllib.request.Request(
        f"{router.url}/v2/models/{MODEL}/infer",
        data=json.dumps(
            {"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}]}
        ).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["x-modelrollout-version"] == "v2"
    _write_config(cluster, namespace_module, _config(50, 50))


def _query(url: str, promql: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as response:
        result: list[dict[str, Any]] = json.loads(response.read())["data"]["result"]
        return result


def test_prometheus_scrapes_the_router_series_and_sigterm_stops_it_cleanly(
    namespace_module: str, router: Router, prometheus_factory: Any
) -> None:
    # given a real Prometheus scraping the router
    prometheus = prometheus_factory.scraping([router.url.removeprefix("http://")])
    selector = f'{{namespace="{namespace_module}",model="{MODEL}"}}'
    deadline = time.monotonic() + 15
    while True:
        requests = _query(
            prometheus.url, f"sum by (version, outcome) (modelrollout_router_requests_total{selector})"
        )
        valid = _query(prometheus.url, f'modelrollout_router_config_valid{{namespace="{namespace_module}"}}')
        pods = _query(prometheus.url, f"modelrollout_router_ready_endpoints{selector}")
        if requests and valid and len(pods) == 2:
            break
        assert time.monotonic() < deadline, "Prometheus never had the router's series"
        time.sleep(0.5)
    # then it has the requests per version, the config state and the pods per version
    by_version = {(r["metric"]["version"], r["metric"]["outcome"]): float(r["value"][1]) for r in requests}
    assert by_version[("v1", "success")] > 0 and by_version[("v2", "success")] > 0
    # no request failed, and each version's error series exists (at 0) for the analysis to read
    assert by_version[("v1", "error")] == 0 and by_version[("v2", "error")] == 0
    assert {r["metric"]["version"]: float(r["value"][1]) for r in pods} == {"v1": 2.0, "v2": 1.0}
    latency = _query(
        prometheus.url, f"sum by (version) (modelrollout_router_request_duration_seconds_count{selector})"
    )
    assert {r["metric"]["version"] for r in latency} == {"v1", "v2"}

    # when the router gets SIGTERM, it drains and exits 0 (requests in flight: the unit tests)
    router.process.send_signal(signal.SIGTERM)
    assert router.process.wait(10) == 0, router.log_text()
    assert "stopped after" in router.log_text()
