"""What `decide` reads besides spec and status: the observed world, as small frozen values.

The controller fills these from the apiserver (Deployments, the Service, a server-side dry-run,
the action annotation, other ModelRollouts) and from one analysis interval; `decide` never looks
anything up itself, so a test can state the whole world in a few lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from ..api.v1alpha1 import MetricResult, Outcome, Reason, Verdict, Weight

if TYPE_CHECKING:  # the statistics (scipy) load only where a bandit is decided
    from ..analysis import ArmCounts, BanditDecision

__all__ = [
    "ActionVerb",
    "AnalysisObservation",
    "DeploymentState",
    "ManualAction",
    "Observations",
    "ReplicaPlanner",
    "RolloutOutcome",
    "UpstreamState",
]


class ActionVerb(StrEnum):
    """Verbs of the `modelrollout.io/action` annotation."""

    PROMOTE = "promote"
    """Finish the current step now and go to the next one."""
    PROMOTE_FULL = "promote-full"
    """Skip every remaining step (and analysis) and promote the candidate."""
    ABORT = "abort"
    """Return all traffic to the stable version; final until `retry` or a new candidate."""
    PAUSE = "pause"
    """Hold the rollout at its current step until `resume`."""
    RESUME = "resume"
    """Lift a pause: a manual one, a pause step, or a pause after an analysis."""
    RETRY = "retry"
    """Roll the same candidate out again from step 0 after it was rolled back or aborted."""
    UNDO = "undo"
    """Return at once to the previous stable (or a named one still kept), skipping analysis."""


RolloutOutcome = Outcome
"""`api.v1alpha1.Outcome` under the name the controller already imports: what became of a
rollout's candidate (`status.history[].outcome`, and the outcome recorded in the lineage)."""


@dataclass(frozen=True)
class ManualAction:
    """A parsed `modelrollout.io/action` annotation.

    `decide` applies an action once and records it in `status.lastAction`; the same verb with
    the same nonce is ignored afterwards, so a restart never applies it twice. Without a nonce
    the nonce is empty: a bare `promote` works once, and repeating a verb needs a fresh nonce
    (the kubectl plugin always writes one).
    """

    verb: ActionVerb
    nonce: str = ""
    version: str | None = None
    """For `undo`: the version to return to (`undo:<version>:<nonce>`); None: the previous one."""

    @classmethod
    def parse(cls, annotation: str) -> ManualAction:
        """ValueError names the annotation and the verbs when it does not parse, so the
        controller can put that message in a Warning event. Only `undo` takes an argument, before
        its nonce: `undo:<nonce>` returns to the previous stable, `undo:<version>:<nonce>` to
        `version`."""
        verb_text, _, nonce = annotation.strip().partition(":")
        try:
            verb = ActionVerb(verb_text.strip())
        except ValueError:
            verbs = ", ".join(v.value for v in ActionVerb)
            raise ValueError(
                f"invalid action {annotation!r}: expected <verb>[:<nonce>] with a verb among {verbs}"
            ) from None
        version: str | None = None
        if verb == ActionVerb.UNDO and ":" in nonce:
            version, _, nonce = nonce.partition(":")
            version = version.strip() or None
        return cls(verb=verb, nonce=nonce.strip(), version=version)


@dataclass(frozen=True)
class DeploymentState:
    """One version's Deployment as the apiserver reports it."""

    exists: bool = True
    replicas: int = 0
    """`spec.replicas`: what the operator (or an HPA) asked for."""
    ready_replicas: int = 0
    available_replicas: int = 0
    updated: bool = True
    """The Deployment controller has caught up: `status.observedGeneration >= metadata.generation`
    and `status.updatedReplicas == spec.replicas`. False while a template change rolls out."""

    @classmethod
    def from_counts(cls, counts: Mapping[str, int | bool]) -> DeploymentState:
        """From `k8s.deployment_state`'s counts of an existing Deployment: how the controller
        and the plugin both see one."""
        replicas = int(counts["replicas"])
        return cls(
            exists=True,
            replicas=replicas,
            ready_replicas=int(counts["ready"]),
            available_replicas=int(counts["available"]),
            updated=bool(counts["current"]) and int(counts["updated"]) >= replicas,
        )

    def ready_for(self, desired_replicas: int) -> bool:
        """Serving exactly at the planned size. Zero is a size too: a retired version is ready
        for 0 once no pod of it is available any more."""
        if not self.exists:
            return desired_replicas == 0
        return (
            self.updated
            and self.replicas == desired_replicas
            and self.available_replicas >= desired_replicas
            and (desired_replicas > 0 or self.available_replicas == 0)
        )

    @property
    def serving(self) -> bool:
        """At least one pod can take traffic."""
        return self.exists and self.available_replicas > 0

    @property
    def scaled_down(self) -> bool:
        """Nothing asked for and nothing left serving: what an abort or rollback waits for."""
        return not self.exists or (self.replicas == 0 and self.available_replicas == 0)


MISSING_DEPLOYMENT = DeploymentState(exists=False)


@dataclass(frozen=True)
class AnalysisObservation:
    """The judgement of one analysis interval, run by the controller when `analysis_due` said so
    over `analysis_window`. `decide` counts an observation once: it is ignored unless
    `evaluated_at` is later than `status.analysis.lastRun`."""

    verdict: Verdict
    evaluated_at: datetime
    """The end of the window it covers (the second element of `analysis_window`)."""
    score: float | None = None
    metrics: tuple[MetricResult, ...] = ()
    message: str = ""
    evidence_intervals: int = 0
    """Complete intervals the judgement's evidence spans (across steps when it carries)."""
    settled: bool = False
    """Inconclusive, and no later window can reach a verdict (an A/B test's goal shown not
    superior): the analysis step ends now, as at its final look, and `onInconclusive` applies."""
    bandit: tuple[ArmCounts, ...] | None = None
    """A bandit step's counts per version since it started, the stable first (`rollout.bandit`
    decides the weights and the stop from them)."""
    bandit_decision: BanditDecision | None = None
    """The policy's decision on `bandit`, made once when the judgement is read (`read_bandit`):
    the step's verdict, `status.bandit` and the next weights all come from this one decision."""


@dataclass(frozen=True)
class UpstreamState:
    """The `dependsOn` graph as seen from this rollout, computed by `lineage/`."""

    blocking_models: tuple[str, ...] = ()
    """Upstream models with a rollout under way: this rollout does not start (Pending) or does
    not advance (Paused) while any is listed."""
    failed_models: tuple[tuple[str, float], ...] = ()
    """Upstream models whose rollout failed after this rollout started
    (`status.rolloutStartedAt`), each with the path criticality to this model. Those above
    `spec.cascadeThreshold` cascade (`spec.onUpstreamFailure`) for as long as they are listed."""
    cycle: str | None = None
    """A description of a `dependsOn` cycle through this model (e.g. "a -> b -> a")."""
    missing: tuple[str, ...] = ()
    """`dependsOn` models that no ModelRollout in the namespace declares."""


ReplicaPlanner = Callable[[Mapping[str, Weight]], Mapping[str, int]]
"""What the traffic router makes of a set of weights: replicas per version, i.e.
`lambda weights: router.replica_plan(weights, spec.replicas)`. `decide` plans the weights it
moves to as well as those it serves, so it can stage a move in the call that starts it."""


@dataclass(frozen=True)
class Observations:
    """Everything `decide` needs from outside spec and status."""

    generation: int
    """`metadata.generation` of the ModelRollout (becomes `status.observedGeneration`)."""
    rollout: str = ""
    """The ModelRollout's name: a version's own Service is `<rollout>-<version>` (a BlueGreen
    candidate's preview Service)."""
    deployments: Mapping[str, DeploymentState] = field(default_factory=dict)
    """Every Deployment the ModelRollout owns, by version; an absent version has no Deployment."""
    replica_plan: ReplicaPlanner | None = None
    """The traffic router's replica counts for any weights; None only in tests that need none."""
    service_exists: bool = True
    route_problem: tuple[Reason, str] | None = None
    """Why the traffic provider cannot route (its CRDs are not installed, its route object is
    missing): like a missing Service, a problem no rollout starts or advances through."""
    template_error: str | None = None
    """The message of a failed server-side dry-run of the candidate's template."""
    action: ManualAction | None = None
    analysis: AnalysisObservation | None = None
    upstream: UpstreamState = field(default_factory=UpstreamState)

    def deployment(self, version: str) -> DeploymentState:
        return self.deployments.get(version, MISSING_DEPLOYMENT)

    def planned_replicas(self, weights: Mapping[str, Weight]) -> Mapping[str, int] | None:
        """Replicas per version for `weights` (None without a planner: `decide` then waits)."""
        planner = self.replica_plan
        return dict(planner(weights)) if planner is not None and weights else None
