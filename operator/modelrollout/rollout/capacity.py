"""Capacity moves like a Deployment's rolling update: surge first, shrink once Available.

When the weights move (a `setWeight` step, the promotion), the version that grows is scaled up
first, at most `maxSurge` replicas above the total; the version that shrinks gives pods up only
while the pods Available in all stay at or above the total minus `maxUnavailable`. With the
defaults (25% surge, 0 unavailable) the stable keeps every replica until the candidate's new
pods are Available, so a candidate that never becomes Ready never costs the stable a pod. Each
call computes one stage from what it observes; the weights count as served (`status.weights`)
only once the Deployments are at the plan for them.

A move that does not reach the plan within `spec.progressDeadline` (counted from
`status.progressStartedAt`, which survives a restart) is the caller's to handle (`onFailure`).
Moves towards the stable (rollback, abort, a superseded candidate) are not staged: they only
ever add capacity to the stable, and a failing candidate should leave traffic at once.

While the steps run, the candidate's size is not always its weight's (`planned`): a
`setCanaryScale` in force sizes it, and a header route or mirror to it keeps at least one pod,
since the requests the route sends it need one whatever its weight (so does a weight above 0,
whatever the scale).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ..api.v1alpha1 import (
    CanaryStrategy,
    Phase,
    Weight,
    format_timestamp,
    parse_duration,
    parse_timestamp,
    resolve_int_or_percent,
)
from ._decision_state import Run
from .observations import DeploymentState

__all__ = ["Move", "deadline_passed", "move_capacity", "next_stage", "planned_replicas", "surge_limits"]

_STEPPING = frozenset({Phase.PROGRESSING, Phase.PAUSED})
"""Phases in which a canary scale and routes to the candidate are in force."""


def planned_replicas(run: Run, weights: Mapping[str, Weight]) -> Mapping[str, int] | None:
    """Replicas per version for `weights`: the provider's plan, with the candidate sized by the
    canary scale in force and kept at one pod at least while a route sends it requests."""
    plan = run.observations.planned_replicas(weights)
    candidate = run.candidate
    status = run.status
    if plan is None or candidate is None or candidate not in plan or status.phase not in _STEPPING:
        return plan
    size = plan[candidate]
    scale = status.canary_scale
    if scale is not None and scale.replicas is not None:
        size = scale.replicas
    elif scale is not None and scale.weight is not None:
        size = math.ceil(run.spec.replicas * scale.weight / 100)
    routes = status.routes
    routed = (
        {route.version for route in routes.headers} | {mirror.version for mirror in routes.mirrors}
        if routes
        else set()
    )
    if candidate in routed or weights.get(candidate, 0) > 0:
        size = max(size, 1)  # requests reach it: a scale of 0 would answer them with errors
    return {**plan, candidate: size}


_DEFAULTS = CanaryStrategy.model_fields
"""`maxSurge` / `maxUnavailable` defaults, for a spec without a canary block."""


def surge_limits(strategy: CanaryStrategy | None, total: int) -> tuple[int, int]:
    """(max surge, max unavailable) in replicas for `total` replicas. When both resolve to 0
    (a small total and small percents) one replica may be unavailable, as a Deployment does:
    otherwise nothing could ever move."""
    surge_value = strategy.max_surge if strategy is not None else _DEFAULTS["max_surge"].default
    unavailable_value = (
        strategy.max_unavailable if strategy is not None else _DEFAULTS["max_unavailable"].default
    )
    surge = resolve_int_or_percent(surge_value, total, round_up=True)
    unavailable = min(resolve_int_or_percent(unavailable_value, total, round_up=False), total)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def next_stage(
    plan: Mapping[str, int], observed: Mapping[str, DeploymentState], surge: int, unavailable: int
) -> dict[str, int]:
    """The sizes to ask for now on the way to `plan`, from the Deployments as observed.

    Versions that shrink first drop the pods that are not Available (they serve nothing), then
    as many Available ones as keep the Available pods of all versions at `total - unavailable`;
    versions that grow then get what the surge leaves room for (in the plan's order). Their
    new pods count only once Available, at a later call."""
    total = sum(plan.values())
    current = {version: _size(observed.get(version)) for version in plan}
    available = {version: _available(observed.get(version)) for version in plan}
    stage = dict(current)
    spare = sum(available.values()) - (total - unavailable)
    for version, planned in plan.items():
        if planned >= current[version]:
            continue
        idle = current[version] - available[version]
        given_up = min(current[version] - planned, idle + max(spare, 0))
        spare -= max(given_up - idle, 0)
        stage[version] -= given_up
    room = total + surge - sum(stage.values())
    for version, planned in plan.items():
        if planned > current[version] and room > 0:
            added = min(planned - current[version], room)
            stage[version] += added
            room -= added
    return stage


@dataclass(frozen=True)
class Move:
    """Where a move stands after `move_capacity`."""

    done: bool
    waiting_for: str = ""
    """What the move waits for, for messages (empty when done)."""


def move_capacity(run: Run, target_weights: Mapping[str, Weight], growing: str) -> Move:
    """One stage towards the plan for `target_weights`, written to `run.capacity` (applied by
    `converge`). Done once `growing` (the version that gains weight) is Available at its planned
    size and every other version is asked for exactly its planned size: the caller then sets
    the weights as served. Starts the progress clock on the first call of a move."""
    observations = run.observations
    plan = planned_replicas(run, target_weights)
    if plan is None:
        return Move(False, "a replica plan")
    deployments = {version: observations.deployment(version) for version in plan}
    surge, unavailable = surge_limits(run.spec.strategy.canary, sum(plan.values()))
    stage = next_stage(plan, deployments, surge, unavailable)
    ready = deployments[growing].ready_for(plan[growing]) if growing in plan else True
    if ready and stage == dict(plan):
        run.status.progress_started_at = None
        run.capacity = None
        return Move(True)
    if run.status.progress_started_at is None:
        run.status.progress_started_at = format_timestamp(run.now)
    for version, planned in plan.items():
        if planned == 0 and deployments[version].replicas > 0:
            stage[version] = max(stage[version], 1)  # a version leaves only when the move is done
    run.capacity = stage
    grown = deployments[growing] if growing in plan else None
    available = grown.available_replicas if grown is not None and grown.exists else 0
    return Move(False, f"{growing} to be Available at {plan.get(growing, 0)} replicas ({available} now)")


def deadline_passed(run: Run) -> bool:
    """The move under way started more than `spec.progressDeadline` ago."""
    started = parse_timestamp(run.status.progress_started_at)
    if started is None:
        return False
    return run.now >= started + timedelta(seconds=parse_duration(run.spec.progress_deadline))


def _size(state: DeploymentState | None) -> int:
    return state.replicas if state is not None and state.exists else 0


def _available(state: DeploymentState | None) -> int:
    """Available pods that are still asked for: a pod of a version being scaled down may still
    report Available, but it is on its way out."""
    if state is None or not state.exists:
        return 0
    return min(state.available_replicas, state.replicas)
