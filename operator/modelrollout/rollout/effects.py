"""From the status `decide` wants to the actions that make the cluster match it.

Level-triggered: each call compares the wanted world with the observed Deployments and asks only
for the difference, so a converged rollout yields no action and an HPA that scales an aborted
candidate back up is undone on the next look. While a problem stands, only a change of weights
(a rollback) touches the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..api.v1alpha1 import Phase
from . import history
from ._decision_state import Run
from .actions import Action, ApplyWeights, EnsureVersion, PruneVersions, RetireVersion

__all__ = ["converge"]

_CANDIDATE_RUNS = frozenset({Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING})
"""Phases in which the candidate's Deployment must exist."""


def converge(run: Run) -> list[Action]:
    weights = run.status.weights
    if not weights:
        return []
    touch = run.problem is None
    actions: list[Action] = []
    if touch:
        actions.extend(_ensure(run))
    hold = (run.stable,) if run.status.phase == Phase.PROMOTING else ()
    if weights != run.before.weights or (touch and _drifted(run, weights, hold)):
        actions.append(ApplyWeights(weights=dict(weights), hold=hold))
    if touch:
        actions.extend(_retire(run))
        prune = _prune(run)
        if prune is not None:
            actions.append(prune)
    return actions


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


def _drifted(run: Run, weights: Mapping[str, int], hold: tuple[str, ...]) -> bool:
    """A Deployment whose size differs from the plan for these weights (a held version may be
    larger). Without a plan for them, re-applying is the only way to get one."""
    plan = run.observations.planned_replicas(weights)
    if plan is None:
        return True
    for version in weights:
        deployment = run.observations.deployment(version)
        planned = plan.get(version, 0)
        if version in hold:
            continue
        if deployment.exists and deployment.replicas != planned:
            return True
        if not deployment.exists and planned > 0:
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
