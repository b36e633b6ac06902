"""What a Gateway or a mesh would do with the route objects, for the simulated clients of the tests
and the demo: no data plane runs here, so `ModelTraffic` splits its requests by the weights the
HTTPRoute or VirtualService holds, read from the cluster, and the analysis sees exactly the split
the traffic provider set.

A rule that still sends its traffic to the model's Service itself (before the first step, after
the operator handed the route back) is split as that Service does: by ready pods.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .model_traffic import ready_pods_reader

ROUTE_RESOURCES = {"HTTPRoute": "httproutes.gateway.networking.k8s.io",
                   "VirtualService": "virtualservices.networking.istio.io"}  # fmt: skip


def http_route_shares(route: dict[str, Any], rollout: str, service: str) -> dict[str, int] | None:
    """Weight per version of the first rule that routes to the rollout's Services (None: it routes
    to `service` itself, or no rule routes to the rollout)."""
    prefix = f"{rollout}-"
    for rule in (route.get("spec") or {}).get("rules") or []:
        refs = rule.get("backendRefs") or []
        if any(ref.get("name") == service for ref in refs):
            return None
        shares = {
            ref["name"].removeprefix(prefix): int(ref.get("weight", 1))
            for ref in refs
            if ref.get("name", "").startswith(prefix)
        }
        if shares:
            return shares
    return None


def virtual_service_shares(virtual_service: dict[str, Any], service: str) -> dict[str, int] | None:
    """Weight per subset (version) of the first http entry routing to `service`'s host."""
    for entry in (virtual_service.get("spec") or {}).get("http") or []:
        routes = [
            r
            for r in entry.get("route") or []
            if (r.get("destination") or {}).get("host", "").split(".")[0] == service
        ]
        if not routes:
            continue
        if any("subset" not in r["destination"] for r in routes):
            return None
        return {r["destination"]["subset"]: int(r.get("weight", 100 // len(routes))) for r in routes}
    return None


def route_shares_reader(
    kubectl: Callable[..., Any], namespace: str, model: str, kind: str, name: str, rollout: str
) -> Callable[[], dict[str, int]]:
    """`ModelTraffic.ready_pods` for traffic through a route object: its weights per version with a
    ready pod, or the ready pods themselves while the route sends traffic to the Service."""
    pods = ready_pods_reader(kubectl, namespace, model)

    def read() -> dict[str, int]:
        result = kubectl("get", ROUTE_RESOURCES[kind], name, "-n", namespace, "-o", "json")
        route = json.loads(result.stdout)
        shares = (
            http_route_shares(route, rollout, model)
            if kind == "HTTPRoute"
            else virtual_service_shares(route, model)
        )
        ready = pods()
        if shares is None:
            return ready
        return {version: weight for version, weight in shares.items() if weight > 0 and ready.get(version)}

    return read
