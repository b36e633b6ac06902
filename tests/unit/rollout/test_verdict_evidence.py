"""A verdict Event says why on its own: each deciding metric's evidence in one line (values,
effect with its interval, e-value or p-value, samples), for a Pass as much as for a Fail, so
`kubectl get events` answers "why did it promote?" without reading status."""

from __future__ import annotations

from datetime import timedelta

from modelrollout.api.v1alpha1 import MetricResult, ModelRolloutStatus, Verdict
from modelrollout.rollout import AnalysisObservation, EmitEvent, analysis_due, analysis_window

from ...fixtures.rollout_world import World, make_spec, ready

LATENCY = MetricResult(
    name="latency", verdict=Verdict.PASS, stable=0.1204, candidate=0.1251, effect=0.039,
    interval_low=-0.012, interval_high=0.081, e_value=0.31, samples_stable=1200, samples_candidate=310,
)  # fmt: skip
ERRORS = MetricResult(
    name="errors", verdict=Verdict.FAIL, stable=0.01, candidate=0.08, effect=0.07,
    interval_low=0.05, interval_high=0.09, p_value=0.0004, samples_stable=5000, samples_candidate=4800,
)  # fmt: skip
DRY = MetricResult(name="drift", verdict=Verdict.FAIL, stable=0.2, candidate=0.9, dry_run=True)


def verdict_event(verdict: Verdict, metrics: tuple[MetricResult, ...]) -> EmitEvent:
    spec = make_spec([{"setWeight": 10}, {"analysis": {}}], analysis={"interval": "30s", "maxDuration": "3m"})
    world = World(spec, deployments=ready(v7=3))
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    for _ in range(100):
        if analysis_due(world.spec, status, world.now):
            _, end = analysis_window(world.spec, status, world.now)
            world.extra["analysis"] = AnalysisObservation(
                verdict=verdict, evaluated_at=end, score=50.0, metrics=metrics, message="judged."
            )
            decision = world.step(status)
            reasons = {Verdict.PASS: "AnalysisPassed", Verdict.FAIL: "AnalysisFailed"}
            return next(
                a for a in decision.actions if isinstance(a, EmitEvent) and a.reason.value == reasons[verdict]
            )
        decision = world.step(status)
        status = decision.status
        world.now += timedelta(seconds=decision.requeue_after or 5.0)
    raise AssertionError("the analysis never became due")


def test_a_pass_event_carries_every_deciding_metric_s_evidence() -> None:
    event = verdict_event(Verdict.PASS, (LATENCY, DRY))

    assert (
        "latency Pass: stable 0.12, candidate 0.125, effect 0.039 [-0.012, 0.081], e-value 0.31, "
        "samples 1200/310"
    ) in event.message, event.message
    assert "drift" not in event.message, "a dry-run metric decides nothing, so it is no evidence"
    assert event.message.startswith("analysis Pass, score 50"), event.message


def test_a_fail_event_leads_with_the_evidence_before_the_long_explanation() -> None:
    event = verdict_event(Verdict.FAIL, (ERRORS, LATENCY))

    errors = "errors Fail: stable 0.01, candidate 0.08, effect 0.07 [0.05, 0.09], p-value 0.0004, samples 5000/4800"
    assert errors in event.message, event.message
    assert event.message.index(errors) < event.message.index("judged."), "evidence first: it survives a cut"
    assert "latency Pass" in event.message
