"""Who owns what: which Deployments may carry an ownerReference to their ModelRollout (and
freeing the ones that may not), which ModelRollout may act for a model, and whose a Deployment
name is.

Garbage collection follows ownerReferences whatever the finalizer does: `kubectl delete
--cascade=foreground` deletes the dependents together with the owner, and a finalizer removed
while the operator is down lets the owner go with nobody to hand its stable over. So the
guarantee "deleting a ModelRollout never takes the stable down" cannot rest on the finalizer:
the stable's Deployment carries no ownerReference at all. A candidate keeps its own, so garbage
collection cleans it up when the finalizer is bypassed; once it is being promoted it takes over
the stable's capacity, and from then on it is freed too, before the status that says so is
written (a crash in between leaves a free Deployment, never a stable with an owner). Nothing
is ever given an owner back: a candidate whose promotion is undone, and old stables kept at zero
for a revert, stay free; the finalizer deletes them, garbage collection alone would not.
"""

from __future__ import annotations

from typing import Any

from ..api.v1alpha1 import LABEL_ROLLOUT, LABEL_VERSION, ModelRolloutStatus, Phase, Reason
from ..k8s import KubeClient, with_conflict_retry


def versions_kept_on_delete(status: ModelRolloutStatus) -> frozenset[str]:
    """The versions whose Deployments must outlive the ModelRollout however it is deleted: the
    stable, a candidate being promoted (it serves what the stable gives up), and a version being
    undone (it serves until the one returned to is back at full size)."""
    kept = {status.stable_version} if status.stable_version else set()
    if status.phase is Phase.PROMOTING and status.candidate_version:
        kept.add(status.candidate_version)
    if status.phase is Phase.ROLLING_BACK and status.candidate_version and _undoing(status):
        kept.add(status.candidate_version)  # the undone version serves until the old one is back
    return frozenset(kept)


def _undoing(status: ModelRolloutStatus) -> bool:
    last = status.history[-1] if status.history else None
    return (
        last is not None
        and last.candidate == status.candidate_version
        and last.finished_at is None
        and last.reason == Reason.UNDONE.value
    )


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


CLAIM_RECHECK_SECONDS = 30.0
"""How soon a rollout refused for a claim looks again (the other one may be gone by then)."""


def earlier_claimant(rollout: dict[str, Any], rollouts: list[dict[str, Any]]) -> str | None:
    """The name of the ModelRollout of the same namespace that claimed `rollout`'s `spec.model`
    first (by creationTimestamp, the name breaking a tie: the apiserver's timestamps have whole
    seconds), if any. The user's Service selects pods by the model label, so two rollouts of one
    model would split its traffic: only the first acts. One being deleted still counts (its
    finalizer is handing its stable over)."""
    model = (rollout.get("spec") or {}).get("model")
    mine = _claim_order(rollout)
    earlier = sorted(
        _claim_order(other)
        for other in rollouts
        if other["metadata"]["name"] != rollout["metadata"]["name"]
        and (other.get("spec") or {}).get("model") == model
        and _claim_order(other) < mine
    )
    return earlier[0][1] if earlier else None


def _claim_order(rollout: dict[str, Any]) -> tuple[str, str]:
    meta = rollout["metadata"]
    return str(meta.get("creationTimestamp") or ""), str(meta["name"])


def name_taken(client: KubeClient, namespace: str, name: str, rollout: str, version: str) -> str:
    """Why the Deployment name `name` that version `version` of `rollout` wanted is not its to
    use, naming the holder by its labels. The operator never adopts it: creating is refused by
    the apiserver (the name exists), and everything else acts on Deployments listed by labels."""
    managed = client.list_deployments(namespace, LABEL_ROLLOUT)
    labels = next((d["metadata"].get("labels") or {} for d in managed if d["metadata"]["name"] == name), None)
    if labels is None:
        holder = "a Deployment not made by a ModelRollout"
    else:
        holder = f"ModelRollout {labels[LABEL_ROLLOUT]} (version {labels.get(LABEL_VERSION, '?')})"
    return (
        f"Deployment {name} already exists and belongs to {holder}, not to version {version} of "
        f"ModelRollout {rollout}: it is never adopted, scaled or deleted. Rename this ModelRollout "
        "or the version (names join as <rollout>-<version>)"
    )
