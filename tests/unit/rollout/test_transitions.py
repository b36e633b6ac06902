"""Every phase transition of `decide`, one table row each: the status before, what is observed,
and the phase, step, weight, Events and actions after."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import MetricResult, ModelRolloutSpec, ModelRolloutStatus, Verdict
from modelrollout.rollout import (
    ActionVerb,
    AnalysisObservation,
    ApplyWeights,
    DeploymentState,
    EmitEvent,
    ManualAction,
    RecordLineage,
    UpstreamState,
    decide,
)

from ...fixtures.rollout_world import T0, World, events, make_spec, ready, status_at

STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "1m"}},
    {"analysis": {}},
    {"pause": {}},
    {"setWeight": 50},
]
"""0: setWeight 20, 1: pause 1m, 2: analysis, 3: pause until resumed, 4: setWeight 50."""
ANALYSIS = {"interval": "30s", "maxDuration": "5m"}
SPEC = make_spec(STEPS, analysis=ANALYSIS)
PLAN = "plan"
"""Deployments ready at exactly the plan for the status's weights."""


def spec_with(**fields: Any) -> ModelRolloutSpec:
    analysis = {**ANALYSIS, **fields.pop("analysis", {})}
    return make_spec(fields.pop("steps", STEPS), analysis=analysis, **fields)


def judged(verdict: Verdict, seconds: float) -> AnalysisObservation:
    metric = MetricResult(name="errors", verdict=verdict, stable=0.01, candidate=0.02)
    return AnalysisObservation(
        verdict=verdict,
        evaluated_at=T0 + timedelta(seconds=seconds),
        score=50.0,
        metrics=(metric,),
        message="m",
    )


def action(verb: ActionVerb, nonce: str = "1") -> dict[str, Any]:
    return {"action": ManualAction(verb=verb, nonce=nonce)}


ANALYSING = {"step": 2, "weight": 20, "analysis_started": T0}
"""Started on the 30 s grid: the deadline T0+300 s is the final look."""
OFF_GRID = {"step": 2, "weight": 20, "analysis_started": T0 + timedelta(seconds=7)}
"""Started off the grid: the deadline is T0+307 s, the final look T0+330 s."""


@dataclass(frozen=True)
class Case:
    id: str
    status: ModelRolloutStatus
    expect_phase: str
    deployments: Any = PLAN
    spec: ModelRolloutSpec = field(default_factory=lambda: SPEC)
    at: float = 0.0
    observe: dict[str, Any] = field(default_factory=dict)
    expect_step: int | None = None
    expect_weight: int | None = None
    expect_events: tuple[str, ...] = ()
    expect_actions: tuple[str, ...] | None = None
    """Names of the non-Event, non-lineage actions, in order; None: not checked."""
    expect_stable: str = "v7"
    expect_requeue: float | None = -1.0
    """-1: not checked."""


CASES = [
    # First sight and Pending.
    Case(
        "fresh: stable deployed, Pending",
        ModelRolloutStatus(),
        "Pending",
        deployments={},
        spec=spec_with(candidate=None),
        expect_actions=("EnsureVersion", "ApplyWeights"),
        expect_requeue=5.0,
    ),
    Case(
        "stable Available, no candidate -> Promoted",
        ModelRolloutStatus.model_validate(
            {"phase": "Pending", "stableVersion": "v7", "weights": {"v7": 100}}
        ),
        "Promoted",
        spec=spec_with(candidate=None),
        expect_events=("StableAvailable",),
        expect_actions=(),
        expect_requeue=None,
    ),
    Case(
        "stable Available, candidate -> Progressing at step 1",
        ModelRolloutStatus.model_validate(
            {"phase": "Pending", "stableVersion": "v7", "weights": {"v7": 100}}
        ),
        "Progressing",
        expect_step=0,
        expect_weight=0,  # served once the candidate is Available (surge first)
        expect_events=("RolloutStarted",),
        expect_actions=("EnsureVersion", "ApplyWeights"),
        expect_requeue=2.0,
    ),
    Case(
        "stable not Available: candidate waits",
        ModelRolloutStatus.model_validate(
            {"phase": "Pending", "stableVersion": "v7", "weights": {"v7": 100}}
        ),
        "Pending",
        deployments={"v7": DeploymentState(replicas=3)},
        expect_weight=0,
        expect_events=(),
    ),
    Case(
        "missing Service: Pending, nothing touched",
        ModelRolloutStatus(),
        "Pending",
        deployments={},
        observe={"service_exists": False},
        expect_events=("ServiceNotFound",),
        expect_actions=(),
        expect_requeue=30.0,
    ),
    Case(
        "dependency cycle: Pending, nothing touched",
        ModelRolloutStatus(),
        "Pending",
        deployments={},
        observe={"upstream": UpstreamState(cycle="a -> b -> a")},
        expect_events=("DependencyCycle",),
        expect_actions=(),
    ),
    Case(
        "missing dependency: Pending",
        ModelRolloutStatus(),
        "Pending",
        deployments={},
        observe={"upstream": UpstreamState(missing=("encoder",))},
        expect_events=("DependencyNotFound",),
        expect_actions=(),
    ),
    Case(
        "invalid candidate template: no candidate created",
        ModelRolloutStatus.model_validate(
            {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
        ),
        "Pending",
        observe={"template_error": "spec.containers: Required value"},
        expect_events=("InvalidTemplate",),
        expect_actions=(),
    ),
    Case(
        "stable without Deployment or template",
        ModelRolloutStatus(),
        "Pending",
        deployments={},
        spec=make_spec(STEPS, stable="v6", stable_template=None, analysis=ANALYSIS),
        expect_events=("StableUnavailable",),
        expect_actions=(),
        expect_stable="v6",
    ),
    Case(
        "upstream mid-rollout: candidate waits",
        ModelRolloutStatus.model_validate(
            {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
        ),
        "Pending",
        observe={"upstream": UpstreamState(blocking_models=("encoder",))},
        expect_events=("WaitingForDependency",),
        expect_actions=(),
        expect_requeue=15.0,
    ),
    # setWeight.
    Case(
        "setWeight: waits for the candidate",
        status_at("Progressing", weight=20),
        "Progressing",
        deployments={"v7": ready(v7=2)["v7"], "v8": DeploymentState(replicas=1)},
        expect_step=0,
        expect_weight=20,
        expect_actions=(),
        expect_requeue=2.0,
    ),
    Case(
        "setWeight: candidate Available -> next step",
        status_at("Progressing", weight=20),
        "Paused",
        expect_step=1,
        expect_events=("StepCompleted", "PausedByStep"),
        expect_actions=(),
        expect_requeue=60.0,
    ),
    Case(
        "setWeight: an outdated plan is not trusted",
        status_at("Progressing", weight=20),
        "Progressing",
        deployments=ready(v7=3, v8=0),
        expect_step=0,
        expect_actions=("ApplyWeights",),
    ),
    Case(
        "setWeight 100 before the end is served at 99",
        status_at("Progressing", weight=0),
        "Paused",
        spec=spec_with(steps=[{"setWeight": 100}, {"pause": {}}]),
        deployments=ready(v7=1, v8=2),  # at the plan for 99%: the move is done
        expect_weight=99,
        expect_step=1,
        expect_events=("StepCompleted", "PausedByStep"),
        expect_actions=("ApplyWeights",),
    ),
    # pause.
    Case(
        "timed pause running",
        status_at("Paused", step=1, weight=20, paused_reason="PausedByStep"),
        "Paused",
        at=45,
        expect_step=1,
        expect_actions=(),
        expect_requeue=15.0,
    ),
    Case(
        "timed pause expired -> analysis",
        status_at("Paused", step=1, weight=20, paused_reason="PausedByStep"),
        "Progressing",
        at=60,
        expect_step=2,
        expect_events=("StepCompleted", "Resumed"),
        expect_requeue=30.0,
    ),
    Case(
        "pause without duration holds",
        status_at("Paused", step=3, weight=20, paused_reason="PausedByStep"),
        "Paused",
        at=3600,
        expect_step=3,
        expect_actions=(),
        expect_requeue=None,
    ),
    # analysis.
    Case(
        "analysis: no judgement yet",
        status_at("Progressing", **ANALYSING),
        "Progressing",
        at=10,
        expect_step=2,
        expect_events=(),
        expect_requeue=20.0,
    ),
    Case(
        "analysis Pass -> next step",
        status_at("Progressing", **ANALYSING),
        "Paused",
        at=30,
        observe={"analysis": judged(Verdict.PASS, 30)},
        expect_step=3,
        expect_events=("AnalysisPassed", "StepCompleted", "PausedByStep"),
    ),
    Case(
        "analysis Fail, onFailure rollback -> RollingBack",
        status_at("Progressing", **ANALYSING),
        "RollingBack",
        at=30,
        observe={"analysis": judged(Verdict.FAIL, 30)},
        expect_weight=0,
        expect_events=("AnalysisFailed", "AnalysisFailed"),
        expect_actions=("ApplyWeights",),
    ),
    Case(
        "analysis Fail, onFailure pause -> Paused",
        status_at("Progressing", **ANALYSING),
        "Paused",
        at=30,
        spec=spec_with(analysis={"onFailure": "pause"}),
        observe={"analysis": judged(Verdict.FAIL, 30)},
        expect_step=2,
        expect_weight=20,
        expect_events=("AnalysisFailed", "PausedOnFailure"),
    ),
    Case(
        "analysis Inconclusive before the deadline",
        status_at("Progressing", **ANALYSING),
        "Progressing",
        at=35,
        observe={"analysis": judged(Verdict.INCONCLUSIVE, 30)},
        expect_step=2,
        expect_events=("AnalysisInconclusive",),
        expect_requeue=25.0,
    ),
    Case(
        "deadline, onInconclusive pause",
        status_at("Progressing", **ANALYSING),
        "Paused",
        at=300,
        observe={"analysis": judged(Verdict.INCONCLUSIVE, 300)},
        expect_step=2,
        expect_events=("AnalysisInconclusive", "PausedInconclusive"),
    ),
    Case(
        "deadline, onInconclusive rollback",
        status_at("Progressing", **ANALYSING),
        "RollingBack",
        at=300,
        spec=spec_with(analysis={"onInconclusive": "rollback"}),
        observe={"analysis": judged(Verdict.INCONCLUSIVE, 300)},
        expect_events=("AnalysisInconclusive", "AnalysisInconclusive"),
    ),
    Case(
        "deadline, onInconclusive promote -> next step",
        status_at("Progressing", **ANALYSING),
        "Paused",
        at=300,
        spec=spec_with(analysis={"onInconclusive": "promote"}),
        observe={"analysis": judged(Verdict.INCONCLUSIVE, 300)},
        expect_step=3,
        expect_events=("AnalysisInconclusive", "StepCompleted", "PausedByStep"),
    ),
    Case(
        "deadline passed, final window not judged yet: waits for it",
        status_at("Progressing", **ANALYSING, last_run=T0 + timedelta(seconds=270)),
        "Progressing",
        at=3600,
        expect_step=2,
        expect_requeue=1.0,
    ),
    Case(
        "off-grid deadline passed, before the final look: still collecting",
        status_at("Progressing", **OFF_GRID),
        "Progressing",
        at=320,
        observe={"analysis": judged(Verdict.INCONCLUSIVE, 300)},
        expect_step=2,
        expect_events=("AnalysisInconclusive",),
        expect_requeue=10.0,
    ),
    Case(
        "off-grid deadline, a Pass at the final look completes the step",
        status_at("Progressing", **OFF_GRID, last_run=T0 + timedelta(seconds=300)),
        "Paused",
        at=330,
        observe={"analysis": judged(Verdict.PASS, 330)},
        expect_step=3,
        expect_events=("AnalysisPassed", "StepCompleted", "PausedByStep"),
    ),
    Case(
        "off-grid deadline, Inconclusive at the final look: onInconclusive",
        status_at("Progressing", **OFF_GRID, last_run=T0 + timedelta(seconds=300)),
        "Paused",
        at=330,
        observe={"analysis": judged(Verdict.INCONCLUSIVE, 330)},
        expect_step=2,
        expect_events=("AnalysisInconclusive", "PausedInconclusive"),
    ),
    Case(
        "a judgement already taken is not taken again",
        status_at("Progressing", **ANALYSING, last_run=T0 + timedelta(seconds=30)),
        "Progressing",
        at=40,
        observe={"analysis": judged(Verdict.FAIL, 30)},
        expect_step=2,
        expect_events=(),
    ),
    Case(
        "a judgement from before the step is ignored",
        status_at("Progressing", **ANALYSING),
        "Progressing",
        at=40,
        observe={"analysis": judged(Verdict.FAIL, -10)},
        expect_step=2,
        expect_events=(),
    ),
    # Promoting and Promoted.
    Case(
        "last step done -> Promoting, stable held",
        status_at("Progressing", step=4, weight=50),
        "Promoting",
        expect_step=5,
        expect_weight=50,  # served until the candidate is Available at full size
        expect_events=("StepCompleted", "StepCompleted"),
        expect_actions=("ApplyWeights",),
        expect_requeue=2.0,
    ),
    Case(
        "Promoting: candidate not yet at full size",
        status_at("Promoting", step=5, weight=100),
        "Promoting",
        deployments=ready(v7=2, v8=2),
        expect_weight=100,
        expect_actions=("ApplyWeights",),
    ),
    Case(
        "Promoting -> Promoted: old stable retired",
        status_at("Promoting", step=5, weight=100),
        "Promoted",
        deployments=ready(v7=2, v8=3),
        expect_events=("Promoted",),
        expect_stable="v8",
        expect_actions=("ApplyWeights", "RetireVersion"),
        expect_requeue=None,
    ),
    # RollingBack and RolledBack.
    Case(
        "RollingBack: candidate still running",
        status_at("RollingBack", weight=0, outcome="RolledBack"),
        "RollingBack",
        deployments=ready(v7=3, v8=1),
        expect_actions=("ApplyWeights",),
        expect_requeue=5.0,
    ),
    Case(
        "RollingBack -> RolledBack",
        status_at("RollingBack", weight=0, outcome="RolledBack"),
        "RolledBack",
        deployments=ready(v7=3, v8=0),
        expect_events=("RolledBack",),
        expect_actions=(),
    ),
    Case(
        "RolledBack stays at zero under an HPA",
        status_at("RolledBack", weight=0, outcome="Aborted"),
        "RolledBack",
        deployments=ready(v7=3, v8=2),
        expect_actions=("ApplyWeights",),
        expect_events=(),
    ),
    # Pauses that last as long as their cause.
    Case(
        "spec.paused holds the step",
        status_at("Progressing", weight=20),
        "Paused",
        spec=spec_with(paused=True),
        expect_step=0,
        expect_events=("PausedByUser",),
        expect_actions=(),
    ),
    Case(
        "spec.paused lifted",
        status_at("Paused", weight=20),
        "Paused",
        expect_step=1,
        expect_events=("StepCompleted",),
    ),
    Case(
        "upstream mid-rollout pauses",
        status_at("Progressing", weight=20),
        "Paused",
        observe={"upstream": UpstreamState(blocking_models=("encoder",))},
        expect_step=0,
        expect_events=("WaitingForDependency",),
    ),
    Case(
        "upstream failed above the threshold: pause",
        status_at("Progressing", weight=20),
        "Paused",
        observe={"upstream": UpstreamState(failed_models=(("encoder", 0.9),))},
        expect_step=0,
        expect_events=("UpstreamFailed",),
    ),
    Case(
        "upstream failed while paused at a pause step: the cascade is announced",
        status_at("Paused", step=1, weight=20, paused_reason="PausedByStep"),
        "Paused",
        observe={"upstream": UpstreamState(failed_models=(("encoder", 0.9),))},
        expect_step=1,
        expect_events=("UpstreamFailed",),
    ),
    Case(
        "upstream mid-rollout while paused at a pause step: the wait is announced",
        status_at("Paused", step=1, weight=20, paused_reason="PausedByStep"),
        "Paused",
        observe={"upstream": UpstreamState(blocking_models=("encoder",))},
        expect_step=1,
        expect_events=("WaitingForDependency",),
    ),
    Case(
        "upstream failed below the threshold: no cascade",
        status_at("Progressing", weight=20),
        "Paused",
        observe={"upstream": UpstreamState(failed_models=(("encoder", 0.3),))},
        expect_step=1,
        expect_events=("StepCompleted", "PausedByStep"),
    ),
    Case(
        "upstream failed, onUpstreamFailure rollback",
        status_at("Progressing", weight=20),
        "RollingBack",
        spec=spec_with(on_upstream_failure="rollback"),
        observe={"upstream": UpstreamState(failed_models=(("encoder", 0.9),))},
        expect_weight=0,
        expect_events=("UpstreamFailed",),
    ),
    # The spec's candidate changes.
    Case(
        "new candidate mid-rollout: superseded, new rollout",
        status_at("Progressing", weight=20),
        "Progressing",
        spec=spec_with(candidate="v9"),
        expect_step=0,
        expect_weight=0,
        expect_events=("Superseded", "RolloutStarted"),
        expect_actions=("EnsureVersion", "ApplyWeights", "RetireVersion"),
    ),
    Case(
        "candidate removed mid-rollout",
        status_at("Paused", step=3, weight=20, paused_reason="PausedByStep"),
        "Promoted",
        spec=spec_with(candidate=None),
        expect_events=("Superseded",),
        expect_actions=("ApplyWeights", "RetireVersion"),
    ),
    Case(
        "new candidate after a rollback",
        status_at("RolledBack", weight=0, outcome="RolledBack"),
        "Progressing",
        spec=spec_with(candidate="v9"),
        deployments=ready(v7=3, v8=0),
        expect_step=0,
        expect_weight=0,
        expect_events=("RolloutStarted",),
        expect_actions=("EnsureVersion", "ApplyWeights", "PruneVersions"),
    ),
    Case(
        "missing Service mid-rollout: on hold, traffic untouched",
        status_at("Progressing", weight=20),
        "Progressing",
        observe={"service_exists": False},
        expect_step=0,
        expect_weight=20,
        expect_events=("ServiceNotFound",),
        expect_actions=(),
        expect_requeue=30.0,
    ),
    # Manual actions.
    Case(
        "promote: next step",
        status_at("Progressing", weight=20),
        "Paused",
        deployments=ready(v7=3, v8=0),
        observe=action(ActionVerb.PROMOTE),
        expect_step=1,
        expect_events=("StepCompleted", "PausedByStep"),
    ),
    Case(
        "promote-full: Promoting",
        status_at("Paused", step=3, weight=20, paused_reason="PausedByStep"),
        "Promoting",
        observe=action(ActionVerb.PROMOTE_FULL),
        expect_weight=20,
        expect_step=5,
        expect_events=("PromotedManually",),
        expect_actions=("ApplyWeights",),
    ),
    Case(
        "abort: RollingBack",
        status_at("Progressing", weight=20),
        "RollingBack",
        observe=action(ActionVerb.ABORT),
        expect_weight=0,
        expect_events=("Aborted",),
        expect_actions=("ApplyWeights",),
    ),
    Case(
        "abort with the candidate already at zero: RolledBack",
        status_at("Progressing", weight=0),
        "RolledBack",
        deployments=ready(v7=3),
        observe=action(ActionVerb.ABORT),
        expect_events=("Aborted", "Aborted"),
    ),
    Case(
        "abort while Promoting",
        status_at("Promoting", step=5, weight=100),
        "RollingBack",
        deployments=ready(v7=2, v8=2),
        observe=action(ActionVerb.ABORT),
        expect_weight=0,
        expect_events=("Aborted",),
    ),
    Case(
        "abort before the rollout started",
        ModelRolloutStatus.model_validate(
            {"phase": "Pending", "stableVersion": "v7", "weights": {"v7": 100}}
        ),
        "RolledBack",
        observe={**action(ActionVerb.ABORT), "upstream": UpstreamState(blocking_models=("encoder",))},
        expect_events=("Aborted",),
    ),
    Case(
        "abort under a problem still rolls back",
        status_at("Progressing", weight=20),
        "RollingBack",
        observe={**action(ActionVerb.ABORT), "service_exists": False},
        expect_actions=("ApplyWeights",),
        expect_events=("Aborted", "ServiceNotFound"),
    ),
    Case(
        "pause: Paused by a user",
        status_at("Progressing", weight=20),
        "Paused",
        observe=action(ActionVerb.PAUSE),
        expect_step=0,
        expect_events=("PausedByUser",),
    ),
    Case(
        "resume a user pause",
        status_at("Paused", weight=20, paused_reason="PausedByUser"),
        "Paused",
        observe=action(ActionVerb.RESUME),
        expect_step=1,
        expect_events=("StepCompleted",),
    ),
    Case(
        "resume a pause step: next step",
        status_at("Paused", step=3, weight=20, paused_reason="PausedByStep"),
        "Promoting",  # 50% of 3 replicas is the plan of 20% (2 + 1): the last step is done at once
        observe=action(ActionVerb.RESUME),
        expect_step=5,
        expect_weight=50,
        expect_events=("StepCompleted", "Resumed", "StepCompleted", "StepCompleted"),
    ),
    Case(
        "resume after an inconclusive analysis restarts it",
        status_at("Paused", **ANALYSING, paused_reason="PausedInconclusive"),
        "Progressing",
        at=400,
        observe=action(ActionVerb.RESUME),
        expect_step=2,
        expect_events=("Resumed",),
        expect_requeue=20.0,  # restarted at T0+400 s, off the grid: the first window ends at T0+420 s
    ),
    Case(
        "retry after a rollback",
        status_at("RolledBack", weight=0, outcome="RolledBack"),
        "Progressing",
        deployments=ready(v7=3, v8=0),
        observe=action(ActionVerb.RETRY),
        expect_step=0,
        expect_weight=0,
        expect_events=("RolloutStarted",),
    ),
    Case(
        "the same nonce is not applied twice",
        status_at(
            "Progressing",
            weight=20,
            lastAction={"verb": "promote", "nonce": "1", "at": "2030-01-01T00:00:00Z"},
        ),
        "Paused",
        observe=action(ActionVerb.PROMOTE),
        expect_step=1,
        expect_events=("StepCompleted", "PausedByStep"),
    ),
    Case(
        # Applying an abort again is always safe, and a rollout is under way: its nonce does not
        # save it (a bare `abort` written for the second rollout reads like the first one's).
        "an abort with a used nonce still aborts what is rolling out",
        status_at(
            "Progressing", weight=20, lastAction={"verb": "abort", "nonce": "1", "at": "2030-01-01T00:00:00Z"}
        ),
        "RollingBack",
        observe=action(ActionVerb.ABORT),
        expect_weight=0,
        expect_events=("Aborted",),
    ),
    Case(
        "promote ignored while spec.paused",
        status_at("Progressing", weight=20),
        "Paused",
        spec=spec_with(paused=True),
        observe=action(ActionVerb.PROMOTE),
        expect_step=0,
        expect_events=("ActionIgnored", "PausedByUser"),
    ),
    Case(
        "promote ignored after a rollback",
        status_at("RolledBack", weight=0, outcome="RolledBack"),
        "RolledBack",
        deployments=ready(v7=3, v8=0),
        observe=action(ActionVerb.PROMOTE),
        expect_events=("ActionIgnored",),
    ),
]


def _deployments(case: Case) -> dict[str, DeploymentState]:
    if case.deployments != PLAN:
        return dict(case.deployments)
    plan = World(case.spec).provider.replica_plan(case.status.weights, case.spec.replicas)
    return ready(**plan)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_transition(case: Case) -> None:
    world = World(
        case.spec, deployments=_deployments(case), now=T0 + timedelta(seconds=case.at), extra=case.observe
    )
    decision = decide(case.spec, case.status, world.observe(case.status), world.now)
    status = decision.status

    assert status.phase.value == case.expect_phase, status.message
    assert status.stable_version == case.expect_stable
    if case.expect_step is not None:
        assert status.current_step == case.expect_step
    if case.expect_weight is not None:
        assert status.candidate_weight == case.expect_weight
    assert tuple(reason for _, reason in events(decision)) == case.expect_events
    if case.expect_actions is not None:
        kinds = tuple(
            type(a).__name__ for a in decision.actions if not isinstance(a, EmitEvent | RecordLineage)
        )
        assert kinds == case.expect_actions
    if case.expect_requeue != -1.0:
        assert decision.requeue_after == case.expect_requeue
    if status.weights:
        assert sum(status.weights.values()) == 100
    else:
        assert case.status.weights == {} and decision.actions == tuple(
            a for a in decision.actions if isinstance(a, EmitEvent | RecordLineage)
        )
    assert status.weights.get(status.candidate_version or "", 0) == status.candidate_weight
    assert status.observed_generation == 1
    if case.observe.get("action") is not None:
        assert status.last_action is not None


def test_promoting_holds_the_stable() -> None:
    before = status_at("Progressing", step=4, weight=50)
    decision = decide(SPEC, before, _observe_plan(before), T0)
    (weights,) = [a for a in decision.actions if isinstance(a, ApplyWeights)]
    assert dict(weights.weights) == {"v7": 50, "v8": 50}, "the weights served until promoted"
    assert dict(weights.replicas) == {"v7": 2, "v8": 2}, "the candidate surges, the stable is held"


def _observe_plan(status: ModelRolloutStatus) -> Any:
    world = World(SPEC)
    world.deployments = ready(**world.provider.replica_plan(status.weights, SPEC.replicas))
    return world.observe(status)


@pytest.mark.parametrize(
    ("at", "verdict", "repeated"),
    [
        (35, Verdict.INCONCLUSIVE, {"AnalysisInconclusive": True}),
        (300, Verdict.INCONCLUSIVE, {"AnalysisInconclusive": False, "PausedInconclusive": False}),
        (35, Verdict.PASS, {"AnalysisPassed": False, "StepCompleted": False, "PausedByStep": False}),
        (35, Verdict.FAIL, {"AnalysisFailed": False}),
    ],
    ids=["the step goes on", "the final look", "a pass", "a fail"],
)
def test_only_the_verdict_of_a_step_that_goes_on_is_a_repeat(
    at: float, verdict: Verdict, repeated: dict[str, bool]
) -> None:
    """The controller folds a repeat into one Event whose count grows (`event_series`); every
    other Event announces a transition. The message carries no run count: it names the series."""
    world = World(SPEC, deployments=_deployments(Case("", status_at("Progressing", **ANALYSING), "")),
                  now=T0 + timedelta(seconds=at), extra={"analysis": judged(verdict, at // 30 * 30)})  # fmt: skip
    before = status_at("Progressing", **ANALYSING)
    decision = decide(SPEC, before, world.observe(before), world.now)

    emitted = [action for action in decision.actions if isinstance(action, EmitEvent)]
    assert {str(event.reason): event.repeats for event in emitted} == repeated
    assert all("interval" not in event.message for event in emitted if event.repeats)
