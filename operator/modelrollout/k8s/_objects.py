"""Reading and building the few object shapes the operator cares about."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..api.v1alpha1 import MESSAGE_MAX_LENGTH, cut, format_timestamp


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


def event_body(
    involved: dict[str, Any],
    event_type: str,
    reason: str,
    message: str,
    component: str,
    name: str | None,
    now: datetime,
) -> dict[str, Any]:
    """A core/v1 Event on `involved`; without `name` the apiserver generates one (so each post is
    a new Event), with it a second post of the same name is a 409."""
    meta = involved["metadata"]
    naming = {"name": name} if name else {"generateName": f"{meta['name']}."}
    return {
        "metadata": {**naming, "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": reason,
        "message": cut(message, MESSAGE_MAX_LENGTH),
        "type": event_type,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": component,
        "firstTimestamp": format_timestamp(now),
        "lastTimestamp": format_timestamp(now),
        "count": 1,
    }
