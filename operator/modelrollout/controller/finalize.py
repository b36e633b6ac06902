"""Deleting a ModelRollout never takes the stable down: the routes send everything to the stable
first, the stable's Deployment is scaled to full size, freed from the ModelRollout's ownership (so
garbage collection keeps it) and keeps serving; only then are the other versions' Deployments
deleted, and the routes handed back to `spec.service` (the traffic provider's `finalize`). Every
Deployment is one listed by the rollout's labels and addressed by its own name, so another
rollout's is never touched."""

from __future__ import annotations

import time

from ..k8s import KubeClient, with_conflict_retry
from .exporter import forget_rollout
from .observe import Loaded, deployment_states, deployments_by_version
from .routes import Routes
from .workloads import listed_name


class StableNotReady(Exception):
    """The stable is not Available at full size yet; the finalizer runs again shortly."""


def finalize(client: KubeClient, loaded: Loaded, deadline: float) -> str:
    """Hand the stable over and delete the rest; once done, the rollout's gauges go too."""
    spec = loaded.spec
    stable = loaded.status.stable_version or (spec.stable.version if spec else None)
    routes = None
    if spec is not None and stable is not None:
        versions = deployments_by_version(client, loaded.namespace, loaded.name)
        routes = Routes.of(client, loaded.body, spec, versions)
        routes.set({stable: 100, **{version: 0 for version in versions if version != stable}})
    message = _hand_over(client, loaded, deadline)
    if routes is not None and stable is not None:
        routes.finalize(stable)
    forget_rollout(loaded.namespace, loaded.name)
    return message


def _hand_over(client: KubeClient, loaded: Loaded, deadline: float) -> str:
    spec = loaded.spec
    stable = loaded.status.stable_version or (spec.stable.version if spec else None)
    deployments = deployments_by_version(client, loaded.namespace, loaded.name)
    if stable is None or stable not in deployments:
        return "no stable Deployment to keep"
    replicas = spec.replicas if spec else max(1, int(deployments[stable]["spec"].get("replicas") or 1))
    name = listed_name(deployments[stable])
    with_conflict_retry(
        lambda: client.patch_deployment(
            loaded.namespace, name, {"metadata": {"ownerReferences": None}, "spec": {"replicas": replicas}}
        )
    )
    current = deployments_by_version(client, loaded.namespace, loaded.name)
    state = deployment_states({stable: current.get(stable, {})})[stable]
    if state.available_replicas < replicas and time.monotonic() < deadline:
        raise StableNotReady(f"stable {stable}: {state.available_replicas}/{replicas} available")
    others = [version for version in deployments if version != stable]
    if state.available_replicas == 0:
        # Deleting the candidate now would leave the Service with no endpoint at all: orphan the
        # other versions instead (they keep serving; a person deletes them once the stable is up).
        for version in others:
            orphan = {"metadata": {"ownerReferences": None}}
            client.patch_deployment(loaded.namespace, listed_name(deployments[version]), orphan)
        return f"stable {stable} has no available replica: {', '.join(others) or 'nothing'} left running, orphaned"
    for version in others:
        client.delete_deployment(loaded.namespace, listed_name(deployments[version]))
    return f"stable {stable} kept at {replicas} replicas; other versions deleted"
