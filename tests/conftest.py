"""Shared fixtures: one real control plane per test session, and real Prometheus servers.

A component that cannot start makes the tests that need it ERROR with the component's own log
(ClusterError / PrometheusError carry it): never a skip.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrollout_dev import LocalCluster, LocalClusterSettings, PrometheusServer
from modelrollout_dev.pod_network import PodCidrClaim

from .fixtures.pod_network import pod_cidr_claim, pod_network

__all__ = ["pod_cidr_claim", "pod_network"]  # fixtures registered for every test

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def cluster(pod_cidr_claim: PodCidrClaim) -> Iterator[LocalCluster]:
    """Its own pod CIDR, so that a pod network (`pod_network`) can serve its pods' IPs while
    other runs' clusters on the machine do the same."""
    settings = LocalClusterSettings(
        name=f"pytest-{uuid.uuid4().hex[:6]}", nodes=3, pod_cidr=pod_cidr_claim.pod_cidr
    )
    local = LocalCluster(settings)
    local.start()
    try:
        yield local
    finally:
        local.stop(remove=True)  # ~70 MB of etcd data per session otherwise


@pytest.fixture
def namespace(cluster: LocalCluster) -> Iterator[str]:
    """A fresh namespace with its default ServiceAccount ready (pods need it); deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    deadline = time.monotonic() + 30
    while not cluster.service_account_exists("default", name):
        if time.monotonic() > deadline:
            raise TimeoutError(f"namespace {name}: the default ServiceAccount never appeared")
        time.sleep(0.2)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


class PrometheusFactory:
    """Starts real Prometheus servers for one test and stops them all at teardown."""

    def __init__(self) -> None:
        self.servers: list[PrometheusServer] = []

    def scraping(self, targets: list[str], scrape_interval: str = "1s") -> PrometheusServer:
        server = PrometheusServer(targets=list(targets))
        server.settings.scrape_interval = scrape_interval
        self.servers.append(server)
        return server.start()

    def backfilled(self, openmetrics: str) -> PrometheusServer:
        server = PrometheusServer()
        self.servers.append(server)
        server.backfill(openmetrics)
        return server.start()

    def close(self) -> None:
        for server in self.servers:
            server.stop(remove=True)


@pytest.fixture
def prometheus_factory() -> Iterator[PrometheusFactory]:
    factory = PrometheusFactory()
    try:
        yield factory
    finally:
        factory.close()


def kubectl_json(cluster: LocalCluster, *args: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(cluster.kubectl(*args, "-o", "json").stdout)
    return result
