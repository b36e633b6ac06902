"""Which Deployments may carry an ownerReference to their ModelRollout, and freeing the ones that
may not.

Garbage collection follows ownerReferences whatever the finalizer does: `kubectl delete
--cascade=foreground` deletes the dependents together with the owner, and a finalizer removed
while the operator is down lets the owner go with nobody to hand its stable over. So the
guarantee "deleting a ModelRollout never takes the stable down" cannot rest on the finalizer:
the stable's Deployment carries no ownerReference at all. A candidate keeps its own, so garbage
collection cleans it up when the finalizer is bypassed; once it is being promoted it takes over
the stable's capacity, and from then on it is freed too, before the status that says so is
written (a crash in between leaves a free Deployment, never a stable with an owner).
"""

from __future__ import annotations

from typing import Any

from ..api.v1alpha1 import ModelRolloutStatus, Phase
from ..k8s import KubeClient, with_conflict_retry


def versions_kept_on_delete(status: ModelRolloutStatus) -> frozenset[str]:
    """The versions whose Deployments must outlive the ModelRollout however it is deleted: the
    stable, and a candidate being promoted (it serves what the stable gives up)."""
    kept = {status.stable_version} if status.stable_version else set()
    if status.phase is Phase.PROMOTING and status.candidate_version:
        kept.add(status.candidate_version)
    return frozenset(kept)


def owned_by(deployment: dict[str, Any], rollout: dict[str, Any]) -> bool:
    """Whether `deployment` names `rollout` as an owner (by uid, as garbage collection does)."""
    uid = rollout["metadata"].get("uid")
    owners = deployment.get("metadata", {}).get("ownerReferences") or []
    return any(owner.get("uid") == uid for owner in owners)


def free_kept_versions(
    client: KubeClient,
    rollout: dict[str, Any],
    deployments: dict[str, dict[str, Any]],
    kept: frozenset[str],
) -> None:
    """Remove the ownerReference from each kept version's Deployment that still has one (made
    by an earlier operator, or a candidate now being promoted); a no-op when none has. The
    Deployments are those listed by the rollout's labels, addressed by their own names. All
    ownerReferences go, as the finalizer has always done: the operator made the Deployment with
    that one owner."""
    for version in sorted(kept):
        deployment = deployments.get(version)
        if deployment is not None and owned_by(deployment, rollout):
            deployments[version] = _free(client, deployment)


def _free(client: KubeClient, deployment: dict[str, Any]) -> dict[str, Any]:
    meta = deployment["metadata"]
    patch = {"metadata": {"ownerReferences": None}}
    return with_conflict_retry(lambda: client.patch_deployment(meta["namespace"], meta["name"], patch))
