"""The ModelRollout's side of its scale subresource: `status.replicas` and `status.selector`.

An HPA (or `kubectl scale`) writes `spec.replicas` through `modelrollouts/scale`; `decide` splits
it between the versions by their weights like any other size. What the scale reports back is a
fact about the Deployments, not a decision, so it is filled in here from the Deployments as this
reconcile left them, and stays out of the pure state machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..api.v1alpha1 import ModelRolloutStatus
from ..k8s import deployment_state
from .workloads import rollout_selector


def with_scale_status(
    status: ModelRolloutStatus, deployments: Mapping[str, Mapping[str, Any]], rollout_name: str
) -> ModelRolloutStatus:
    """`status` with the replicas of every version's Deployment summed (their `spec.replicas`
    once this reconcile has scaled them: the pods the rollout runs or is starting) and the
    selector of those pods."""
    replicas = sum(int(deployment_state(dict(deployment))["replicas"]) for deployment in deployments.values())
    return status.model_copy(update={"replicas": replicas, "selector": rollout_selector(rollout_name)})
