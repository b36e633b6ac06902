"""What the traffic tests share: the route CRDs in the session's control plane, the route objects
another team owns, and how a test reads them back (weights per version, fields per manager)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from modelrollout.api.v1alpha1 import TrafficSpec
from modelrollout.k8s import kubeconfig_client
from modelrollout.traffic import FIELD_MANAGER, RouteTarget
from modelrollout_dev import LocalCluster
from modelrollout_dev.route_traffic import ROUTE_RESOURCES, http_route_shares, virtual_service_shares
from modelrollout_dev.traffic_crds import gateway_api_crds, istio_crds

from .env import Env

PLATFORM_TEAM = "platform-team"
"""The field manager of the route objects' other fields: what the operator must never take."""
CRD_NAMES = {
    "gatewayAPI": ["httproutes.gateway.networking.k8s.io"],
    "istio": ["virtualservices.networking.istio.io", "destinationrules.networking.istio.io"],
}


def install_route_crds(cluster: LocalCluster, provider: str) -> None:
    """The provider's CRDs from their Go modules (`make tools`), applied and Established."""
    files = gateway_api_crds() if provider == "gatewayAPI" else istio_crds()
    for path in files:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    for name in CRD_NAMES[provider]:  # `kubectl wait` fails on a CRD whose status is not written yet
        deadline = time.monotonic() + 30
        while not _established(cluster, name):
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {name} not Established after 30s")
            time.sleep(0.2)


def _established(cluster: LocalCluster, name: str) -> bool:
    out = cluster.kubectl("get", "crd", name, "-o", "json", check=False)
    if out.returncode != 0:
        return False
    conditions = json.loads(out.stdout).get("status", {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def dry_run_for_weights(
    cluster: LocalCluster,
    namespace: str,
    users_route: dict[str, Any],
    traffic: dict[str, Any],
    cases: list[dict[str, Any]],
    objects: Callable[[RouteTarget, dict[str, Any], dict[str, Any]], list[dict[str, Any]]],
) -> list[list[dict[str, Any]]]:
    """For each weights in `cases`: the objects the provider would write (`objects(target, route
    as stored, weights)`), server-side applied as a dry run by the operator's field manager, so the
    real CRD schemas (and their CEL rules) judge them; what the apiserver answered, per case."""
    client = kubeconfig_client(str(cluster.kubeconfig))
    client.apply_object(users_route, PLATFORM_TEAM)
    metadata = users_route["metadata"]
    stored = client.get_object(users_route["apiVersion"], users_route["kind"], namespace, metadata["name"])
    answers = []
    for weights in cases:
        target = RouteTarget(namespace=namespace, rollout="fraud-scorer", service="fraud-scorer",
                             model="fraud-scorer", traffic=TrafficSpec.model_validate(traffic),
                             versions=tuple(weights))  # fmt: skip
        answers.append(
            [
                client.apply_object(body, FIELD_MANAGER, dry_run=True)
                for body in objects(target, stored, weights)
            ]
        )
    return answers


def remove_route_crds(cluster: LocalCluster, provider: str) -> None:
    for name in CRD_NAMES[provider]:
        cluster.kubectl("delete", "crd", name, "--ignore-not-found", "--wait=true", "--timeout=60s")


def route(env: Env, kind: str, name: str) -> dict[str, Any]:
    out = env.cluster.kubectl(
        "get", ROUTE_RESOURCES[kind], name, "-n", env.namespace, "-o", "json", "--show-managed-fields"
    )
    found: dict[str, Any] = json.loads(out.stdout)
    return found


RESOURCES = {**ROUTE_RESOURCES, "DestinationRule": "destinationrules.networking.istio.io"}


def patched_by_hand(env: Env, kind: str, name: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
    """A person's `kubectl patch --type=json` of a route object: the object the apiserver stored."""
    out = env.cluster.kubectl(
        "patch", RESOURCES[kind], name, "-n", env.namespace, "--type=json",
        "-p", json.dumps(operations), "-o", "json",
    )  # fmt: skip
    found: dict[str, Any] = json.loads(out.stdout)
    return found


def shares(env: Env, kind: str, name: str) -> dict[str, int] | None:
    """The route's weight per version (None: it sends traffic to the Service itself)."""
    found = route(env, kind, name)
    if kind == "HTTPRoute":
        return http_route_shares(found, env.name, env.model)
    return virtual_service_shares(found, env.model)


def fields_of(found: dict[str, Any], manager: str) -> set[str]:
    """The top-level `f:` keys of `spec` and `metadata` a manager owns (managedFields)."""
    owned: set[str] = set()
    for entry in found["metadata"].get("managedFields") or []:
        if entry.get("manager") != manager:
            continue
        fields = entry.get("fieldsV1") or {}
        for part in ("f:spec", "f:metadata"):
            owned.update(f"{part[2:]}.{key[2:]}" for key in fields.get(part) or {} if key.startswith("f:"))
    return owned


def service_names(env: Env) -> set[str]:
    out = env.cluster.kubectl("get", "services", "-n", env.namespace, "-o", "json")
    return {item["metadata"]["name"] for item in json.loads(out.stdout)["items"]}
