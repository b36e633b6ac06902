"""Reading and building the few object shapes the operator cares about."""

from __future__ import annotations

from typing import Any


def owner_reference(owner: dict[str, Any], controller: bool = True) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": controller,
        "blockOwnerDeletion": False,
    }


def deployment_state(deployment: dict[str, Any]) -> dict[str, int | bool]:
    """Replica counts the rollout decides on; `current` is False while the controller lags the spec."""
    spec = deployment.get("spec", {})
    status = deployment.get("status", {}) or {}
    generation = deployment.get("metadata", {}).get("generation", 0)
    return {
        "replicas": int(spec.get("replicas", 0) or 0),
        "ready": int(status.get("readyReplicas", 0) or 0),
        "available": int(status.get("availableReplicas", 0) or 0),
        "updated": int(status.get("updatedReplicas", 0) or 0),
        "total": int(status.get("replicas", 0) or 0),
        "current": int(status.get("observedGeneration", 0) or 0) >= int(generation or 0),
    }
