"""Idle rollouts behind route objects cost the apiserver no more than those without: their
HTTPRoutes, VirtualServices, DestinationRules, router ConfigMaps and version Services are read
from watch caches, so a reconcile reads nothing from the apiserver.

Counted as `test_scale_requests` counts (the apiserver's audit log, the operator's ServiceAccount
as the user), for ten idle rollouts of each route provider (gatewayAPI, istio, router), each in an
analysis step of dryRun metrics against a real (empty) Prometheus. Ten of each, not fifty: the
route reads were several GETs per rollout per reconcile, so ten already tell them apart from the
one status PATCH per interval.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelrollout_dev import LocalCluster, fleet

from ..conftest import PrometheusFactory
from ..e2e.routes import install_route_crds
from .idle_requests import assert_idle_requests_within, idle_operator

pytestmark = pytest.mark.cluster

PER_PROVIDER = 10
PROVIDERS = ("gatewayAPI", "istio", "router")
ROLLOUTS = PER_PROVIDER * len(PROVIDERS)
INTERVAL = 5.0
"""Seconds: each rollout's `analysis.interval`, and the length of one counted window."""
WINDOWS = 3
TARGET = 1.2
"""Operator requests per rollout per interval (issue 22), summed over the windows."""


@pytest.fixture
def operator(cluster: LocalCluster, tmp_path: Path) -> Iterator[str]:
    """Yields the namespace an operator with default flags serves, the route CRDs installed."""
    for provider in ("gatewayAPI", "istio"):
        install_route_crds(cluster, provider)
    with idle_operator(cluster, tmp_path / "operator.log", "routes") as namespace:
        yield namespace


def route_object(provider: str, namespace: str, service: str) -> dict[str, Any] | None:
    """The route a platform team keeps for the model's Service (the router provider needs none)."""
    if provider == "gatewayAPI":
        return {
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": service, "namespace": namespace},
            "spec": {"parentRefs": [{"name": "edge"}], "rules": [{"backendRefs": [{"name": service, "port": 80}]}]},
        }  # fmt: skip
    if provider == "istio":
        return {
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": service, "namespace": namespace},
            "spec": {"hosts": [service], "http": [{"route": [{"destination": {"host": service}}]}]},
        }  # fmt: skip
    return None


def traffic(provider: str, name: str) -> dict[str, Any]:
    if provider == "gatewayAPI":
        return {"provider": provider, "gatewayAPI": {"httpRoute": name}}
    if provider == "istio":
        return {"provider": provider, "istio": {"virtualService": name}}
    return {"provider": provider}


def create_routed_fleet(cluster: LocalCluster, namespace: str, prometheus_url: str) -> None:
    """Ten idle rollouts per provider, with their Services and route objects."""
    services: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    rollouts: list[dict[str, Any]] = []
    for provider in PROVIDERS:
        spec = fleet.FleetSpec(
            namespace, PER_PROVIDER, prometheus_url, interval=f"{INTERVAL:.0f}s", prefix=provider.lower()
        )
        for index in range(PER_PROVIDER):
            name = spec.name(index)
            services.append(fleet.model_service(spec, index))
            route = route_object(provider, namespace, name)
            routes += [route] if route is not None else []
            rollout = fleet.idle_rollout(spec, index)
            rollout["spec"]["strategy"]["traffic"] = traffic(provider, name)
            rollouts.append(rollout)
    fleet.wait_for(lambda: cluster.service_account_exists("default", namespace), 30, "default ServiceAccount")
    fleet.apply_all(cluster, services + routes)
    fleet.apply_all(cluster, rollouts)


def test_idle_rollouts_behind_routes_cost_at_most_1_2_requests_each_per_interval(
    cluster: LocalCluster, operator: str, prometheus_factory: PrometheusFactory
) -> None:
    namespace = operator
    prometheus = prometheus_factory.scraping([])
    # given ten rollouts per route provider idling in a dryRun analysis step, analysed every 5 s
    create_routed_fleet(cluster, namespace, prometheus.url)

    # when the operator has settled (every rollout analysed twice), then three 5 s windows hold at
    # most 1.2 operator requests per rollout per window
    assert_idle_requests_within(cluster, namespace, ROLLOUTS, INTERVAL, WINDOWS, TARGET)
