"""The ModelRollout's side of its scale subresource: `status.replicas` and `status.selector`.

An HPA (or `kubectl scale`) writes `spec.replicas` through `modelrollouts/scale`; `decide` splits
it between the versions by their weights like any other size. What the scale reports back is a
fact about the Deployments, not a decision, so it is filled in here from the Deployments as this
reconcile left them, and stays out of the pure state machine. When the apply is known to leave
every Deployment as it is, they are filled in before it, so they ride in the reconcile's one
status write instead of a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..api.v1alpha1 import ModelRolloutStatus
from ..k8s import deployment_state
from ..rollout import Action, ApplyWeights, EnsureVersion, PruneVersions, RetireVersion
from .workloads import rollout_selector


def with_scale_status(
    status: ModelRolloutStatus, deployments: Mapping[str, Mapping[str, Any]], rollout_name: str
) -> ModelRolloutStatus:
    """`status` with the replicas of every version's Deployment summed (their `spec.replicas`
    once this reconcile has scaled them: the pods the rollout runs or is starting) and the
    selector of those pods."""
    replicas = sum(int(deployment_state(dict(deployment))["replicas"]) for deployment in deployments.values())
    return status.model_copy(update={"replicas": replicas, "selector": rollout_selector(rollout_name)})


def leaves_deployments_as_they_are(
    actions: Iterable[Action], deployments: Mapping[str, Mapping[str, Any]]
) -> bool:
    """True when applying `actions` creates, scales and deletes nothing (`apply.Applier` skips a
    version already there or already at its size): a decision that only records or announces.
    When in doubt, False: the scale fields then take a second write after the apply."""

    def replicas(version: str) -> int:
        return int(deployment_state(dict(deployments[version]))["replicas"])

    for action in actions:
        if isinstance(action, EnsureVersion) and action.version not in deployments:
            return False
        if isinstance(action, ApplyWeights) and any(
            version in deployments and replicas(version) != wanted
            for version, wanted in action.replicas.items()
        ):
            return False
        if isinstance(action, RetireVersion) and action.version in deployments and replicas(action.version):
            return False
        if isinstance(action, PruneVersions) and set(deployments) - set(action.keep):
            return False
    return True
