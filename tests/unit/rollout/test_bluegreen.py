"""The BlueGreen strategy in the pure state machine: every stage and transition, on a route
provider's replica plan, with the cluster simulated by `rollout_world`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import (
    BlueGreenStage,
    ModelRolloutSpec,
    ModelRolloutStatus,
    Verdict,
    parse_timestamp,
)
from modelrollout.evaluation import request_for_step
from modelrollout.rollout import (
    ActionVerb,
    ApplyWeights,
    Decision,
    ManualAction,
    RecordLineage,
    analysis_due,
    analysis_window,
    decide,
)
from modelrollout.traffic import GatewayAPIProvider

from ...fixtures.rollout_world import T0, World, drive, events, of_type, ready
from .test_properties import essentials

METRICS = [
    {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.005},
    {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.1},
    {
        "name": "conversions",
        "type": "custom",
        "query": "q{version='{{version}}'}",
        "thresholdRange": {"min": 1},
    },
]


def spec_of(settings: dict[str, Any] | None = None, candidate: str = "v8", **fields: Any) -> ModelRolloutSpec:
    template = {"spec": {"containers": [{"name": "model", "image": "model:1"}]}}
    return ModelRolloutSpec.model_validate(
        {
            "model": "fraud-scorer", "service": "fraud-scorer", "replicas": 3,
            "stable": {"version": "v7", "template": template},
            "candidate": {"version": candidate, "template": template},
            "strategy": {"type": "BlueGreen", "blueGreen": settings or {},
                         "traffic": {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}}},
            "analysis": {"interval": "30s", "maxDuration": "5m", "metrics": METRICS,
                         "prometheus": {"address": "http://prometheus:9090"}},
            **fields,
        }
    )  # fmt: skip


def world_of(spec: ModelRolloutSpec) -> World:
    world = World(spec, deployments=ready(v7=3), provider=GatewayAPIProvider())  # type: ignore[arg-type]
    world.extra["rollout"] = "scorer"
    return world


def start(spec: ModelRolloutSpec) -> tuple[World, ModelRolloutStatus]:
    """v7 serving; the first reconcile of the candidate and the one after its pods came up."""
    world = world_of(spec)
    status = world.step(ModelRolloutStatus(stable_version="v7", phase="Promoted")).status
    return world, status


def stage(status: ModelRolloutStatus) -> str | None:
    return status.blue_green.stage.value if status.blue_green is not None else None


def replicas(decision: Decision) -> dict[str, int] | None:
    applied = of_type(decision, ApplyWeights)
    return dict(applied[-1].replicas) if applied else None


def idempotent(world: World, decision: Decision) -> None:
    """decide(decide(x)) changes nothing (messages may be reworded) and says nothing: what a
    restart would do."""
    status = decision.status
    again = decide(world.spec, status, world.observe(status), world.now)
    assert essentials(again.status) == essentials(status)
    assert not events(again) and not of_type(again, RecordLineage), again.actions


def until_stage(name: str) -> Any:
    return lambda status: stage(status) == name


def test_preview_runs_the_candidate_at_full_size_beside_the_stable_at_zero_live_weight() -> None:
    world, status = start(spec_of())
    assert (status.phase.value, stage(status), status.current_step) == ("Progressing", "Preview", 0)
    assert status.weights == {"v7": 100, "v8": 0} and status.candidate_weight == 0
    assert status.blue_green is not None and status.blue_green.preview_service == "scorer-v8"
    assert status.blue_green.active_version == "v7"
    assert world.deployments["v8"].replicas == 3 and world.deployments["v7"].replicas == 3


def test_the_switch_moves_all_live_traffic_at_once_and_keeps_the_old_version_for_the_delay() -> None:
    spec = spec_of({"scaleDownDelay": "45s"})
    world, status = start(spec)
    decision = world.step(status)  # v8 Available: Switching, then the switch, in one call
    status = decision.status
    assert status.weights == {"v7": 0, "v8": 100} and status.candidate_weight == 100
    assert (status.phase.value, stage(status)) == ("Promoting", "ScaleDownDelay")
    assert ("Normal", "Switched") in events(decision)
    assert replicas(decision) == {"v7": 3, "v8": 3}, "the routes change, no pod does"
    assert status.blue_green is not None and status.blue_green.active_version == "v8"
    assert parse_timestamp(status.blue_green.scale_down_at) == world.now + timedelta(seconds=45)
    idempotent(world, decision)

    world.now += timedelta(seconds=44)
    waiting = world.step(status)
    assert waiting.status.phase.value == "Promoting" and world.deployments["v7"].replicas == 3
    assert waiting.requeue_after == pytest.approx(1.0)
    world.now += timedelta(seconds=1)
    done = world.step(waiting.status)
    assert (done.status.phase.value, done.status.stable_version) == ("Promoted", "v8")
    assert done.status.weights == {"v8": 100} and done.status.blue_green is None
    assert world.deployments["v7"].replicas == 0, "scaled to zero once the delay is over"
    idempotent(world, done)


def test_preview_replicas_grow_to_full_size_before_the_switch() -> None:
    world, status = start(spec_of({"previewReplicas": 1}))
    assert world.deployments["v8"].replicas == 1 and world.deployments["v7"].replicas == 3
    decision = world.step(status, settle=False)  # preview done; Switching asks for 3
    status = decision.status
    assert (stage(status), status.weights) == ("Switching", {"v7": 100, "v8": 0})
    assert replicas(decision) == {"v7": 3, "v8": 3}
    assert "Switching" in status.message and "Available at 3 replicas (1 now)" in status.message
    idempotent(world, decision)
    world.settle()
    switched = world.step(status)
    assert switched.status.weights == {"v7": 0, "v8": 100}


def test_the_pre_promotion_analysis_judges_the_preview_on_its_own_evidence_and_a_pass_switches() -> None:
    spec = spec_of({"prePromotionAnalysis": {"metrics": ["errors"], "maxDuration": "2m"}})
    world, status = start(spec)
    decision = world.step(status)
    status = decision.status
    assert (stage(status), status.current_step, status.weights) == (
        "PrePromotionAnalysis",
        1,
        {"v7": 100, "v8": 0},
    )
    analysis = status.analysis
    assert analysis is not None and analysis.evidence_started_at == analysis.started_at
    assert analysis.split_changes == []
    idempotent(world, decision)

    world.now += timedelta(seconds=60)
    assert analysis_due(spec, status, world.now)
    start_at, end = analysis_window(spec, status, world.now)
    request = request_for_step(spec, namespace="ns", name="scorer", started_at=start_at, at=end,
                               step=status.current_step, evidence_started_at=start_at)  # fmt: skip
    assert (request.metrics, request.max_duration, request.carries) == (("errors",), "2m", False)

    status, decisions = drive(world, status, verdict=Verdict.PASS, until=until_stage("ScaleDownDelay"))
    assert status.weights == {"v7": 0, "v8": 100}
    assert ("Normal", "AnalysisPassed") in events(decisions[-1])


def test_a_failed_pre_promotion_analysis_rolls_back_without_the_stable_ever_moving() -> None:
    world, status = start(spec_of({"prePromotionAnalysis": {}}))
    status, decisions = drive(world, status, verdict=Verdict.FAIL)
    assert (status.phase.value, status.weights) == ("RolledBack", {"v7": 100, "v8": 0})
    assert all(d.status.weights.get("v8", 0) == 0 for d in decisions), "the candidate never got live traffic"
    assert world.deployments["v8"].replicas == 0 and world.deployments["v7"].replicas == 3
    assert status.blue_green is None


def test_without_auto_promotion_the_switch_waits_for_promote() -> None:
    world, status = start(spec_of({"autoPromotion": False}))
    decision = world.step(status)
    status = decision.status
    assert (status.phase.value, stage(status), status.weights) == (
        "Paused",
        "AwaitingPromotion",
        {"v7": 100, "v8": 0},
    )
    assert any(c.reason == "AwaitingPromotion" for c in status.conditions)
    idempotent(world, decision)
    world.now += timedelta(minutes=10)
    assert world.step(status).status.weights == {"v7": 100, "v8": 0}, "no switch without a person"

    world.extra["action"] = ManualAction(ActionVerb.PROMOTE, "1")
    promoted = world.step(status)
    assert (promoted.status.phase.value, promoted.status.weights) == ("Promoting", {"v7": 0, "v8": 100})
    assert (
        promoted.status.last_action is not None
        and promoted.status.last_action.result == "AwaitingPromotion completed"
    )


def test_resume_also_ends_the_promotion_pause() -> None:
    world, status = start(spec_of({"autoPromotion": False}))
    status = world.step(status).status
    world.extra["action"] = ManualAction(ActionVerb.RESUME, "1")
    assert world.step(status).status.weights == {"v7": 0, "v8": 100}


def test_promote_full_skips_the_analysis_and_the_pause_but_not_the_wait_for_pods() -> None:
    world, status = start(spec_of({"prePromotionAnalysis": {}, "autoPromotion": False, "previewReplicas": 1}))
    status = world.step(status).status
    assert stage(status) == "PrePromotionAnalysis"
    world.extra["action"] = ManualAction(ActionVerb.PROMOTE_FULL, "1")
    decision = world.step(status, settle=False)
    assert (stage(decision.status), decision.status.weights) == ("Switching", {"v7": 100, "v8": 0})
    assert ("Normal", "PromotedManually") in events(decision)
    world.settle()
    world.extra["action"] = ManualAction(ActionVerb.PROMOTE, "2")
    assert "ignored" in (world.step(decision.status, settle=False).status.last_action or {}).result  # type: ignore[union-attr]
    world.extra.pop("action")
    switched = world.step(decision.status).status
    assert switched.weights == {"v7": 0, "v8": 100}
    assert switched.history[-1].reason == "PromotedManually"


@pytest.mark.parametrize("where", ["Preview", "PrePromotionAnalysis", "AwaitingPromotion", "ScaleDownDelay"])
def test_abort_at_any_point_puts_all_traffic_on_the_full_size_stable_at_once(where: str) -> None:
    world, status = start(spec_of({"prePromotionAnalysis": {}, "autoPromotion": False}))
    if where == "ScaleDownDelay":
        world.extra["action"] = ManualAction(ActionVerb.PROMOTE_FULL, "0")
    if stage(status) != where:
        status, _ = drive(world, status, verdict=Verdict.PASS, until=until_stage(where), limit=20)
    world.extra["action"] = ManualAction(ActionVerb.ABORT, "1")
    decision = world.step(status, settle=False)
    assert decision.status.phase.value == "RollingBack" and decision.status.weights == {"v7": 100, "v8": 0}
    assert replicas(decision) == {"v7": 3, "v8": 0}, "the stable was at full size all along"
    assert world.deployments["v7"].available_replicas == 3
    world.settle()
    world.extra.pop("action")
    final = world.step(decision.status)
    assert (final.status.phase.value, final.status.history[-1].outcome) == ("RolledBack", "Aborted")
    idempotent(world, final)


def post_promotion_spec(**settings: Any) -> ModelRolloutSpec:
    return spec_of({"postPromotionAnalysis": {"metrics": ["conversions"]}, **settings})


def test_the_post_promotion_analysis_runs_after_the_switch_on_fresh_evidence() -> None:
    spec = post_promotion_spec(prePromotionAnalysis={})
    world, status = start(spec)
    status, _ = drive(world, status, verdict=Verdict.PASS, until=until_stage("PostPromotionAnalysis"))
    assert (status.phase.value, status.current_step, status.weights) == (
        "Progressing",
        4,
        {"v7": 0, "v8": 100},
    )
    analysis = status.analysis
    assert analysis is not None and analysis.verdict is None
    assert analysis.evidence_started_at == analysis.started_at and analysis.split_changes == []
    assert world.deployments["v7"].replicas == 3, "the old version waits at full size"
    request = request_for_step(spec, namespace="ns", name="scorer", started_at=T0, at=world.now,
                               step=status.current_step)  # fmt: skip
    assert request.metrics == ("conversions",)
    status, _ = drive(world, status, verdict=Verdict.PASS)
    assert (status.phase.value, status.stable_version) == ("Promoted", "v8")


def test_a_failed_post_promotion_analysis_switches_back_at_once() -> None:
    world, status = start(post_promotion_spec())
    status, _ = drive(world, status, until=until_stage("PostPromotionAnalysis"))
    world.now += timedelta(seconds=60)
    world.judge(status, Verdict.FAIL)
    decision = world.step(status, settle=False)
    assert decision.status.phase.value == "RollingBack"
    assert decision.status.weights == {"v7": 100, "v8": 0} and replicas(decision) == {"v7": 3, "v8": 0}
    assert ("Warning", "AnalysisFailed") in events(decision)


def test_a_failed_post_promotion_analysis_with_on_failure_pause_keeps_both_at_full_size() -> None:
    spec = post_promotion_spec()
    spec = spec.model_copy(update={"analysis": spec.analysis.model_copy(update={"on_failure": "pause"})})
    world, status = start(spec)
    status, _ = drive(world, status, until=until_stage("PostPromotionAnalysis"))
    world.now += timedelta(seconds=60)
    world.judge(status, Verdict.FAIL)
    decision = world.step(status)
    assert (decision.status.phase.value, decision.status.paused_reason) == ("Paused", "PausedOnFailure")
    assert world.deployments["v7"].replicas == 3 and world.deployments["v8"].replicas == 3
    idempotent(world, decision)
    world.extra["action"] = ManualAction(ActionVerb.RESUME, "1")
    resumed = world.step(decision.status)
    assert (resumed.status.phase.value, stage(resumed.status)) == ("Progressing", "PostPromotionAnalysis")
    assert resumed.status.analysis is not None and resumed.status.analysis.runs == 0, "fresh evidence"


def test_a_user_pause_holds_both_versions_where_they_are() -> None:
    world, status = start(spec_of({"prePromotionAnalysis": {}}))
    status = world.step(status).status
    world.extra["action"] = ManualAction(ActionVerb.PAUSE, "1")
    paused = world.step(status)
    assert (paused.status.phase.value, paused.status.paused_reason) == ("Paused", "PausedByUser")
    assert world.deployments["v8"].replicas == 3 and world.deployments["v7"].replicas == 3
    idempotent(world, paused)


def test_a_new_candidate_after_the_switch_returns_traffic_to_the_old_stable_and_starts_over() -> None:
    world, status = start(spec_of({"scaleDownDelay": "10m"}))
    status = world.step(status).status
    assert status.weights == {"v7": 0, "v8": 100}
    world.spec = spec_of({"scaleDownDelay": "10m"}, candidate="v9")
    decision = world.step(status, settle=False)
    status = decision.status
    assert (status.candidate_version, stage(status), status.weights) == (
        "v9",
        "Preview",
        {"v7": 100, "v9": 0},
    )
    assert status.history[-2].outcome == "Superseded"
    assert replicas(decision) == {"v7": 3, "v9": 3}
    assert status.blue_green is not None and status.blue_green.preview_service == "scorer-v9"
    world.settle()
    world.step(status)
    assert "v8" not in world.deployments or world.deployments["v8"].replicas == 0


def test_undo_after_a_blue_green_promotion_returns_to_the_old_stable() -> None:
    world, status = start(spec_of({"scaleDownDelay": "1s"}))
    status, _ = drive(world, status)
    assert (status.phase.value, status.stable_version) == ("Promoted", "v8")
    world.extra["action"] = ManualAction(ActionVerb.UNDO, "1")
    status, _ = drive(world, status)
    assert (status.phase.value, status.stable_version, status.weights) == (
        "RolledBack",
        "v7",
        {"v7": 100, "v8": 0},
    )


def test_every_stage_of_a_whole_rollout_is_a_fixed_point() -> None:
    """Restart idempotence along a rollout through every stage."""
    spec = post_promotion_spec(prePromotionAnalysis={}, autoPromotion=False, previewReplicas=1)
    world, status = start(spec)
    seen = {stage(status) or ""}
    for _ in range(60):
        world.judge(status, Verdict.PASS)
        if stage(status) == "AwaitingPromotion":
            world.extra["action"] = ManualAction(ActionVerb.PROMOTE, "p")
        decision = world.step(status, settle=False)
        world.extra.pop("action", None)
        world.extra.pop("analysis", None)
        idempotent(world, decision)
        world.settle()
        status = decision.status
        seen.add(stage(status) or status.phase.value)
        if status.phase.value == "Promoted":
            break
        world.now += timedelta(seconds=min(decision.requeue_after or 5, 30))
    assert seen >= {stage.value for stage in BlueGreenStage} | {"Promoted"}, seen


def test_a_canary_turned_blue_green_mid_rollout_starts_over_from_the_preview() -> None:
    world = world_of(spec_of())
    canary = world.spec.model_copy(deep=True)
    canary.strategy = canary.strategy.model_validate(
        {"type": "Canary", "canary": {"steps": [{"setWeight": 20}, {"pause": {}}]},
         "traffic": {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}}}
    )  # fmt: skip
    world.spec = canary
    status, _ = drive(world, ModelRolloutStatus(stable_version="v7", phase="Promoted"),
                      until=lambda s: s.phase.value == "Paused")  # fmt: skip
    assert status.weights == {"v7": 80, "v8": 20}
    world.spec = spec_of()
    decision = world.step(status, settle=False)
    assert (stage(decision.status), decision.status.weights) == ("Preview", {"v7": 100, "v8": 0})
    assert replicas(decision) == {"v7": 3, "v8": 3}


def test_resuming_a_user_pause_while_the_candidate_grows_announces_the_resume() -> None:
    world, status = start(spec_of({"previewReplicas": 1}))
    world.extra["action"] = ManualAction(ActionVerb.PAUSE, "1")
    status = world.step(status).status
    assert status.phase.value == "Paused"
    world.extra["action"] = ManualAction(ActionVerb.RESUME, "2")
    decision = world.step(status, settle=False)
    assert (decision.status.phase.value, stage(decision.status)) == ("Progressing", "Switching")
    assert ("Normal", "Resumed") in events(decision)
