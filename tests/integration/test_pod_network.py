"""A pod network on the real control plane: a Deployment's kwok pods answer HTTP on their pod IPs
from the host, a Service's EndpointSlices list exactly those IPs, and nothing is left behind."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from modelrollout_dev import LocalCluster
from modelrollout_dev.manifests import deployment, service
from modelrollout_dev.pod_network import PodNetwork, PodNetworkError
from modelrollout_dev.pod_network_pods import PodFollower, ready_addresses, serve_deployment
from modelrollout_dev.tools import is_running

pytestmark = pytest.mark.cluster

LABELS = {"modelrollout.io/model": "scorer", "modelrollout.io/version": "v1"}


def apply(cluster: LocalCluster, manifest: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))


def wait_ready(cluster: LocalCluster, namespace: str, name: str, replicas: int) -> None:
    cluster.kubectl("rollout", "status", f"deployment/{name}", "-n", namespace, "--timeout=60s")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out = json.loads(cluster.kubectl("get", "deployment", name, "-n", namespace, "-o", "json").stdout)
        if out["status"].get("readyReplicas") == replicas:
            return
        time.sleep(0.2)
    raise TimeoutError(f"deployment {name} never had {replicas} ready replicas")


def predict(url: str) -> tuple[str, dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/v1/models/scorer:predict",
        data=json.dumps({"instances": [[1.0, 2.0]]}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers["X-Model-Version"], json.loads(response.read())


def wait_for_addresses(cluster: LocalCluster, namespace: str, expected: set[str]) -> set[str]:
    deadline = time.monotonic() + 20
    addresses = ready_addresses(cluster, namespace, "scorer-v1")
    while addresses != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        addresses = ready_addresses(cluster, namespace, "scorer-v1")
    return addresses


def test_pods_answer_on_their_ips_and_endpointslices_list_them(
    cluster: LocalCluster, namespace: str, pod_network: PodNetwork
) -> None:
    # given a Deployment of 3 kwok pods and a Service selecting them
    apply(cluster, deployment("scorer-v1", namespace, LABELS, 3))
    apply(cluster, service("scorer-v1", namespace, LABELS, port=8080))
    wait_ready(cluster, namespace, "scorer-v1", 3)

    # when the pod network serves the Deployment's Ready pods
    servers = serve_deployment(pod_network, cluster, namespace, "scorer-v1", ["--latency-median", "0.001"])

    # then every pod answers on its own IP from the host, as the version its labels name
    assert len(servers) == 3
    ips = {server.ip for server in servers}
    assert len(ips) == 3 and all(ip.startswith(cluster.settings.pod_cidr.split(".0.0/")[0]) for ip in ips)
    for server in servers:
        version, body = predict(server.url)
        assert version == "v1" and body["model_name"] == "scorer"
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as response:
            assert f'namespace="{namespace}"' in response.read().decode()
    # and the Service's EndpointSlices list exactly those IPs
    assert wait_for_addresses(cluster, namespace, ips) == ips
    # and serving again changes nothing
    assert {s.pid for s in serve_deployment(pod_network, cluster, namespace, "scorer-v1")} == {
        s.pid for s in servers
    }

    # when the Deployment scales down to 1, a follower stops the servers of the pods that left
    follower = PodFollower(
        pod_network, cluster, namespace, "modelrollout.io/model=scorer", {"v1": ["--latency-median", "0.001"]}
    ).start()
    cluster.kubectl("scale", "deployment/scorer-v1", "-n", namespace, "--replicas=1")
    wait_ready(cluster, namespace, "scorer-v1", 1)
    deadline = time.monotonic() + 20
    while len(pod_network.servers) != 1 and time.monotonic() < deadline:
        time.sleep(0.1)

    # when it scales up again, the new pod answers as soon as the EndpointSlices list it: a warm
    # server takes its IP when the watch reports the pod Ready (a cold start took seconds)
    cluster.kubectl("scale", "deployment/scorer-v1", "-n", namespace, "--replicas=2")
    (kept,) = pod_network.servers.values()
    deadline = time.monotonic() + 30
    addresses = ready_addresses(cluster, namespace, "scorer-v1")
    while len(addresses) < 2 and time.monotonic() < deadline:
        addresses = ready_addresses(cluster, namespace, "scorer-v1")
    (new,) = addresses - {kept.ip}
    listed = time.monotonic()
    while True:
        try:
            assert predict(f"http://{new}:8080")[0] == "v1"
            break
        except OSError:
            assert time.monotonic() - listed < 1.0, "the new pod did not answer within 1 s of being listed"
            time.sleep(0.02)
    cluster.kubectl("scale", "deployment/scorer-v1", "-n", namespace, "--replicas=1")
    wait_ready(cluster, namespace, "scorer-v1", 1)
    deadline = time.monotonic() + 20
    while len(pod_network.servers) != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    follower.stop()

    # then one server is left, on the one pod the EndpointSlices still list
    (left,) = pod_network.servers.values()
    assert wait_for_addresses(cluster, namespace, {left.ip}) == {left.ip}
    assert predict(left.url)[0] == "v1"
    # and the pods that left, like addresses no pod has, refuse connections at once: a router
    # that still lists them moves on instead of waiting for its timeout
    never = cluster.settings.pod_cidr.replace(".0.0/16", ".200.200")
    for gone in [*(ips - {left.ip}), never]:
        started = time.monotonic()
        with pytest.raises(urllib.error.URLError) as refused:
            urllib.request.urlopen(f"http://{gone}:8080/v2/health/ready", timeout=5)
        assert isinstance(refused.value.reason, ConnectionRefusedError), refused.value
        assert time.monotonic() - started < 1.0


def test_down_removes_processes_namespace_and_route_even_after_a_failure(
    cluster: LocalCluster, pod_network: PodNetwork
) -> None:
    # given a second network for a CIDR no cluster uses, with one server up
    network = PodNetwork("10.127.0.0/16").up()
    try:
        server = network.serve("p1", "10.127.0.1", 8080, ["--model", "m", "--version", "v9"])
        assert predict_version(server.url) == "v9"

        # when a pod of the same flags turns up, a warm server answers on its IP at once
        warm = network.spare_pids()
        second = network.serve("p3", "10.127.0.3", 8080, ["--model", "m", "--version", "v9"])
        # the spare that was already running took the pod's IP: no interpreter start, no import
        assert predict_version(second.url) == "v9" and second.pid in warm and second.pid != server.pid
        assert second.log.name == "p3.log" and "warm" in second.log.read_text()

        # when a server cannot start (a bad flag), the error carries its log
        with pytest.raises(PodNetworkError, match="did not answer") as failure:
            network.serve("p2", "10.127.0.2", 8080, ["--model", "m", "--version", "v9", "--bind-typo", "x"])
        assert "unrecognized arguments" in str(failure.value)

        # then down() still removes everything: the process, the route, the veth and the namespace
        pids = [server.pid, second.pid, *network.spare_pids()]
        assert len(pids) == 3, "one warm server is kept ready for v9's flags"
        network.down()
        assert network.namespace not in PodNetwork.namespaces()
        assert not any(is_running(pid) for pid in pids)
        routes = json.loads(_run(["ip", "-j", "route", "show", "10.127.0.0/16"]) or "[]")
        assert routes == []
        assert network.host_link not in _run(["ip", "-br", "link"])
    except BaseException:
        network.down()  # a failed check must not leave this CIDR routed for the next run
        raise
    # and a network for a CIDR another live run routes is refused, not taken over
    with pytest.raises(PodNetworkError, match="another run"):
        PodNetwork(pod_network.pod_cidr).up()
    assert pod_network.namespace in PodNetwork.namespaces()


def predict_version(url: str) -> str:
    request = urllib.request.Request(
        f"{url}/v1/models/m:predict", data=json.dumps({"instances": [[1.0]]}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.headers["X-Model-Version"])


def _run(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout
