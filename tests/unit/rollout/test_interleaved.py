"""The interleaving experiment's machine: the candidate at full size, the router's interleaving in
force for the test, then the candidate promoted when users prefer its ranking, rolled back when
they prefer the stable's, `onInconclusive` when neither is shown by `maxDuration`; and abort,
undo and restarts working on it as on a canary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from modelrollout.api.v1alpha1 import (
    INTERLEAVING_METRIC,
    AnalysisSpec,
    InterleavedStrategy,
    InterleavingRoute,
    MetricResult,
    ModelRolloutSpec,
    ModelRolloutStatus,
    Reason,
    StrategySpec,
    StrategyType,
    TrafficProvider,
    TrafficSpec,
    Verdict,
)
from modelrollout.rollout import (
    ActionVerb,
    AnalysisObservation,
    Decision,
    EmitEvent,
    ManualAction,
    analysis_due,
    analysis_window,
)
from modelrollout.traffic import RouterProvider

from ...fixtures.rollout_world import T0, World, drive, events, make_spec, ready

ROUTE = InterleavingRoute(versions=["v7", "v8"], list_field="items", length=20)


def interleaved_spec(metrics: list[dict[str, Any]] | None = None, **settings: Any) -> ModelRolloutSpec:
    base = make_spec()
    analysis = {
        "prometheus": {"address": "http://prometheus.monitoring:9090"},
        "interval": "30s",
        "maxDuration": "10m",
        "metrics": metrics or [],
        "onInconclusive": "pause",
    }
    strategy = StrategySpec(
        type=StrategyType.INTERLEAVED,
        traffic=TrafficSpec(provider=TrafficProvider.ROUTER),
        interleaved=InterleavedStrategy.model_validate({"listField": "items", "length": 20, **settings}),
    )
    spec = base.model_copy(update={"strategy": strategy, "analysis": AnalysisSpec.model_validate(analysis)})
    return ModelRolloutSpec.model_validate(spec.model_dump(by_alias=True))


class InterleavedWorld(World):
    """Judgements carry the interleaving test's result as the probe writes it."""

    judged_routes: list[Any]

    def judge(self, status: ModelRolloutStatus, verdict: Any) -> None:
        self.extra.pop("analysis", None)
        if verdict is None or not analysis_due(self.spec, status, self.now):
            return
        self.judged_routes.append((dict(status.weights), status.routes))
        _, end = analysis_window(self.spec, status, self.now)
        judged = verdict(end) if callable(verdict) else verdict
        metric = MetricResult(
            name=INTERLEAVING_METRIC,
            verdict=judged,
            stable=12.0,
            candidate=40.0,
            effect=40 / 52,
            interval_low=0.61,
            interval_high=0.88,
            e_value=250.0,
            samples_stable=90,
            samples_candidate=70,
            explanation="judged",
        )
        self.extra["analysis"] = AnalysisObservation(
            verdict=judged, evaluated_at=end, metrics=(metric,), message=f"judged {judged.value}"
        )


def decided_events(decisions: list[Decision]) -> list[EmitEvent]:
    return [
        action
        for decision in decisions
        for action in decision.actions
        if isinstance(action, EmitEvent) and action.reason == Reason.INTERLEAVING_DECIDED
    ]


def world_for(spec: ModelRolloutSpec) -> tuple[InterleavedWorld, ModelRolloutStatus]:
    world = InterleavedWorld(spec, deployments=ready(v7=3), provider=RouterProvider())
    world.judged_routes = []
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    return world, status


def test_users_preferring_the_candidate_promote_it_with_the_interleaving_in_force_only_for_the_test() -> None:
    world, status = world_for(interleaved_spec())
    status, decisions = drive(world, status, verdict=Verdict.PASS)
    assert status.stable_version == "v8" and status.routes is None
    # every judged window had both versions' lists merged, the candidate at weight 0 and full size
    assert world.judged_routes
    for weights, routes in world.judged_routes:
        assert weights == {"v7": 100, "v8": 0} and routes is not None and routes.interleaving == ROUTE
    full_size = [d for d in decisions if d.status.routes is not None]
    assert full_size and all(world.deployments["v8"].replicas == 3 for _ in full_size)
    after = [d.status for d in decisions if d.status.phase.value not in ("Progressing", "Paused")]
    assert after and all(s.routes is None for s in after), "the interleaving goes as the promotion starts"
    shown = status.interleaved
    assert shown is not None and shown.decision == "CandidatePreferred" and shown.verdict == "Pass"
    assert (shown.impressions, shown.candidate_wins, shown.stable_wins, shown.ties) == (90, 40, 12, 18)
    assert (shown.win_share, shown.interval_low, shown.interval_high, shown.e_value) == (
        40 / 52,
        0.61,
        0.88,
        250.0,
    )
    decided = decided_events(decisions)
    assert len(decided) == 1 and "users prefer the candidate" in decided[0].message, decided
    assert "candidate won 40, stable 12, ties 18 of 90 impressions" in decided[0].message


def test_the_interleaving_waits_for_every_candidate_pod() -> None:
    world, status = world_for(interleaved_spec())
    for _ in range(4):  # the candidate's pods never come up
        status = world.step(status, settle=False, advance=5).status
        assert status.routes is None and status.current_step == 0
    assert world.deployments["v8"].replicas == 3, "asked for at full size"
    world.settle()
    for _ in range(3):
        status = world.step(status, advance=5).status
    assert status.current_step == 1 and status.routes is not None and status.routes.interleaving == ROUTE


def test_users_preferring_the_stable_roll_the_candidate_back() -> None:
    world, status = world_for(interleaved_spec())
    status, decisions = drive(world, status, verdict=Verdict.FAIL)
    assert status.phase.value == "RolledBack" and status.history[-1].reason == "AnalysisFailed"
    assert status.routes is None and status.weights == {"v7": 100, "v8": 0}
    assert world.deployments["v8"].replicas == 0
    assert status.interleaved is not None and status.interleaved.decision == "StablePreferred"
    decided = decided_events(decisions)
    assert len(decided) == 1 and "users prefer the stable" in decided[0].message
    assert decided[0].type == "Warning"


def test_a_failing_guardrail_is_not_a_preference_for_the_stable() -> None:
    errors = {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.005}
    world, status = world_for(interleaved_spec(metrics=[errors]))

    def guardrail_fails(_end: Any) -> Verdict:
        return Verdict.FAIL

    original = world.judge

    def judge(status: ModelRolloutStatus, verdict: Any) -> None:
        original(status, Verdict.PASS)
        judged = world.extra.get("analysis")
        if judged is not None:
            metrics = (*judged.metrics, MetricResult(name="errors", verdict=Verdict.FAIL))
            world.extra["analysis"] = AnalysisObservation(
                verdict=Verdict.FAIL, evaluated_at=judged.evaluated_at, metrics=metrics, message="errors"
            )

    world.judge = judge  # type: ignore[method-assign]
    status, _ = drive(world, status, verdict=guardrail_fails)
    assert status.phase.value == "RolledBack"
    assert status.interleaved is not None and status.interleaved.decision == "GuardrailFailed"


def test_max_duration_without_a_preference_applies_its_own_on_inconclusive() -> None:
    world, status = world_for(interleaved_spec(maxDuration="3m", onInconclusive="rollback"))
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.phase.value == "RolledBack" and status.history[-1].reason == "AnalysisInconclusive"
    assert world.now - T0 >= timedelta(minutes=3)
    assert status.interleaved is not None and status.interleaved.decision == "NoPreference"
    assert status.routes is None


def test_without_its_own_on_inconclusive_the_analysis_policy_holds() -> None:
    world, status = world_for(interleaved_spec(maxDuration="2m"))
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE, until=lambda s: s.phase.value == "Paused")
    assert status.paused_reason == "PausedInconclusive"
    assert status.routes is not None and status.routes.interleaving == ROUTE, "held: still merged"
    assert status.interleaved is not None and status.interleaved.decision == "NoPreference"


def test_abort_mid_experiment_removes_the_interleaving_and_stays_final() -> None:
    world, status = world_for(interleaved_spec())
    status, _ = drive(
        world, status, verdict=Verdict.INCONCLUSIVE,
        until=lambda s: s.analysis is not None and s.analysis.runs >= 2,
    )  # fmt: skip
    assert status.routes is not None and status.interleaved is not None
    assert status.interleaved.decision == "Collecting" and status.interleaved.intervals == 2
    world.extra["action"] = ManualAction(ActionVerb.ABORT, nonce="n1")
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.phase.value == "RolledBack" and status.history[-1].outcome == "Aborted"
    assert (status.routes, status.weights) == (None, {"v7": 100, "v8": 0})
    assert status.interleaved is not None and status.interleaved.decision == "Aborted"
    again = world.step(status)
    assert again.status == status and not again.actions, "abort is idempotent"


def test_undo_after_a_won_experiment_returns_to_the_old_stable_without_interleaving() -> None:
    world, status = world_for(interleaved_spec())
    status, _ = drive(world, status, verdict=Verdict.PASS)
    world.extra["action"] = ManualAction(ActionVerb.UNDO, nonce="u1")
    status, _ = drive(world, status, until=lambda s: s.phase.value == "RolledBack")
    assert status.stable_version == "v7" and status.routes is None


def test_a_restart_mid_experiment_repeats_nothing() -> None:
    world, status = world_for(interleaved_spec())
    status, _ = drive(
        world, status, verdict=Verdict.INCONCLUSIVE,
        until=lambda s: s.interleaved is not None and s.interleaved.intervals >= 3,
    )  # fmt: skip
    world.extra.pop("analysis", None)
    again = world.step(status)
    assert again.status == status and not events(again)


def test_a_candidate_superseded_mid_experiment_shows_superseded_and_announces_no_preference() -> None:
    spec = interleaved_spec()
    world, status = world_for(spec)
    status, _ = drive(
        world, status, verdict=Verdict.INCONCLUSIVE,
        until=lambda s: s.analysis is not None and s.analysis.runs >= 2,
    )  # fmt: skip
    world.spec = spec.model_copy(update={"candidate": None})  # a person removes v8 from the spec
    status, decisions = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.history[-1].outcome == "Superseded" and status.routes is None
    assert status.interleaved is not None and status.interleaved.decision == "Superseded"
    assert decided_events(decisions) == [], "no preference was decided: no Event says one was"
