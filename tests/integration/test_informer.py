"""The watch caches on a real apiserver: `CachedKubeClient`'s informers see Deployments (only the
operator's, by label) and Services created, changed and deleted within a second, and keep doing
so after their watch breaks and they list again; a route kind's cache starts once its CRDs are
served and stops when they are deleted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from modelrollout.api.v1alpha1 import KIND, LABEL_ROLLOUT
from modelrollout.k8s import ApiKubeClient, CachedKubeClient, KindNotServed, NotFound
from modelrollout_dev import LocalCluster
from modelrollout_dev.tools import repo_root

from ..e2e.routes import install_route_crds, remove_route_crds

pytestmark = pytest.mark.cluster

WITHIN = 1.0
"""Seconds from a change on the apiserver to the cache."""


@pytest.fixture
def cached(cluster: LocalCluster, namespace: str) -> Iterator[tuple[ApiKubeClient, CachedKubeClient]]:
    cluster.kubectl(
        "apply", "--server-side", "-f", str(repo_root() / "crds/modelrollout.io_modelrollouts.yaml")
    )
    cluster.wait_established("modelrollouts.modelrollout.io", timeout=30)
    api = ApiKubeClient(cluster.api_client())
    client = CachedKubeClient(api, api, [namespace])
    client.start()
    try:
        assert client.wait_synced(10.0), "the informers listed"
        yield api, client
    finally:
        client.stop()


def _deployment(namespace: str, name: str, labels: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "model", "image": "registry.local/m:1"}]},
            },
        },
    }


def _soon(condition: Callable[[], bool], what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < WITHIN, f"not within {WITHIN}s: {what}"
        time.sleep(0.01)
    return time.monotonic() - started


def test_the_caches_follow_deployments_and_services_and_recover_from_a_relist(
    cluster: LocalCluster, namespace: str, cached: tuple[ApiKubeClient, CachedKubeClient]
) -> None:
    api, client = cached
    store = client.deployments
    # given a Deployment of the operator's and one that is not
    api.create_deployment(namespace, _deployment(namespace, "r-v1", {LABEL_ROLLOUT: "r", "app": "x"}))
    api.create_deployment(namespace, _deployment(namespace, "foreign", {"app": "foreign"}))

    # then the cache holds the operator's one only
    _soon(lambda: store.get(namespace, "r-v1") is not None, "a created Deployment")
    assert store.get(namespace, "foreign") is None, "the watch selects the operator's Deployments"

    # when it is changed and deleted, so is the cache
    cluster.kubectl("-n", namespace, "label", "deployment", "r-v1", "changed=yes")
    _soon(lambda: "changed" in store.get(namespace, "r-v1")["metadata"]["labels"], "a changed Deployment")  # type: ignore[index]
    api.delete_deployment(namespace, "r-v1")
    _soon(lambda: store.get(namespace, "r-v1") is None, "a deleted Deployment")

    # and Services the same way
    cluster.kubectl("-n", namespace, "create", "service", "clusterip", "api", "--tcp=80:8080")
    _soon(lambda: client.service_exists(namespace, "api"), "a created Service")
    cluster.kubectl("-n", namespace, "delete", "service", "api")
    _soon(lambda: not client.service_exists(namespace, "api"), "a deleted Service")

    # when the watch breaks, the informer lists again and goes on
    informer = client.informers[("Deployment", namespace)]
    relists = informer.relists
    informer.source.close()
    deadline = time.monotonic() + 5.0
    while informer.relists == relists and time.monotonic() < deadline:
        time.sleep(0.05)
    assert informer.relists == relists + 1, "a broken watch is followed by a new LIST"
    api.create_deployment(namespace, _deployment(namespace, "r-v2", {LABEL_ROLLOUT: "r"}))
    _soon(lambda: store.get(namespace, "r-v2") is not None, "a Deployment created after the relist")
    assert client.synced(KIND, namespace) and client.list_rollouts(namespace) == []


VIRTUAL_SERVICE = ("networking.istio.io/v1", "VirtualService")


def _virtual_service(namespace: str, host: str) -> dict[str, object]:
    return {
        "apiVersion": VIRTUAL_SERVICE[0],
        "kind": VIRTUAL_SERVICE[1],
        "metadata": {"name": "scoring", "namespace": namespace},
        "spec": {"hosts": [host], "http": [{"route": [{"destination": {"host": host}}]}]},
    }


def test_a_route_kinds_cache_starts_once_served_follows_it_and_stops_when_its_crd_goes(
    cluster: LocalCluster, namespace: str, cached: tuple[ApiKubeClient, CachedKubeClient]
) -> None:
    api, client = cached
    # given Istio's CRDs not installed: reads say so, and nothing is watched
    remove_route_crds(cluster, "istio")
    with pytest.raises(KindNotServed):
        client.get_object(*VIRTUAL_SERVICE, namespace, "scoring")
    assert client.routes.informers == {}

    # when they are installed, the next read starts the watch, which follows the objects
    install_route_crds(cluster, "istio")
    with pytest.raises(NotFound):
        client.get_object(*VIRTUAL_SERVICE, namespace, "scoring")
    informer = client.routes.informers[(*VIRTUAL_SERVICE, namespace)]
    _soon(informer.synced.is_set, "the VirtualService watch listed")
    api.apply_object(_virtual_service(namespace, "a"), "platform-team")
    _soon(lambda: client.routes.stores[VIRTUAL_SERVICE].get(namespace, "scoring") is not None, "created")
    applied = client.apply_object(_virtual_service(namespace, "b"), "platform-team")
    assert client.get_object(*VIRTUAL_SERVICE, namespace, "scoring")["spec"] == applied["spec"]

    # when the CRDs are deleted, the watch stops and reads ask the apiserver again
    remove_route_crds(cluster, "istio")
    deadline = time.monotonic() + 10.0
    while not informer.gone.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert informer.gone.is_set(), "the informer stopped on the kind's 404"
    with pytest.raises(KindNotServed):
        client.get_object(*VIRTUAL_SERVICE, namespace, "scoring")
    assert client.routes.informers == {}
    install_route_crds(cluster, "istio")  # as the other tests of the session expect
