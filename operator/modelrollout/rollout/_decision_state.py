"""The working state of one `decide` call: the status being built and what it has to say.

Transitions write to `status` and collect events and lineage facts here; nothing is applied
until `decide` returns, so a partial call leaves no trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal

from ..api.v1alpha1 import (
    CanaryStep,
    ConditionType,
    ModelRolloutSpec,
    ModelRolloutStatus,
    Outcome,
    Phase,
    Reason,
    Weight,
    format_timestamp,
    utc,
)
from .actions import EmitEvent, RecordLineage
from .observations import Observations
from .timing import canary_steps

MAX_SPLIT_CHANGES = 64
"""`analysis.splitChanges`' bound: two per step of the at most 32 steps."""

WAIT_POLL_SECONDS = 5.0
"""How soon to look again while waiting for a Deployment (the controller may also be woken by
the Deployment's own events; this bounds the wait when it is not)."""
CAPACITY_POLL_SECONDS = 2.0
"""How soon to look again while capacity moves: each stage waits for new pods to be Available,
which takes seconds, and a move of several stages should not take several `WAIT_POLL_SECONDS`."""
DEPENDENCY_POLL_SECONDS = 15.0
"""How soon to look again while an upstream model blocks or cascades."""
FINAL_LOOK_POLL_SECONDS = 1.0
"""How soon to look again once the final look is due but not yet judged: the controller judges
it on the next call, which should not wait a whole interval."""
PROBLEM_RECHECK_SECONDS = 30.0
"""How soon to look again at something only a person can fix (a missing Service, a cycle)."""

MAX_STEP_WEIGHT = 99
"""A `setWeight: 100` step is served at this weight: until promotion the stable keeps at least
some traffic (and, with the `replicas` provider, at least one pod)."""


def step_weight(weight: Weight) -> Fraction:
    """The candidate's weight a `setWeight` step serves: as asked below 100 (99.5 leaves the
    stable 0.5%), `MAX_STEP_WEIGHT` for 100, as before weights had decimals."""
    return Fraction(weight) if weight < 100 else Fraction(MAX_STEP_WEIGHT)


ACTIVE_PHASES = frozenset({Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING, Phase.ROLLING_BACK})
"""Phases in which a candidate is deployed and not yet decided."""


@dataclass(frozen=True)
class Problem:
    """Something in the spec or the cluster only a person can fix; forward progress waits."""

    reason: Reason
    message: str
    workloads_wait: bool = True
    """Whether the Deployments wait too. A traffic provider that cannot route leaves them to
    converge (the stable is created and kept at full size): only the routes cannot move."""


class Run:
    """One `decide` call."""

    def __init__(
        self, spec: ModelRolloutSpec, before: ModelRolloutStatus, observations: Observations, now: datetime
    ) -> None:
        self.spec = spec
        self.before = before
        self.status = before.model_copy(deep=True)
        self.observations = observations
        self.now = utc(now)
        self.steps: list[CanaryStep] = canary_steps(spec)
        self.problem: Problem | None = None
        self.reason: Reason | None = None
        """Why the rollout is where it is, for the Progressing condition."""
        self.capacity: dict[str, int] | None = None
        """Replicas per version while capacity moves (`capacity.move_capacity`); None: the plan
        for `status.weights`."""
        self.events: list[EmitEvent] = []
        self.lineage: list[RecordLineage] = []
        self._requeues: list[float] = []

    @property
    def stable(self) -> str:
        """Set on the first call, so every later step can rely on it."""
        return self.status.stable_version or self.spec.stable.version

    @property
    def candidate(self) -> str | None:
        return self.status.candidate_version

    def desired_candidate(self) -> str | None:
        """The version the spec asks to roll out; the serving stable is not a candidate."""
        wanted = self.spec.candidate
        if wanted is None or wanted.version == self.stable:
            return None
        return wanted.version

    def candidate_parameters(self, version: str) -> dict[str, Any] | None:
        wanted = self.spec.candidate
        return wanted.parameters if wanted is not None and wanted.version == version else None

    def event(self, reason: Reason, message: str, *, warning: bool = False, repeats: bool = False) -> None:
        kind: Literal["Normal", "Warning"] = "Warning" if warning else "Normal"
        self.events.append(EmitEvent(type=kind, reason=reason, message=message, repeats=repeats))

    def record(self, version: str, outcome: Outcome, **facts: Any) -> None:
        self.lineage.append(RecordLineage(version=version, outcome=outcome, at=self.now, **facts))

    def set_phase(
        self,
        phase: Phase,
        reason: Reason,
        message: str,
        *,
        warning: bool = False,
        quiet: bool = False,
        announce_reason: bool = False,
    ) -> None:
        """Moves to `phase` and says why; an Event only when the phase really changes, so a
        repeated call stays silent. `quiet` when another Event already tells (a problem is
        announced once, by its Degraded condition). `announce_reason` also announces a new
        reason within the same phase: a rollout paused at a step that an upstream failure now
        holds is news to its owner, though it was Paused before and after."""
        new_reason = announce_reason and self._previous_reason() != reason.value
        if (self.status.phase != phase or new_reason) and not quiet:
            self.event(reason, message, warning=warning)
        self.status.phase = phase
        self.status.message = message
        self.reason = reason

    def _previous_reason(self) -> str | None:
        """Why the rollout stood where it was before this call: the Progressing condition's reason."""
        for condition in self.before.conditions:
            if condition.type == ConditionType.PROGRESSING.value:
                return condition.reason
        return None

    def note(self, reason: Reason, message: str) -> None:
        """Why the rollout waits, without a transition."""
        self.status.message = message
        self.reason = reason

    def weights_for(self, candidate_weight: Weight) -> dict[str, Fraction]:
        """Weights always name the stable first (the traffic router gives ties to it) and sum
        to 100."""
        candidate = self.candidate
        if candidate is None:
            return {self.stable: Fraction(100)}
        return {self.stable: 100 - Fraction(candidate_weight), candidate: Fraction(candidate_weight)}

    def set_candidate_weight(self, candidate_weight: Weight) -> None:
        """The weights served from now on; `candidateWeight` mirrors the candidate's share for
        printer columns."""
        if candidate_weight != self.status.candidate_weight:
            self.note_split_change()
        self.status.weights = self.weights_for(candidate_weight)
        self.status.candidate_weight = Fraction(candidate_weight if self.candidate is not None else 0)

    def note_split_change(self) -> None:
        """Records that the traffic split changes now, for the evidence carried across steps
        (`analysis.splitChanges`): the change is the rollout's own decision, known before the
        outcomes of the intervals after it, which is what lets each stretch be counted alone."""
        analysis = self.status.analysis
        if analysis is None or self.candidate is None:
            return
        now = format_timestamp(self.now)
        if analysis.split_changes[-1:] == [now]:
            return
        if len(analysis.split_changes) >= MAX_SPLIT_CHANGES:
            # Only a person moving the steps back and forth gets here; dropping a change would
            # count two splits as one, so the evidence restarts instead (valid, merely slower).
            analysis.evidence_started_at = now
            analysis.split_changes = []
            return
        analysis.split_changes.append(now)

    def requeue(self, seconds: float) -> None:
        self._requeues.append(max(seconds, 1.0))

    def requeue_after(self) -> float | None:
        return min(self._requeues) if self._requeues else None
