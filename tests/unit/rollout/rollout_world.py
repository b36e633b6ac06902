"""A tiny simulated cluster for the rollout state machine: it applies `decide`'s actions the way
the controller will (the `replicas` router's plan, `hold`, retire, prune) and reports them back
as Observations. Pods become Available when `settle()` is called, so tests choose when the
cluster catches up."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from modelrollout.api.v1alpha1 import (
    AnalysisSpec,
    AnalysisStatus,
    CanaryStep,
    CanaryStrategy,
    HistoryEntry,
    ModelRolloutSpec,
    ModelRolloutStatus,
    StrategySpec,
    VersionSpec,
)
from modelrollout.rollout import (
    Action,
    AnalysisObservation,
    ApplyWeights,
    Decision,
    DeploymentState,
    EmitEvent,
    EnsureVersion,
    Observations,
    PruneVersions,
    ReplicaPlan,
    RetireVersion,
    analysis_due,
    analysis_window,
    decide,
)
from modelrollout.traffic import ReplicaRouter

T0 = datetime(2030, 1, 1, tzinfo=UTC)
ANALYSIS_DEFAULTS: dict[str, Any] = {
    "prometheus": {"address": "http://prometheus.monitoring:9090"},
    "metrics": [{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.005}],
}
TEMPLATE: dict[str, Any] = {"spec": {"containers": [{"name": "model", "image": "model:1"}]}}


def make_spec(
    steps: list[dict[str, Any]] | None = None,
    *,
    candidate: str | None = "v8",
    stable: str = "v7",
    replicas: int = 3,
    stable_template: dict[str, Any] | None = TEMPLATE,
    **fields: Any,
) -> ModelRolloutSpec:
    """A spec with the given canary steps (camelCase dicts, as users write them); `analysis`
    (camelCase too) is merged over one error-rate metric on a Prometheus."""
    canary_steps = [CanaryStep.model_validate(step) for step in (steps or [{"setWeight": 20}])]
    analysis = {**ANALYSIS_DEFAULTS, **(fields.pop("analysis", None) or {})}
    return ModelRolloutSpec(
        model="fraud-scorer",
        service="fraud-scorer",
        replicas=replicas,
        stable=VersionSpec(version=stable, template=stable_template),
        candidate=VersionSpec(version=candidate, template=TEMPLATE, parameters={"lr": 0.1})
        if candidate
        else None,
        strategy=StrategySpec(canary=CanaryStrategy(steps=canary_steps)),
        analysis=AnalysisSpec.model_validate(analysis),
        **fields,
    )


@dataclass
class World:
    """Deployments by version, plus what the controller would otherwise find out."""

    spec: ModelRolloutSpec
    deployments: dict[str, DeploymentState] = field(default_factory=dict)
    now: datetime = T0
    generation: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    """Other Observations fields (service_exists, upstream, analysis, action...)."""
    router: ReplicaRouter = field(default_factory=ReplicaRouter)

    def observe(self, status: ModelRolloutStatus) -> Observations:
        plan = None
        if status.weights:
            plan = ReplicaPlan(
                weights=dict(status.weights),
                replicas=self.router.replica_plan(status.weights, self.spec.replicas),
            )
        return Observations(
            generation=self.generation, deployments=dict(self.deployments), replica_plan=plan, **self.extra
        )

    def apply(self, actions: tuple[Action, ...]) -> None:
        for action in actions:
            if isinstance(action, EnsureVersion) and action.version not in self.deployments:
                self.deployments[action.version] = DeploymentState(replicas=0)
            elif isinstance(action, ApplyWeights):
                plan = self.router.replica_plan(action.weights, self.spec.replicas)
                for version, replicas in plan.items():
                    current = self.deployments.get(version)
                    if current is None:
                        continue
                    if version in action.hold:
                        replicas = max(replicas, current.replicas)
                    self.deployments[version] = _scale(current, replicas)
            elif isinstance(action, RetireVersion) and action.version in self.deployments:
                self.deployments[action.version] = _scale(self.deployments[action.version], 0)
            elif isinstance(action, PruneVersions):
                for version in [v for v in self.deployments if v not in action.keep]:
                    del self.deployments[version]

    def settle(self) -> None:
        """Every Deployment reaches its size: pods up (or gone)."""
        self.deployments = {
            version: replace(
                state, ready_replicas=state.replicas, available_replicas=state.replicas, updated=True
            )
            for version, state in self.deployments.items()
        }

    def judge(self, status: ModelRolloutStatus, verdict: Any) -> None:
        """The controller's analysis: a judgement for the next reconcile when one is due (a
        Verdict, or a callable of the window's start and end returning one)."""
        self.extra.pop("analysis", None)
        if verdict is not None and analysis_due(self.spec, status, self.now):
            start, end = analysis_window(self.spec, status, self.now)
            judged = verdict(start, end) if callable(verdict) else verdict
            self.extra["analysis"] = AnalysisObservation(verdict=judged, evaluated_at=end, message="judged")

    def step(self, status: ModelRolloutStatus, *, settle: bool = True, advance: float = 0.0) -> Decision:
        """One reconcile: decide, apply, optionally let pods settle and time pass."""
        decision = decide(self.spec, status, self.observe(status), self.now)
        self.apply(decision.actions)
        if settle:
            self.settle()
        self.now += timedelta(seconds=advance)
        return decision


def _scale(state: DeploymentState, replicas: int) -> DeploymentState:
    """A new size: the Deployment catches up only at `settle()` (scaling down is immediate for
    what is asked, but pods still count as available until then)."""
    return replace(state, replicas=replicas, updated=False)


def events(decision: Decision) -> list[tuple[str, str]]:
    return [(a.type, a.reason.value) for a in decision.actions if isinstance(a, EmitEvent)]


def of_type(decision: Decision, kind: type[Any]) -> list[Any]:
    return [a for a in decision.actions if isinstance(a, kind)]


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def status_at(
    phase: str,
    *,
    step: int | None = 0,
    weight: int = 0,
    stable: str = "v7",
    candidate: str | None = "v8",
    paused_reason: str | None = None,
    analysis_started: datetime | None = None,
    last_run: datetime | None = None,
    outcome: str = "Progressing",
    reason: str = "",
    step_started: datetime = T0,
    **fields: Any,
) -> ModelRolloutStatus:
    """A status as an earlier `decide` would have left it in `phase`."""
    weights = {stable: 100 - weight, candidate: weight} if candidate else {stable: 100}
    history = []
    if candidate:
        finished = stamp(T0) if phase in ("RolledBack",) else None
        history.append(
            HistoryEntry(
                candidate=candidate,
                stable=stable,
                outcome=outcome,
                reason=reason,
                started_at=stamp(T0),
                finished_at=finished,
            )
        )
    analysis = None
    if analysis_started is not None:
        analysis = AnalysisStatus(
            started_at=stamp(analysis_started), last_run=stamp(last_run) if last_run else None
        )
    return ModelRolloutStatus.model_validate(
        {
            "phase": phase,
            "stableVersion": stable,
            "candidateVersion": candidate,
            "candidateWeight": weight if candidate else 0,
            "weights": weights,
            "currentStep": step if candidate else None,
            "stepStartedAt": stamp(step_started) if candidate else None,
            "rolloutStartedAt": stamp(T0) if candidate else None,
            "pausedReason": paused_reason,
            "analysis": analysis.model_dump(by_alias=True) if analysis else None,
            "history": [h.model_dump(by_alias=True) for h in history],
            **fields,
        }
    )


def ready(**sizes: int) -> dict[str, DeploymentState]:
    """Deployments serving at the given sizes."""
    return {
        version: DeploymentState(replicas=size, ready_replicas=size, available_replicas=size)
        for version, size in sizes.items()
    }


def drive(
    world: World,
    status: ModelRolloutStatus,
    *,
    verdict: Any = None,
    until: Any = None,
    limit: int = 200,
    tick: float = 5.0,
) -> tuple[ModelRolloutStatus, list[Decision]]:
    """Reconciles until `until(status)` (default: a final phase), waking up when `decide` asked
    to (or every `tick` seconds). When an analysis is due, the judgement is `verdict` (a Verdict,
    or a callable of the window) evaluated at the window's end."""
    done = until or (
        lambda s: s.phase.value == "RolledBack" or (s.phase.value, s.candidate_version) == ("Promoted", None)
    )
    decisions: list[Decision] = []
    for _ in range(limit):
        world.judge(status, verdict)
        decision = world.step(status)
        decisions.append(decision)
        status = decision.status
        if done(status):
            return status, decisions
        world.now += timedelta(seconds=min(decision.requeue_after or tick, tick * 12))
    raise AssertionError(f"no end after {limit} reconciles: {status.phase} {status.message}")
