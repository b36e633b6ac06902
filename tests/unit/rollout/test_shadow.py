"""The Shadow machine: the mirror in force at weight 0, one comparison, then the candidate promoted
or the mirror removed; and the canary's transitions (abort, restart) working on it unchanged."""

from __future__ import annotations

from typing import Any

from modelrollout.api.v1alpha1 import (
    AGREEMENT_METRIC,
    SCORE_DIFFERENCE_METRIC,
    AnalysisSpec,
    MetricResult,
    MirrorRoute,
    ModelRolloutSpec,
    ModelRolloutStatus,
    RoutesStatus,
    ShadowStrategy,
    StrategySpec,
    StrategyType,
    TrafficProvider,
    TrafficSpec,
    Verdict,
)
from modelrollout.rollout import ActionVerb, AnalysisObservation, ManualAction, analysis_due, analysis_window
from modelrollout.traffic import RouterProvider

from ...fixtures.rollout_world import World, drive, make_spec, ready

LATENCY = {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.1}


def shadow_spec(**analysis: Any) -> ModelRolloutSpec:
    settings = {
        "prometheus": {"address": "http://prometheus.monitoring:9090"},
        "interval": "30s",
        "maxDuration": "10m",
        "metrics": [LATENCY],
        **analysis,
    }
    strategy = StrategySpec(
        type=StrategyType.SHADOW,
        traffic=TrafficSpec(provider=TrafficProvider.ROUTER),
        shadow=ShadowStrategy.model_validate({"percentage": 40, "minAgreement": 0.9}),
    )
    spec = make_spec().model_copy(
        update={"strategy": strategy, "analysis": AnalysisSpec.model_validate(settings)}
    )
    return ModelRolloutSpec.model_validate(spec.model_dump(by_alias=True))


class ShadowWorld(World):
    """Judgements carry the comparison's results as the evaluation names them."""

    judged: list[tuple[dict[str, Any], RoutesStatus | None]]
    """The weights and routes in force at each judged window."""

    def judge(self, status: ModelRolloutStatus, verdict: Any) -> None:
        self.extra.pop("analysis", None)
        if verdict is None or not analysis_due(self.spec, status, self.now):
            return
        self.judged.append((dict(status.weights), status.routes))
        _, end = analysis_window(self.spec, status, self.now)
        metrics = (
            MetricResult(name="latency", verdict=verdict),
            MetricResult(
                name=AGREEMENT_METRIC, verdict=verdict, candidate=0.97, interval_low=0.93,
                interval_high=0.99, samples_stable=800, samples_candidate=800,
            ),
            MetricResult(
                name=SCORE_DIFFERENCE_METRIC, verdict=verdict, candidate=0.01, interval_low=0.0,
                interval_high=0.03, samples_stable=800, samples_candidate=800,
            ),
        )  # fmt: skip
        self.extra["analysis"] = AnalysisObservation(
            verdict=verdict, evaluated_at=end, metrics=metrics, message=f"judged {verdict.value}"
        )


def world_for(spec: ModelRolloutSpec) -> tuple[ShadowWorld, ModelRolloutStatus]:
    world = ShadowWorld(spec, deployments=ready(v7=3), provider=RouterProvider())
    world.judged = []
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    return world, status


MIRROR = RoutesStatus(mirrors=[MirrorRoute(name="shadow", version="v8", percentage=40)])


def test_the_comparison_runs_on_a_mirror_at_weight_zero_and_a_pass_promotes() -> None:
    world, status = world_for(shadow_spec())
    status = world.step(status, settle=False).status
    assert status.routes is None, "no mirror to a candidate without an Available pod"
    assert world.deployments["v8"].replicas == 1, "one pod to answer the copies"
    status, _ = drive(world, status, verdict=Verdict.PASS)
    assert status.stable_version == "v8" and status.history[-1].outcome == "Promoted"
    assert world.judged and all(judged == ({"v7": 100, "v8": 0}, MIRROR) for judged in world.judged), (
        "judged only with the mirror in force and the candidate answering no user"
    )
    assert status.routes is None, "the mirror goes with the rollout"
    shadow = status.shadow
    assert shadow is not None
    assert (shadow.decision, shadow.verdict, shadow.percentage) == ("Agrees", "Pass", 40)
    assert (shadow.agreement, shadow.agreement_low, shadow.agreement_high) == (0.97, 0.93, 0.99)
    assert (shadow.score_difference, shadow.score_difference_high, shadow.compared) == (0.01, 0.03, 800)
    assert shadow.agreement_verdict == shadow.score_difference_verdict == "Pass"


def test_a_fail_removes_the_mirror_and_rolls_back() -> None:
    world, status = world_for(shadow_spec())
    status, _ = drive(world, status, verdict=Verdict.FAIL)
    assert status.phase.value == "RolledBack" and status.history[-1].reason == "AnalysisFailed"
    assert status.routes is None and status.weights == {"v7": 100, "v8": 0}
    assert world.deployments["v8"].replicas == 0
    assert status.shadow is not None and status.shadow.decision == "Differs"


def test_no_verdict_by_max_duration_follows_on_inconclusive() -> None:
    world, status = world_for(shadow_spec(onInconclusive="rollback", maxDuration="3m"))
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.phase.value == "RolledBack" and status.history[-1].reason == "AnalysisInconclusive"
    assert status.shadow is not None and status.shadow.decision == "Inconclusive"


def test_abort_mid_comparison_removes_the_mirror_and_stays_final() -> None:
    world, status = world_for(shadow_spec())
    status, _ = drive(
        world,
        status,
        verdict=Verdict.INCONCLUSIVE,
        until=lambda s: s.shadow is not None and s.shadow.intervals >= 2,
    )
    assert status.routes == MIRROR and status.shadow is not None and status.shadow.decision == "Collecting"
    world.extra["action"] = ManualAction(ActionVerb.ABORT, nonce="n1")
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.phase.value == "RolledBack" and status.history[-1].outcome == "Aborted"
    assert status.routes is None and world.deployments["v8"].replicas == 0
    assert status.shadow is not None and status.shadow.decision == "Aborted"
    again = world.step(status)
    assert again.status == status and not again.actions, "abort is idempotent"


def test_other_strategies_show_no_shadow_status() -> None:
    world = World(make_spec(), deployments=ready(v7=3))
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    status, _ = drive(world, status, verdict=Verdict.PASS)
    assert status.shadow is None


def test_a_promotion_that_ends_in_the_deciding_call_still_shows_the_comparison() -> None:
    """With one replica the candidate's pod for the copies is all the promotion needs: the rollout
    ends in the call that reads the Pass, and status.shadow still shows what decided it."""
    spec = shadow_spec().model_copy(update={"replicas": 1})
    world = ShadowWorld(spec, deployments=ready(v7=1), provider=RouterProvider())
    world.judged = []
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    status, _ = drive(world, status, verdict=Verdict.PASS)
    assert status.stable_version == "v8"
    assert status.shadow is not None and status.shadow.decision == "Agrees"
    assert status.shadow.agreement == 0.97 and status.shadow.agreement_verdict == "Pass"
