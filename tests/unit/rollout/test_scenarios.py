"""Whole rollouts against a simulated cluster: every step runs once, in order, and a restart at
any point (status kept, actions lost) continues where it was."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest

from modelrollout.api.v1alpha1 import ModelRolloutStatus, Verdict
from modelrollout.rollout import (
    ActionVerb,
    ApplyWeights,
    EmitEvent,
    ManualAction,
    PruneVersions,
    RecordLineage,
    RetireVersion,
    RolloutOutcome,
    analysis_window,
    decide,
)

from ...fixtures.rollout_world import T0, World, drive, events, make_spec, of_type, ready

STEPS = [
    {"setWeight": 10},
    {"analysis": {}},
    {"setWeight": 30},
    {"pause": {"duration": "1m"}},
    {"setWeight": 60},
    {"analysis": {}},
]
ANALYSIS = {"interval": "30s", "maxDuration": "3m"}


def started_world(**spec_fields: object) -> tuple[World, ModelRolloutStatus]:
    """A world where the stable v7 already serves."""
    spec = make_spec(STEPS, analysis=ANALYSIS, **spec_fields)
    world = World(spec, deployments=ready(v7=3))
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    return world, status


def step_completions(decisions: list) -> list[str]:
    """`step i/n` of every StepCompleted Event (the Promoting transition says "all steps")."""
    return [
        a.message.split(" (")[0]
        for d in decisions
        for a in d.actions
        if isinstance(a, EmitEvent) and a.reason.value == "StepCompleted" and a.message.startswith("step")
    ]


def test_a_passing_canary_is_promoted_with_every_step_once() -> None:
    world, status = started_world()
    status, decisions = drive(world, status, verdict=Verdict.PASS)

    assert status.phase.value == "Promoted"
    assert status.stable_version == "v8" and status.candidate_version is None
    assert step_completions(decisions) == [f"step {i}/6" for i in range(1, 7)]
    assert world.deployments["v8"].replicas == 3
    assert world.deployments["v7"].replicas == 0, "the old stable is kept at zero for a quick revert"
    assert status.history[-1].outcome == "Promoted"
    facts = [(a.version, a.outcome) for d in decisions for a in d.actions if isinstance(a, RecordLineage)]
    assert facts == [("v8", RolloutOutcome.PROGRESSING), ("v8", RolloutOutcome.PROMOTED)]
    conditions = {c.type: (c.status, c.reason) for c in status.conditions}
    assert conditions["Ready"] == ("True", "StableAvailable")
    assert conditions["Progressing"] == ("False", "Promoted")
    assert conditions["AnalysisPassing"] == ("True", "AnalysisPassed")
    assert conditions["Degraded"] == ("False", "Healthy")


def test_the_stable_serves_throughout_a_promotion() -> None:
    """Checked after every reconcile, before and after pods settle."""
    world, status = started_world()
    for _ in range(100):
        if status.phase.value == "Promoted" and status.candidate_version is None and status.history:
            break
        decision = world.step(status, settle=False)
        status = decision.status
        serving = world.deployments[status.stable_version or "v7"]
        assert serving.replicas >= 1
        for weights in of_type(decision, ApplyWeights):
            assert weights.replicas.get("v7", 0) + world.deployments["v8"].available_replicas >= 3, (
                "the stable gives a pod up only for an Available candidate pod"
            )
        world.settle()
        world.now += timedelta(seconds=30)
        world.judge(status, Verdict.PASS)
    assert status.stable_version == "v8"


def test_a_failing_analysis_rolls_back_to_zero() -> None:
    world, status = started_world()
    status, decisions = drive(world, status, verdict=Verdict.FAIL)

    assert status.phase.value == "RolledBack"
    assert status.weights == {"v7": 100, "v8": 0} and status.candidate_weight == 0
    assert world.deployments["v8"].replicas == 0
    assert world.deployments["v7"].replicas == 3
    assert (status.history[-1].outcome, status.history[-1].reason) == ("RolledBack", "AnalysisFailed")
    degraded = next(c for c in status.conditions if c.type == "Degraded")
    assert (degraded.status, degraded.reason) == ("True", "RolledBack")
    reasons = [reason for d in decisions for _, reason in events(d)]
    assert reasons.count("RolledBack") == 1


def test_an_abort_is_final_under_an_hpa() -> None:
    world, status = started_world()
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE, until=lambda s: s.current_step == 1)
    world.extra["action"] = ManualAction(ActionVerb.ABORT, "a1")
    status, _ = drive(world, status, until=lambda s: s.phase.value == "RolledBack")
    assert status.history[-1].outcome == "Aborted"
    world.deployments["v8"] = ready(v8=2)["v8"]  # an HPA scales the candidate up again
    decision = world.step(status)
    assert decision.status.phase.value == "RolledBack"
    assert [a.weights for a in of_type(decision, ApplyWeights)] == [{"v7": 100, "v8": 0}]
    assert events(decision) == []
    assert world.deployments["v8"].replicas == 0


def test_retry_restarts_from_the_first_step() -> None:
    world, status = started_world()
    status, _ = drive(world, status, verdict=Verdict.FAIL)
    world.extra["action"] = ManualAction(ActionVerb.RETRY, "r1")
    status, _ = drive(world, status, verdict=Verdict.PASS)
    assert status.stable_version == "v8"
    assert [h.outcome for h in status.history] == ["RolledBack", "Promoted"]
    assert status.last_action is not None and status.last_action.result.startswith("retrying")


def test_pause_and_resume_by_hand() -> None:
    world, status = started_world()
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE, until=lambda s: s.current_step == 1)
    world.extra["action"] = ManualAction(ActionVerb.PAUSE, "p1")
    status = world.step(status).status
    assert (status.phase.value, status.paused_reason) == ("Paused", "PausedByUser")
    world.now += timedelta(hours=1)
    status = world.step(status).status
    assert status.phase.value == "Paused", "a manual pause outlasts the analysis deadline"
    world.extra["action"] = ManualAction(ActionVerb.RESUME, "p2")
    status = world.step(status).status
    assert status.phase.value == "Progressing", "the final look is judged before onInconclusive"
    world.judge(status, Verdict.INCONCLUSIVE)
    status = world.step(status).status
    assert status.phase.value == "Paused" and status.paused_reason == "PausedInconclusive"


def test_promote_full_skips_the_remaining_steps() -> None:
    world, status = started_world()
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE, until=lambda s: s.current_step == 1)
    world.extra["action"] = ManualAction(ActionVerb.PROMOTE_FULL, "f1")
    status, _ = drive(world, status)
    assert status.stable_version == "v8"
    assert (status.history[-1].outcome, status.history[-1].reason) == ("Promoted", "PromotedManually")


def test_a_new_candidate_supersedes_the_running_one() -> None:
    world, status = started_world()
    status, _ = drive(world, status, verdict=Verdict.PASS, until=lambda s: (s.current_step or 0) >= 2)
    world.spec = make_spec(STEPS, candidate="v9", analysis=ANALYSIS)
    status, decisions = drive(world, status, verdict=Verdict.PASS)
    assert status.stable_version == "v9"
    assert [(h.candidate, h.outcome) for h in status.history] == [("v8", "Superseded"), ("v9", "Promoted")]
    assert "v8" not in world.deployments, "the superseded candidate is deleted once at zero"
    retired = [a.version for d in decisions for a in of_type(d, RetireVersion)]
    assert "v8" in retired and "v7" in retired


def test_old_stables_beyond_the_history_limit_are_pruned() -> None:
    world, status = started_world(revision_history_limit=1)
    for version in ("v8", "v9", "v10"):
        world.spec = make_spec(STEPS, candidate=version, analysis=ANALYSIS, revision_history_limit=1)
        status, _ = drive(world, status, verdict=Verdict.PASS)
        world.step(status)  # prune after the old stable reached zero
    assert status.stable_version == "v10"
    assert sorted(world.deployments) == ["v10", "v9"]
    assert world.deployments["v9"].replicas == 0


def test_restart_with_lost_actions_repeats_and_skips_nothing() -> None:
    """The controller saves status before it acts; a crash in between loses the actions. The
    next reconcile sees the cluster unchanged and asks again; no step is redone or skipped."""
    rng = random.Random(7)
    for _ in range(20):
        world, status = started_world()
        completions: list[str] = []
        for _ in range(300):
            if status.phase.value == "Promoted" and status.history:
                break
            world.judge(status, Verdict.PASS)
            restarted = ModelRolloutStatus.model_validate(status.model_dump(mode="json", by_alias=True))
            decision = decide(world.spec, restarted, world.observe(restarted), world.now)
            if rng.random() > 0.3:
                world.apply(decision.actions)
            if rng.random() > 0.3:
                world.settle()
            completions += step_completions([decision])
            status = decision.status
            world.now += timedelta(seconds=rng.choice([1, 5, 20, 40]))
        assert status.stable_version == "v8", status.message
        counted = Counter(completions)
        assert counted == Counter({f"step {i}/6": 1 for i in range(1, 7)})


def test_prune_waits_for_zero() -> None:
    world, status = started_world()
    world.deployments["v5"] = ready(v5=1)["v5"]
    decision = world.step(status)
    assert [a.version for a in of_type(decision, RetireVersion)] == ["v5"]
    assert all("v5" in a.keep for a in of_type(decision, PruneVersions))
    decision = world.step(decision.status)
    assert "v5" not in world.deployments


def test_analysis_windows_follow_the_interval_grid() -> None:
    """The analysis step starts at T0+2 s (once the candidate's pod is Available), off the 30 s
    grid (T0 is on it); its deadline is T0+182 s (maxDuration 3m), off the grid too. Windows all
    start at the step's start and end on the epoch's grid points after it, the first one 28 s long; the last ends at the final look,
    T0+210 s, the first grid point at or after the deadline. onInconclusive applies only once that
    window is judged, in the same reconcile."""
    world, status = started_world()
    seen: list[tuple[float, float]] = []
    decided_at: list[float] = []

    def judge(start, end):  # type: ignore[no-untyped-def]
        seen.append(((start - T0).total_seconds(), (end - T0).total_seconds()))
        return Verdict.INCONCLUSIVE

    def paused_inconclusive(s: ModelRolloutStatus) -> bool:
        done = s.phase.value == "Paused" and s.paused_reason == "PausedInconclusive"
        if done:
            decided_at.append((world.now - T0).total_seconds())
        return done

    status, _ = drive(world, status, verdict=judge, until=paused_inconclusive)
    assert T0.timestamp() % 30 == 0
    assert [start for start, _ in seen] == [2.0] * 7
    assert [end for _, end in seen] == [30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 210.0]
    assert decided_at == [210.0]
    assert status.analysis is not None and status.analysis.last_run == "2030-01-01T00:03:30Z"


def test_a_problem_appearing_later_is_announced_once() -> None:
    world, status = started_world(candidate=None)
    world.extra["service_exists"] = True
    status = world.step(status).status
    assert any(c.type == "Degraded" and c.status == "False" for c in status.conditions)

    world.extra["service_exists"] = False
    first = world.step(status)
    again = world.step(first.status)

    assert ("Warning", "ServiceNotFound") in events(first)
    assert ("Warning", "ServiceNotFound") not in events(again)


@pytest.mark.parametrize(
    ("reason", "explanation", "named"),
    [
        (
            "MetricNotFound",
            "MetricNotFound: no series x_errors_total. Query: sum(increase(x_errors_total[30s]))",
            "x_errors_total[30s]",
        ),
        (
            "PrometheusRefused",
            "PrometheusRefused: credentials are sent only over https, and the address is http://prom:9090",
            "http://prom:9090",
        ),
    ],
)
def test_a_metric_that_does_not_exist_is_degraded_with_one_warning_and_never_promotes(
    reason: str, explanation: str, named: str
) -> None:
    """So is one whose Prometheus the operator refuses to query: both wait for a person."""
    from modelrollout.api.v1alpha1 import MetricResult
    from modelrollout.rollout import AnalysisObservation

    world, status = started_world()
    status, _ = drive(world, status, until=lambda s: s.current_step == 1)
    wrong = MetricResult(
        name="errors", verdict=Verdict.INCONCLUSIVE, configuration_error=reason, explanation=explanation
    )
    warnings = []
    for _ in range(4):
        world.now += timedelta(seconds=30)
        _, end = analysis_window(world.spec, status, world.now)
        world.extra["analysis"] = AnalysisObservation(
            verdict=Verdict.INCONCLUSIVE, evaluated_at=end, metrics=(wrong,), message="held"
        )
        decision = world.step(status)
        status = decision.status
        warnings += [e for e in events(decision) if e == ("Warning", reason)]

    degraded = next(c for c in status.conditions if c.type == "Degraded")
    assert (degraded.status, degraded.reason) == ("True", reason)
    assert "metric errors" in degraded.message and named in degraded.message
    assert len(warnings) == 1, "announced on the transition, not every interval"
    assert status.phase.value == "Progressing" and status.current_step == 1
