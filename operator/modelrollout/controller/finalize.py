"""Deleting a ModelRollout never takes the stable down: the stable's Deployment is scaled to full
size, freed from the ModelRollout's ownership (so garbage collection keeps it) and keeps serving;
only then are the other versions' Deployments deleted."""

from __future__ import annotations

import time

from ..k8s import KubeClient, with_conflict_retry
from .observe import Loaded, deployment_states, deployments_by_version
from .workloads import deployment_name


class StableNotReady(Exception):
    """The stable is not Available at full size yet; the finalizer runs again shortly."""


def finalize(client: KubeClient, loaded: Loaded, deadline: float) -> str:
    spec = loaded.spec
    stable = loaded.status.stable_version or (spec.stable.version if spec else None)
    deployments = deployments_by_version(client, loaded.namespace, loaded.name)
    if stable is None or stable not in deployments:
        return "no stable Deployment to keep"
    replicas = spec.replicas if spec else max(1, int(deployments[stable]["spec"].get("replicas") or 1))
    name = deployment_name(loaded.name, stable)
    with_conflict_retry(
        lambda: client.patch_deployment(
            loaded.namespace, name, {"metadata": {"ownerReferences": None}, "spec": {"replicas": replicas}}
        )
    )
    state = deployment_states({stable: client_deployment(client, loaded, stable)})[stable]
    if state.available_replicas < replicas and time.monotonic() < deadline:
        raise StableNotReady(f"stable {stable}: {state.available_replicas}/{replicas} available")
    for version in deployments:
        if version != stable:
            client.delete_deployment(loaded.namespace, deployment_name(loaded.name, version))
    return f"stable {stable} kept at {replicas} replicas; other versions deleted"


def client_deployment(client: KubeClient, loaded: Loaded, version: str) -> dict[str, object]:
    return deployments_by_version(client, loaded.namespace, loaded.name).get(version, {})
