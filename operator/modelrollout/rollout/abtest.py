"""The A/B test: a fixed split or a segment, then one test that crowns the candidate or hands it
to a policy.

The test runs as two steps of the canary machinery (`api.v1alpha1.strategy_steps`): the weight
step moves capacity to the split (for a segment, a header route step puts the segment's route in
force once the candidate has an Available pod; `settle_routes` clears it when the test ends), the
analysis step collects evidence until its deadline (`abTest.duration`, or `analysis.maxDuration`).
So promotion, rollback, abort, pause, resume, retry, undo, events and lineage are the canary's
own transitions. What is the A/B test's own is how a judgement is read (`read_judgement`, before the steps run) and what status shows
(`ab_test_status`, after):

* a guardrail's Fail is the judgement's Fail: `onFailure` at once, whatever the duration;
* a win (the goal superior, every guardrail non-inferior) promotes at once when the test runs
  until the sequential test decides; with a `duration` it is held until the window that ends at
  the duration's end is judged, and that last judgement decides;
* a goal shown not superior ends a test without duration at once (`settled`): no later look can
  make it win, and `onInconclusive` applies. With a duration the test runs on to its end.
"""

from __future__ import annotations

from dataclasses import replace

from ..api.v1alpha1 import (
    ABTestStatus,
    MetricResult,
    MetricType,
    ModelRolloutSpec,
    ModelRolloutStatus,
    StrategyType,
    Verdict,
    format_timestamp,
)
from ._decision_state import Run
from .experiment_end import COLLECTING, ends_at, judged_decision, shown_candidate
from .observations import AnalysisObservation, Observations
from .timing import analysis_final_look

__all__ = ["ab_test_status", "read_judgement"]


def _goal_name(spec: ModelRolloutSpec) -> str | None:
    goals = [metric.name for metric in spec.analysis.metrics if metric.type == MetricType.GOAL]
    return goals[0] if goals else None


def _goal_result(metrics: tuple[MetricResult, ...] | list[MetricResult], name: str) -> MetricResult | None:
    return next((metric for metric in metrics if metric.name == name), None)


def _is_ab_test(spec: ModelRolloutSpec) -> bool:
    return spec.strategy.type == StrategyType.AB_TEST and spec.strategy.ab_test is not None


def read_judgement(
    spec: ModelRolloutSpec, status: ModelRolloutStatus, observations: Observations
) -> Observations:
    """`observations` with its judgement read as the A/B test reads it (see the module)."""
    judged = observations.analysis
    goal = _goal_name(spec)
    if judged is None or goal is None or not _is_ab_test(spec):
        return observations
    ab_test = spec.strategy.ab_test
    timed = ab_test is not None and ab_test.duration is not None
    final_look = analysis_final_look(spec, status)
    last_window = final_look is not None and judged.evaluated_at >= final_look
    read: AnalysisObservation = judged
    if judged.verdict == Verdict.PASS and timed and not last_window:
        ends = format_timestamp(final_look) if final_look is not None else "the end of its duration"
        read = replace(
            judged,
            verdict=Verdict.INCONCLUSIVE,
            message=f"Superior so far; the test runs for its duration and decides at {ends}. {judged.message}",
        )
    result = _goal_result(judged.metrics, goal)
    not_superior = result is not None and result.verdict == Verdict.FAIL
    if judged.verdict == Verdict.INCONCLUSIVE and not_superior and not timed:
        read = replace(judged, settled=True)
    return replace(observations, analysis=read) if read is not judged else observations


def _decision(run: Run, candidate: str, result: MetricResult | None) -> str:
    decision = judged_decision(
        run, candidate, passed="Winner", failed="GuardrailFailed", without_verdict="NotSuperior"
    )
    if decision != COLLECTING:
        return decision
    over = (run.status.current_step or 0) >= len(run.steps)
    if over or (result is not None and result.verdict == Verdict.FAIL):
        return "NotSuperior"
    if result is not None and result.verdict == Verdict.PASS:
        return "Superior"
    return COLLECTING


def ab_test_status(run: Run) -> ABTestStatus | None:
    """`status.abTest` after this call: the split, the goal's evidence and how far the test has
    come. Kept as it was once the rollout has ended (the last test's outcome stays readable); a
    rollout that ended in this very call (a promotion whose capacity was already there) is read
    once more, from the analysis that ended it."""
    spec, status = run.spec, run.status
    goal = _goal_name(spec)
    ab_test = spec.strategy.ab_test
    if not _is_ab_test(spec) or goal is None or ab_test is None:
        return None
    before = status.ab_test
    candidate = shown_candidate(run)
    if candidate is None:
        return before
    analysis = status.analysis
    result = _goal_result(analysis.metrics, goal) if analysis is not None else None
    return ABTestStatus(
        split=ab_test.share,
        segment=list(ab_test.segment) if ab_test.segment is not None else None,
        goal=goal,
        decision=_decision(run, candidate, result),
        verdict=result.verdict.value if result is not None else None,
        stable=result.stable if result is not None else None,
        candidate=result.candidate if result is not None else None,
        effect=result.effect if result is not None else None,
        interval_low=result.interval_low if result is not None else None,
        interval_high=result.interval_high if result is not None else None,
        e_value=result.e_value if result is not None else None,
        samples_stable=result.samples_stable if result is not None else None,
        samples_candidate=result.samples_candidate if result is not None else None,
        started_at=analysis.started_at if analysis is not None else None,
        ends_at=ends_at(run, before.ends_at if before is not None else None),
        intervals=analysis.runs if analysis is not None else 0,
        message=result.explanation if result is not None else "",
    )
