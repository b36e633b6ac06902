"""What `decide` asks the controller to do: few, declarative, each safe to repeat.

The controller applies them in the order given. `decide` emits an action only when the observed
world differs from what it wants (or on a transition, for events and lineage), so a converged
rollout yields no actions at all and a repeat of the same call does no harm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..api.v1alpha1 import MetricResult, ModelRolloutStatus, Outcome, Reason, Weight

__all__ = [
    "Action",
    "ApplyWeights",
    "Decision",
    "EmitEvent",
    "EnsureVersion",
    "PruneVersions",
    "RecordLineage",
    "RetireVersion",
]


@dataclass(frozen=True)
class EnsureVersion:
    """Create the Deployment `<rollout>-<version>` from `template` if it does not exist, at zero
    replicas (`ApplyWeights` sizes it). A version's Deployment is never re-templated: a new
    template is a new version. `template` is None only for a stable whose Deployment exists."""

    version: str
    template: Mapping[str, Any] | None


@dataclass(frozen=True)
class ApplyWeights:
    """Route `weights` (percent per version, summing to 100: `status.weights`, the weights
    served) and scale each version in `replicas` to its count.

    `replicas` is the router's plan for `weights`, or while capacity moves to new weights, the
    stage `decide` wants now (`rollout.capacity`): the growing version surged, the shrinking one
    still at its size until the new pods are Available."""

    weights: Mapping[str, Weight]
    replicas: Mapping[str, int]


@dataclass(frozen=True)
class RetireVersion:
    """Scale a version that no longer takes traffic to zero and keep its Deployment (a quick
    revert for an old stable; the scale-down before deletion for a superseded candidate)."""

    version: str


@dataclass(frozen=True)
class PruneVersions:
    """Delete the owned Deployments of every version not in `keep`. `decide` lists in `keep` the
    stable, the candidate, the last `spec.revisionHistoryLimit` old stables and any version still
    scaling down, so a Deployment is deleted only once it serves nothing."""

    keep: tuple[str, ...]


@dataclass(frozen=True)
class EmitEvent:
    """A Kubernetes Event on the ModelRollout."""

    type: Literal["Normal", "Warning"]
    reason: Reason
    message: str
    repeats: bool = False
    """The same announcement comes again next interval, the rollout standing where it was (the
    verdict of an analysis step that goes on): no transition, so the controller folds it into
    one Event whose `count` grows, as Kubernetes' own event series do, instead of a new Event
    (and an outbox entry) every interval. False: a transition, announced exactly once."""


@dataclass(frozen=True)
class RecordLineage:
    """A fact for the version lineage (`lineage.VersionLineage`), which the controller merges
    into `status.lineage`; `decide` leaves that list untouched.

    `outcome` maps to the lineage's recorders: Stable -> record_stable, Progressing ->
    record_candidate (with `parent` and `parameters`), Promoted -> record_promoted,
    RolledBack -> record_rolled_back, Aborted -> record_aborted, Superseded -> record_superseded."""

    version: str
    outcome: Outcome
    at: datetime
    parent: str | None = None
    parameters: Mapping[str, Any] | None = None
    reason: str = ""
    metrics: tuple[MetricResult, ...] | None = field(default=None)


Action = EnsureVersion | ApplyWeights | RetireVersion | PruneVersions | EmitEvent | RecordLineage
"""Every action `decide` can return."""


@dataclass(frozen=True)
class Decision:
    """The result of `decide`: the next status, what to do, and when to look again."""

    status: ModelRolloutStatus
    """A new object; the input status is never modified."""
    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None
    """Seconds until `decide` should run again even if nothing changes (a pause expiring, the
    next analysis interval, a Deployment to wait for); None when only a change can matter."""
