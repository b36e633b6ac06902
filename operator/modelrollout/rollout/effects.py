"""From the status `decide` wants to the actions that make the cluster match it.

Level-triggered: each call compares the wanted world with the observed Deployments and asks only
for the difference, so a converged rollout yields no action and an HPA that scales an aborted
candidate back up is undone on the next look. While a problem stands, only a change of weights
(a rollback) touches the cluster. While capacity moves to new weights the sizes are the stage
`rollout.capacity` chose, not the plan for the weights served.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..api.v1alpha1 import Phase
from . import history
from ._decision_state import Run
from .actions import Action, ApplyWeights, EnsureVersion, PruneVersions, RetireVersion
from .bluegreen_stages import blue_green_replicas
from .capacity import next_stage, planned_replicas, surge_limits

__all__ = ["converge"]

_CANDIDATE_RUNS = frozenset({Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING})
"""Phases in which the candidate's Deployment must exist."""


def converge(run: Run) -> list[Action]:
    weights = run.status.weights
    if not weights:
        return []
    touch = run.problem is None or not run.problem.workloads_wait
    actions: list[Action] = []
    if touch:
        actions.extend(_ensure(run))
    replicas = run.capacity if run.capacity is not None else _served_capacity(run)
    if replicas is not None and (weights != run.before.weights or (touch and _drifted(run, replicas))):
        actions.append(ApplyWeights(weights=dict(weights), replicas=dict(replicas)))
    if touch:
        actions.extend(_retire(run))
        prune = _prune(run)
        if prune is not None:
            actions.append(prune)
    return actions


def _served_capacity(run: Run) -> Mapping[str, int] | None:
    """The plan for the weights served. While a candidate runs, reaching it is staged too (a
    move abandoned by a pause, an HPA's change undone): surge first, never a dip. A BlueGreen
    stage keeps its own sizes, whatever the weights."""
    blue_green = blue_green_replicas(run)
    if blue_green is not None:
        return blue_green
    plan = planned_replicas(run, run.status.weights)
    if plan is None or run.status.phase not in _CANDIDATE_RUNS:
        return plan
    deployments = {version: run.observations.deployment(version) for version in plan}
    return next_stage(plan, deployments, *surge_limits(run.spec.strategy.canary, sum(plan.values())))


def stable_template(run: Run) -> Mapping[str, Any] | None:
    """The stable's template: `spec.stable`'s, or after a promotion the candidate's that became
    the stable (while the spec still names it)."""
    spec = run.spec
    if spec.stable.version == run.stable:
        return spec.stable.template
    if spec.candidate is not None and spec.candidate.version == run.stable:
        return spec.candidate.template
    return None


def candidate_template(run: Run) -> Mapping[str, Any] | None:
    wanted = run.spec.candidate
    if wanted is None or wanted.version != run.candidate:
        return None
    return wanted.template


def _ensure(run: Run) -> list[Action]:
    observed = run.observations
    actions: list[Action] = []
    template = stable_template(run)
    if not observed.deployment(run.stable).exists and template is not None:
        actions.append(EnsureVersion(version=run.stable, template=template))
    candidate = run.candidate
    if (
        candidate is not None
        and run.status.phase in _CANDIDATE_RUNS
        and not observed.deployment(candidate).exists
    ):
        template = candidate_template(run)
        if template is not None:
            actions.append(EnsureVersion(version=candidate, template=template))
    return actions


def _drifted(run: Run, replicas: Mapping[str, int]) -> bool:
    """A Deployment whose size differs from what this call wants (an HPA, a person, a move)."""
    for version, wanted in replicas.items():
        deployment = run.observations.deployment(version)
        if deployment.exists and deployment.replicas != wanted:
            return True
        if not deployment.exists and wanted > 0:
            return True
    return False


def _retire(run: Run) -> list[Action]:
    weights = run.status.weights
    return [
        RetireVersion(version=version)
        for version, deployment in sorted(run.observations.deployments.items())
        if version not in weights and deployment.exists and deployment.replicas > 0
    ]


def _prune(run: Run) -> PruneVersions | None:
    status = run.status
    keep = [run.stable]
    if run.candidate is not None:
        keep.append(run.candidate)
    keep.extend(history.old_stables(status, run.spec.revision_history_limit))
    for version, deployment in sorted(run.observations.deployments.items()):
        if version not in keep and not deployment.scaled_down:
            keep.append(version)
    observed = {version for version, deployment in run.observations.deployments.items() if deployment.exists}
    if observed <= set(keep):
        return None
    return PruneVersions(keep=tuple(keep))
