"""The A/B test machine: split, test, then the winner promoted or the policy applied; and the
canary's transitions (abort, undo, restart) working on it unchanged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from modelrollout.api.v1alpha1 import (
    ABTestStrategy,
    AnalysisSpec,
    HeaderRoute,
    MetricResult,
    ModelRolloutSpec,
    ModelRolloutStatus,
    RouteMatch,
    RoutesStatus,
    StrategySpec,
    StrategyType,
    TrafficProvider,
    TrafficSpec,
    Verdict,
)
from modelrollout.rollout import (
    ActionVerb,
    AnalysisObservation,
    ManualAction,
    analysis_due,
    analysis_final_look,
    analysis_window,
)
from modelrollout.traffic import GatewayAPIProvider

from ...fixtures.rollout_world import T0, World, drive, make_spec, ready

GOAL = {
    "name": "conversions",
    "type": "goal",
    "metricName": "model_conversions_total",
    "goal": {"kind": "rate"},
}
GUARDRAIL = {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.005}
BETA = {"headerName": "x-beta", "headerValue": {"exact": "true"}}
GATEWAY = TrafficSpec.model_validate({"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}})


def ab_spec(
    duration: str | None = None,
    split: int | None = 50,
    segment: list[dict[str, Any]] | None = None,
    segment_replicas: int | None = None,
    **analysis: Any,
) -> ModelRolloutSpec:
    base = make_spec()
    settings = {
        "prometheus": {"address": "http://prometheus.monitoring:9090"},
        "interval": "30s",
        "maxDuration": "10m",
        "metrics": [GOAL, GUARDRAIL],
        **analysis,
    }
    traffic = TrafficSpec(provider=TrafficProvider.REPLICAS) if segment is None else GATEWAY
    strategy = StrategySpec(
        type=StrategyType.AB_TEST,
        traffic=traffic,
        ab_test=ABTestStrategy.model_validate(
            {"split": split, "segment": segment, "segmentReplicas": segment_replicas, "duration": duration}
        ),
    )
    spec = base.model_copy(update={"strategy": strategy, "analysis": AnalysisSpec.model_validate(settings)})
    return ModelRolloutSpec.model_validate(spec.model_dump(by_alias=True))


class ABWorld(World):
    """Judgements carry the goal's and the guardrail's results, combined as the winner judge does."""

    judged_weights: list[dict[str, int]]
    """The weights served at each judged window."""
    judged_routes: list[RoutesStatus | None]
    """The header routes in force at each judged window."""

    def judge(self, status: ModelRolloutStatus, verdict: Any) -> None:
        self.extra.pop("analysis", None)
        if verdict is None or not analysis_due(self.spec, status, self.now):
            return
        self.judged_weights.append(dict(status.weights))
        self.judged_routes.append(status.routes)
        _, end = analysis_window(self.spec, status, self.now)
        goal, guardrail = verdict(end)
        if guardrail == Verdict.FAIL:
            combined = Verdict.FAIL
        elif goal == Verdict.PASS and guardrail == Verdict.PASS:
            combined = Verdict.PASS
        else:
            combined = Verdict.INCONCLUSIVE
        metrics = (
            MetricResult(
                name="conversions",
                verdict=goal,
                stable=0.05,
                candidate=0.08,
                effect=0.03,
                interval_low=0.01,
                interval_high=0.05,
                e_value=40.0,
                samples_stable=900,
                samples_candidate=880,
                explanation="goal",
            ),
            MetricResult(name="errors", verdict=guardrail),
        )
        self.extra["analysis"] = AnalysisObservation(
            verdict=combined, evaluated_at=end, metrics=metrics, message=f"judged {combined.value}"
        )


def world_for(spec: ModelRolloutSpec) -> tuple[ABWorld, ModelRolloutStatus]:
    provider = GatewayAPIProvider() if spec.strategy.traffic.provider == TrafficProvider.GATEWAY_API else None
    world = ABWorld(spec, deployments=ready(v7=4), **({"provider": provider} if provider else {}))
    world.judged_weights, world.judged_routes = [], []
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    return world, status


def constant(goal: Verdict, guardrail: Verdict = Verdict.PASS) -> Any:
    return lambda _end: (goal, guardrail)


def test_a_superior_candidate_with_healthy_guardrails_is_promoted_as_the_winner() -> None:
    world, status = world_for(ab_spec())
    status, _ = drive(world, status, verdict=constant(Verdict.PASS))
    assert status.stable_version == "v8"
    judged = world.judged_weights
    assert judged and all(weights == {"v7": 50, "v8": 50} for weights in judged), "the test runs at the split"
    assert status.ab_test is not None
    assert (status.ab_test.decision, status.ab_test.split, status.ab_test.effect) == ("Winner", 50, 0.03)
    assert status.ab_test.interval_low == 0.01 and status.ab_test.e_value == 40.0
    assert status.history[-1].outcome == "Promoted"
    started = datetime.fromisoformat(status.ab_test.started_at.replace("Z", "+00:00"))
    assert world.now - started < timedelta(minutes=2), "no duration: the first superior look decides"


def test_with_a_duration_the_winner_is_held_until_the_duration_ends() -> None:
    spec = ab_spec(duration="5m")
    world, status = world_for(spec)
    promoting_at: list[datetime] = []
    final_looks: list[datetime] = []

    def until(s: ModelRolloutStatus) -> bool:
        look = analysis_final_look(spec, s)
        if look is not None:
            final_looks.append(look)
        if s.phase.value == "Promoting" and not promoting_at:
            promoting_at.append(world.now)
        if s.phase.value == "Progressing" and s.ab_test is not None and s.ab_test.intervals > 1:
            assert s.ab_test.decision == "Superior"
            assert s.analysis is not None and s.analysis.verdict == Verdict.INCONCLUSIVE
        return s.phase.value == "Promoted" and s.candidate_version is None

    status, _ = drive(world, status, verdict=constant(Verdict.PASS), until=until)
    assert status.stable_version == "v8"
    assert promoting_at and promoting_at[0] >= final_looks[-1]
    assert status.ab_test is not None and status.ab_test.decision == "Winner"


def test_a_failing_guardrail_rolls_back_at_once_even_with_a_duration() -> None:
    world, status = world_for(ab_spec(duration="1h"))
    status, _ = drive(world, status, verdict=constant(Verdict.PASS, Verdict.FAIL))
    assert status.phase.value == "RolledBack"
    assert status.history[-1].reason == "AnalysisFailed"
    assert status.ab_test is not None and status.ab_test.decision == "GuardrailFailed"
    assert world.now - T0 < timedelta(minutes=3)


def test_a_goal_shown_not_superior_ends_a_test_without_duration_by_on_inconclusive() -> None:
    world, status = world_for(ab_spec(onInconclusive="pause"))
    status, _ = drive(
        world, status, verdict=constant(Verdict.FAIL), until=lambda s: s.phase.value == "Paused"
    )
    assert status.paused_reason == "PausedInconclusive"
    assert status.ab_test is not None and status.ab_test.decision == "NotSuperior"
    assert world.now - T0 < timedelta(minutes=3), "decided by the test, not by maxDuration (10m)"


def test_a_duration_that_ends_without_superiority_applies_on_inconclusive() -> None:
    world, status = world_for(ab_spec(duration="3m", onInconclusive="rollback"))
    status, _ = drive(world, status, verdict=constant(Verdict.INCONCLUSIVE))
    assert status.phase.value == "RolledBack"
    assert status.history[-1].reason == "AnalysisInconclusive"
    assert status.ab_test is not None and status.ab_test.decision == "NotSuperior"
    assert world.now - T0 >= timedelta(minutes=3)


def test_on_inconclusive_promote_ships_a_candidate_that_did_not_win() -> None:
    world, status = world_for(ab_spec(duration="2m", onInconclusive="promote"))
    status, _ = drive(world, status, verdict=constant(Verdict.INCONCLUSIVE))
    assert status.stable_version == "v8"
    assert status.ab_test is not None and status.ab_test.decision == "NotSuperior"


def test_abort_mid_test_returns_all_traffic_to_the_stable_and_stays_final() -> None:
    world, status = world_for(ab_spec(duration="1h"))
    status, _ = drive(
        world,
        status,
        verdict=constant(Verdict.INCONCLUSIVE),
        until=lambda s: (s.analysis or None) is not None and s.analysis.runs >= 2,
    )
    world.extra["action"] = ManualAction(ActionVerb.ABORT, nonce="n1")
    status, _ = drive(world, status, verdict=constant(Verdict.INCONCLUSIVE))
    assert status.phase.value == "RolledBack" and status.history[-1].outcome == "Aborted"
    assert status.weights == {"v7": 100, "v8": 0}
    assert world.deployments["v8"].replicas == 0
    assert status.ab_test is not None and status.ab_test.decision == "Aborted"
    again = world.step(status)
    assert again.status == status and not again.actions, "abort is idempotent"


def test_undo_after_a_won_test_returns_to_the_old_stable() -> None:
    world, status = world_for(ab_spec())
    status, _ = drive(world, status, verdict=constant(Verdict.PASS))
    world.extra["action"] = ManualAction(ActionVerb.UNDO, nonce="u1")
    status, _ = drive(world, status, until=lambda s: s.phase.value == "RolledBack")
    assert status.stable_version == "v7"
    assert status.history[-1].reason == "Undone"


def test_a_restart_mid_test_repeats_nothing() -> None:
    """The same status and observations decided again (a restart that lost its actions) change
    nothing and announce nothing."""
    world, status = world_for(ab_spec(duration="1h"))
    status, _ = drive(
        world,
        status,
        verdict=constant(Verdict.PASS),
        until=lambda s: (s.ab_test or None) is not None and s.ab_test.intervals >= 3,
    )
    world.extra.pop("analysis", None)
    first = world.step(status)
    second = world.step(first.status)
    assert second.status == first.status
    assert not [a for a in second.actions if type(a).__name__ in ("EmitEvent", "RecordLineage")]


SEGMENT_ROUTE = RoutesStatus(
    headers=[HeaderRoute(name="ab-test", version="v8", match=[RouteMatch.model_validate(BETA)])]
)


def test_a_segment_is_routed_to_the_candidate_once_it_has_a_pod_and_judged_under_that_route_only() -> None:
    world, status = world_for(ab_spec(split=None, segment=[BETA], duration="5m"))
    status = world.step(status, settle=False).status
    assert status.routes is None, "no route to a candidate without an Available pod"
    assert status.analysis is None, "the test starts only once the segment reaches the candidate"
    assert world.deployments["v8"].replicas == 1, "its one pod comes first (surge)"
    status, _ = drive(world, status, verdict=constant(Verdict.INCONCLUSIVE),
                      until=lambda s: s.ab_test is not None and s.ab_test.intervals >= 2)  # fmt: skip
    assert status.routes == SEGMENT_ROUTE
    assert world.judged_routes and all(routes == SEGMENT_ROUTE for routes in world.judged_routes)
    assert all(weights == {"v7": 100, "v8": 0} for weights in world.judged_weights), "no share by weight"
    assert status.analysis is not None and not status.analysis.split_changes, (
        "one routing within the evidence"
    )
    assert status.ab_test is not None and status.ab_test.split is None
    assert status.ab_test.segment == [RouteMatch.model_validate(BETA)]
    assert (world.deployments["v7"].replicas, world.deployments["v8"].replicas) == (3, 1)


def test_segment_replicas_size_the_candidate_before_the_segment_reaches_it() -> None:
    """A segment may be a large share of users: the candidate runs `segmentReplicas`, all
    Available before the route sends it the segment, and the test starts after that."""
    world, status = world_for(ab_spec(split=None, segment=[BETA], segment_replicas=2, duration="5m"))
    status = world.step(status, settle=False).status
    assert status.routes is None and status.analysis is None, "nothing routed before its pods"
    status, _ = drive(world, status, verdict=constant(Verdict.INCONCLUSIVE),
                      until=lambda s: s.ab_test is not None and s.ab_test.intervals >= 1)  # fmt: skip
    assert status.routes == SEGMENT_ROUTE
    assert (world.deployments["v7"].replicas, world.deployments["v8"].replicas) == (3, 2)
    assert world.judged_routes and all(routes == SEGMENT_ROUTE for routes in world.judged_routes)


def test_a_winning_segment_is_promoted_and_its_route_cleared() -> None:
    world, status = world_for(ab_spec(split=None, segment=[BETA]))
    status, decisions = drive(world, status, verdict=constant(Verdict.PASS))
    assert status.stable_version == "v8" and status.routes is None
    assert any(d.status.routes == SEGMENT_ROUTE for d in decisions)
    promoting = [d.status for d in decisions if d.status.phase.value == "Promoting"]
    assert promoting and all(s.routes is None for s in promoting), "the route goes as the promotion starts"
    assert status.ab_test is not None and status.ab_test.decision == "Winner"


def test_abort_of_a_segment_test_removes_the_route() -> None:
    world, status = world_for(ab_spec(split=None, segment=[BETA], duration="1h"))
    status, _ = drive(world, status, verdict=constant(Verdict.INCONCLUSIVE),
                      until=lambda s: s.routes is not None and s.analysis is not None)  # fmt: skip
    world.extra["action"] = ManualAction(ActionVerb.ABORT, nonce="n1")
    status, _ = drive(world, status, verdict=constant(Verdict.INCONCLUSIVE))
    assert status.phase.value == "RolledBack" and status.history[-1].outcome == "Aborted"
    assert (status.routes, status.weights) == (None, {"v7": 100, "v8": 0})
    assert world.deployments["v8"].replicas == 0


def test_promote_past_the_segments_route_step_puts_the_route_in_force_as_promote_serves_a_weight() -> None:
    """A person who skips the wait for the candidate's pod still runs the test on the segment:
    an analysis with no route would judge a candidate no request reaches."""
    world, status = world_for(ab_spec(split=None, segment=[BETA], duration="1h"))
    status = world.step(status, settle=False).status
    assert status.routes is None and status.current_step == 0
    world.extra["action"] = ManualAction(ActionVerb.PROMOTE, nonce="p1")
    status = world.step(status, settle=False).status
    assert status.current_step == 1 and status.analysis is not None
    assert status.routes == SEGMENT_ROUTE
    status = world.step(status).status
    assert status.routes == SEGMENT_ROUTE and world.deployments["v8"].replicas == 1, "its pod follows"


def test_a_promotion_that_ends_in_the_deciding_call_still_shows_the_winner() -> None:
    """With one replica the candidate's pod at the split is all the promotion needs: the rollout
    ends in the call that reads the Pass, and status.abTest still shows what decided it."""
    spec = ab_spec().model_copy(update={"replicas": 1})
    world = ABWorld(spec, deployments=ready(v7=1))
    world.judged_weights, world.judged_routes = [], []
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    status, _ = drive(world, status, verdict=constant(Verdict.PASS))
    assert status.stable_version == "v8"
    assert status.ab_test is not None and status.ab_test.decision == "Winner"
    assert status.ab_test.effect == 0.03 and status.ab_test.verdict == "Pass"
