"""The bandit machine: the weight step to the first split, then one decision per interval from
the router's counts (weights moved within the guards), until a stop promotes the candidate or
rolls it back, `maxDuration` applies `onInconclusive`, a guardrail fails, or a person aborts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from modelrollout import analysis
from modelrollout.analysis import ArmCounts, BanditDecision, bandit_decision
from modelrollout.api.v1alpha1 import (
    AnalysisSpec,
    BanditStrategy,
    MetricResult,
    ModelRolloutSpec,
    ModelRolloutStatus,
    StrategySpec,
    StrategyType,
    TrafficSpec,
    Verdict,
)
from modelrollout.rollout import (
    ActionVerb,
    AnalysisObservation,
    EmitEvent,
    ManualAction,
    analysis_due,
    analysis_window,
)
from modelrollout.rollout.bandit import BANDIT_STEP
from modelrollout.traffic import RouterProvider

from ...fixtures.rollout_world import World, drive, events, make_spec, ready

PER_INTERVAL = 100
"""Requests the router sends per interval, split by the weights served."""


def bandit_spec(metrics: list[dict[str, Any]] | None = None, **settings: Any) -> ModelRolloutSpec:
    analysis = {
        "prometheus": {"address": "http://prometheus.monitoring:9090"},
        "interval": "30s",
        "maxDuration": "30m",
        "metrics": metrics or [],
        **settings.pop("analysis", {}),
    }
    strategy = StrategySpec(
        type=StrategyType.BANDIT,
        traffic=TrafficSpec.model_validate({"provider": "router"}),
        bandit=BanditStrategy.model_validate({"minRewards": 30, **settings}),
    )
    spec = make_spec(replicas=1).model_copy(
        update={"strategy": strategy, "analysis": AnalysisSpec.model_validate(analysis)}
    )
    return ModelRolloutSpec.model_validate(spec.model_dump(by_alias=True))


class BanditWorld(World):
    """The router's counters grow each interval by the weights served and the versions' reward
    rates (expected values: the runs are deterministic)."""

    rates: dict[str, float]
    counts: dict[str, list[float]]
    judged_weights: list[dict[str, float]]
    guardrail: Verdict

    def judge(self, status: ModelRolloutStatus, verdict: Any) -> None:
        self.extra.pop("analysis", None)
        if not analysis_due(self.spec, status, self.now):
            return
        _, end = analysis_window(self.spec, status, self.now)
        if status.analysis is not None and status.analysis.started_at is not None and not self.counts:
            self.counts = {version: [0.0, 0.0, 0.0] for version in ("v7", "v8")}
        weights = {version: float(weight) for version, weight in status.weights.items()}
        self.judged_weights.append(weights)
        for version, weight in weights.items():
            pulls = PER_INTERVAL * weight / 100
            counted = self.counts[version]
            counted[0] += pulls
            counted[1] += pulls
            counted[2] += pulls * self.rates[version]
        arms = tuple(ArmCounts(v, *self.counts[v]) for v in ("v7", "v8"))
        metrics = (MetricResult(name="errors", verdict=self.guardrail),) if self.spec.analysis.metrics else ()
        self.extra["analysis"] = AnalysisObservation(
            verdict=self.guardrail if metrics else Verdict.INCONCLUSIVE,
            evaluated_at=end,
            metrics=metrics,
            message="guardrails judged" if metrics else "",
            bandit=arms,
        )


def world_for(
    spec: ModelRolloutSpec, stable: float, candidate: float, guardrail: Verdict = Verdict.PASS
) -> tuple[BanditWorld, ModelRolloutStatus]:
    world = BanditWorld(spec, deployments=ready(v7=1), provider=RouterProvider())
    world.rates, world.counts, world.judged_weights = {"v7": stable, "v8": candidate}, {}, []
    world.guardrail = guardrail
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    return world, status


def test_a_better_candidate_gains_weight_each_interval_within_the_guards_and_is_promoted() -> None:
    spec = bandit_spec(stableFloor=10, maxStep=20, minRewards=100)
    world, status = world_for(spec, stable=0.2, candidate=0.6)
    status, decisions = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.stable_version == "v8" and status.history[-1].outcome == "Promoted"
    served = [weights["v8"] for weights in world.judged_weights]
    assert served[0] == 20, "the bandit starts at min(50, maxStep)"
    assert served == sorted(served) and len(set(served)) > 1, served
    assert all(b - a <= 20 for a, b in pairwise(served)), served
    assert all(weights["v7"] >= 10 for weights in world.judged_weights)
    bandit = status.bandit
    assert bandit is not None and bandit.decision == "CandidateBest" and bandit.winner == "v8"
    assert [arm.version for arm in bandit.arms] == ["v7", "v8"]
    v7, v8 = bandit.arms
    assert v8.probability_best >= 0.95 and v8.mean > v7.mean
    assert v8.alpha == 1 + v8.successes and v8.beta == 1 + v8.rewards - v8.successes
    assert min(v7.rewards, v8.rewards) >= 30
    assert bandit.intervals == len(world.judged_weights) and bandit.expected_regret is not None
    assert bandit.expected_regret > 0
    messages = [a.message for decision in decisions for a in decision.actions if isinstance(a, EmitEvent)]
    assert any("bandit stopped: v8 is best with probability" in m for m in messages), messages


def test_a_better_stable_rolls_the_candidate_back() -> None:
    world, status = world_for(bandit_spec(), stable=0.6, candidate=0.2)
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.phase.value == "RolledBack" and status.history[-1].reason == "AnalysisFailed"
    assert status.weights["v7"] == 100 and not status.weights.get("v8")
    assert status.bandit is not None and (status.bandit.decision, status.bandit.winner) == (
        "StableBest",
        "v7",
    )


def test_equal_versions_without_a_stop_by_max_duration_apply_on_inconclusive() -> None:
    spec = bandit_spec(minRewards=100_000, maxDuration="3m", analysis={"onInconclusive": "pause"})
    world, status = world_for(spec, stable=0.3, candidate=0.3)
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE, until=lambda s: s.phase.value == "Paused")
    assert status.paused_reason == "PausedInconclusive"
    assert status.bandit is not None and status.bandit.decision == "NoStop"
    assert all(abs(weights["v8"] - 50) <= 30 for weights in world.judged_weights)


def test_a_failing_guardrail_ends_the_bandit_at_once() -> None:
    spec = bandit_spec(metrics=[{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01}])
    world, status = world_for(spec, stable=0.2, candidate=0.6, guardrail=Verdict.FAIL)
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.phase.value == "RolledBack"
    assert status.bandit is not None and status.bandit.decision == "GuardrailFailed"
    assert len(world.judged_weights) == 1


def test_passing_guardrails_do_not_end_the_bandit_before_its_stop() -> None:
    spec = bandit_spec(metrics=[{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01}])
    world, status = world_for(spec, stable=0.2, candidate=0.6, guardrail=Verdict.PASS)
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.stable_version == "v8"
    assert len(world.judged_weights) > 1, "the first interval's passing guardrails did not promote"


def test_an_abort_returns_everything_to_the_stable() -> None:
    world, status = world_for(bandit_spec(minRewards=100_000), stable=0.2, candidate=0.6)
    status, _ = drive(
        world,
        status,
        verdict=Verdict.INCONCLUSIVE,
        until=lambda s: s.bandit is not None and s.bandit.intervals >= 2,
    )
    assert status.weights["v8"] > 20
    world.extra["action"] = ManualAction(ActionVerb.ABORT, "n1")
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.phase.value == "RolledBack" and status.weights["v7"] == 100 and not status.weights.get("v8")
    assert status.bandit is not None and status.bandit.decision == "Aborted"


def test_the_same_counts_give_the_same_decision() -> None:
    """What a restarted operator relies on: no state but Prometheus' counters and the status."""
    first, _ = world_for(bandit_spec(), stable=0.2, candidate=0.6)
    second, _ = world_for(bandit_spec(), stable=0.2, candidate=0.6)
    for world in (first, second):
        status = ModelRolloutStatus.model_validate(
            {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
        )
        drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert first.judged_weights == second.judged_weights


def test_a_high_stable_floor_leaves_the_exploration_floor_room() -> None:
    spec = bandit_spec(stableFloor=90, explorationFloor=50, maxStep=50)
    world, status = world_for(spec, stable=0.6, candidate=0.2)
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.phase.value == "RolledBack"
    assert all(weights["v7"] >= 90 for weights in world.judged_weights), world.judged_weights


def _first_pods_only(world: BanditWorld, most: int) -> None:
    """The cluster catches up, except that the candidate never has more than `most` pods
    Available (the nodes are full): the bandit's first split fits, a larger one never does."""
    world.settle()
    state = world.deployments.get("v8")
    if state is not None and state.available_replicas > most:
        world.deployments["v8"] = replace(state, ready_replicas=most, available_replicas=most)


def _stuck_bandit(**analysis: Any) -> tuple[BanditWorld, ModelRolloutStatus]:
    """10 replicas: the first split (v8 at 20%) runs v8 on 2 pods; the better candidate's next
    weight needs more, which never become Available."""
    spec = bandit_spec(maxStep=20, minRewards=100_000, analysis=analysis)
    spec = spec.model_copy(update={"replicas": 10, "progress_deadline": "1m"})
    world = BanditWorld(spec, deployments=ready(v7=10), provider=RouterProvider())
    world.rates, world.counts, world.judged_weights = {"v7": 0.2, "v8": 0.6}, {}, []
    world.guardrail = Verdict.PASS
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    return world, status


def test_a_weight_move_the_candidate_never_makes_is_rolled_back_at_the_progress_deadline() -> None:
    """As a weight step's: `progressDeadline` ends the wait for pods that never become Available."""
    world, status = _stuck_bandit()
    smallest_stable, move_started, rolling_back_at = 10, None, None
    for _ in range(200):
        world.judge(status, Verdict.INCONCLUSIVE)
        decision = world.step(status, settle=False)
        _first_pods_only(world, most=2)
        status = decision.status
        if status.current_step == BANDIT_STEP and move_started is None and status.progress_started_at:
            move_started = world.now
        if status.current_step == BANDIT_STEP:
            smallest_stable = min(smallest_stable, world.deployments["v7"].replicas)
        if status.phase.value == "RollingBack" and rolling_back_at is None:
            rolling_back_at = world.now
        if status.phase.value == "RolledBack":
            break
        world.now += timedelta(seconds=min(decision.requeue_after or 5, 5))
    assert move_started is not None, "the bandit never moved past its first split"
    assert status.phase.value == "RolledBack", (status.phase, status.message)
    assert rolling_back_at is not None and rolling_back_at - move_started <= timedelta(seconds=65), (
        "by the deadline"
    )
    assert smallest_stable == 8, "the stable kept the pods of the split it serves"
    assert (status.history[-1].outcome, status.history[-1].reason) == (
        "RolledBack",
        "ProgressDeadlineExceeded",
    )
    degraded = next(c for c in status.conditions if c.type == "Degraded")
    assert (degraded.status, degraded.reason) == ("True", "ProgressDeadlineExceeded")
    assert status.weights == {"v7": 100, "v8": 0} and world.deployments["v8"].replicas == 0


def test_with_on_failure_pause_a_stuck_weight_move_pauses_for_a_person() -> None:
    world, status = _stuck_bandit(onFailure="pause")
    announced: list[tuple[str, str]] = []
    for _ in range(200):
        world.judge(status, Verdict.INCONCLUSIVE)
        decision = world.step(status, settle=False)
        _first_pods_only(world, most=2)
        announced += events(decision)
        status = decision.status
        if status.phase.value == "Paused":
            break
        world.now += timedelta(seconds=min(decision.requeue_after or 5, 5))
    assert (status.phase.value, status.paused_reason) == ("Paused", "ProgressDeadlineExceeded"), (
        status.message
    )
    assert status.current_step == BANDIT_STEP
    assert ("Warning", "ProgressDeadlineExceeded") in announced
    world.now += timedelta(hours=1)
    status = world.step(status, settle=False).status
    _first_pods_only(world, most=2)
    assert status.phase.value == "Paused", "until a person acts"
    assert world.deployments["v7"].replicas == 8 and world.deployments["v8"].available_replicas == 2


def test_the_policy_decides_each_interval_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict the step reads and the weights the bandit moves to are one decision: the
    policy (`analysis.bandit_decision`, its public entry point, counted here) runs once per
    interval, not once to read the verdict and again to steer."""
    decided: list[tuple[ArmCounts, ...]] = []

    def counted(counts: tuple[ArmCounts, ...], *args: Any) -> BanditDecision:
        decided.append(counts)
        return bandit_decision(counts, *args)

    monkeypatch.setattr(analysis, "bandit_decision", counted)
    world, status = world_for(
        bandit_spec(stableFloor=10, maxStep=20, minRewards=100), stable=0.2, candidate=0.6
    )
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.stable_version == "v8" and status.bandit is not None
    assert status.bandit.intervals == len(world.judged_weights) > 2
    assert len(decided) == len(world.judged_weights), (
        f"{len(decided)} decisions for {len(world.judged_weights)} intervals"
    )
    assert len(set(decided)) == len(decided), "an interval's counts were decided twice"


def test_a_failed_guardrail_still_shows_the_interval_decided_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guardrail ends the bandit whatever the policy says, yet `status.bandit` shows the
    posteriors of the interval that ended it: the one decision is carried for that too."""
    decided: list[tuple[ArmCounts, ...]] = []

    def counted(counts: tuple[ArmCounts, ...], *args: Any) -> BanditDecision:
        decided.append(counts)
        return bandit_decision(counts, *args)

    monkeypatch.setattr(analysis, "bandit_decision", counted)
    spec = bandit_spec(metrics=[{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01}])
    world, status = world_for(spec, stable=0.2, candidate=0.6, guardrail=Verdict.FAIL)
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.phase.value == "RolledBack" and len(decided) == 1
    bandit = status.bandit
    assert bandit is not None and bandit.decision == "GuardrailFailed" and bandit.intervals == 1
    assert [arm.version for arm in bandit.arms] == ["v7", "v8"] and bandit.arms[1].pulls == 20


def test_no_stop_by_max_duration_rolled_back_stays_no_stop_once_the_rollback_is_done() -> None:
    """How the bandit ended is read as every experiment reads it (`experiment_end`): from the
    entry the rollout closed too, not only from the one still open."""
    spec = bandit_spec(minRewards=100_000, maxDuration="3m", analysis={"onInconclusive": "rollback"})
    world, status = world_for(spec, stable=0.3, candidate=0.3)
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE)
    assert status.phase.value == "RolledBack" and status.history[-1].reason == "AnalysisInconclusive"
    assert status.bandit is not None and status.bandit.decision == "NoStop"
