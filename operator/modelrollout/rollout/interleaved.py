"""The interleaving experiment: the candidate at full size, then the router merges both versions'
rankings for every user while one analysis step tests which ranking users prefer.

It runs as two steps of the canary machinery (`StrategySpec.run_steps`): a `setCanaryScale` to
`spec.replicas` (the candidate answers every ranking request beside the stable, so it needs the
stable's capacity; its weight stays 0, so it never answers a user alone), then the analysis step,
bounded by `interleaved.maxDuration`. The test itself is a metric of that step
(`evaluation.interleaving_probe`), critical: users preferring the candidate's ranking pass the
step and the candidate is promoted (once the guardrails pass too), users preferring the stable's
fail it (`onFailure`), and no preference by the deadline is `onInconclusive` (the experiment's
own, else the analysis'). Promotion, rollback, abort, pause, undo, events and lineage are the
canary's own transitions.

What is the experiment's own: the router's interleaving, in force (`status.routes.interleaving`,
which the controller makes the router's ConfigMap say) exactly while the analysis step runs or
holds, so it goes as the rollout promotes, rolls back, is aborted or undone; and what status
shows (`status.interleaved`), with an Event when the test decides.
"""

from __future__ import annotations

from ..api.v1alpha1 import (
    INTERLEAVING_METRIC,
    InterleavedStatus,
    MetricResult,
    Phase,
    Reason,
    RoutesStatus,
    StrategyType,
    Verdict,
    interleaving_route,
)
from ._decision_state import Run
from .experiment_end import COLLECTING, ends_at, experiment_decision, shown_candidate

__all__ = ["interleaved_status", "interleaving_in_force"]

_STEPPING = frozenset({Phase.PROGRESSING, Phase.PAUSED})
DECIDED = {
    "CandidatePreferred": "users prefer the candidate's ranking",
    "StablePreferred": "users prefer the stable's ranking",
    "NoPreference": "no preference shown by the end of the experiment",
}
"""The decisions announced by an Event, and how the Event says them."""


def _running_test(run: Run) -> bool:
    """The experiment's analysis step (its last step) runs or holds."""
    step = run.status.current_step
    last = len(run.steps) - 1
    return run.candidate is not None and run.status.phase in _STEPPING and step == last and last >= 0


def interleaving_in_force(run: Run) -> None:
    """`status.routes.interleaving` as the step says: the stable's and the candidate's rankings
    merged while the test runs, nothing otherwise (the other routes are left as they are)."""
    strategy = run.spec.strategy.interleaved
    if run.spec.strategy.type != StrategyType.INTERLEAVED or strategy is None:
        return
    routes = run.status.routes or RoutesStatus()
    wanted = interleaving_route(run.stable, run.candidate or "", strategy) if _running_test(run) else None
    if routes.interleaving == wanted:
        return
    updated = routes.model_copy(update={"interleaving": wanted})
    run.status.routes = updated if updated.headers or updated.mirrors or updated.interleaving else None


def _test_result(run: Run) -> MetricResult | None:
    analysis = run.status.analysis
    metrics = analysis.metrics if analysis is not None else []
    return next((metric for metric in metrics if metric.name == INTERLEAVING_METRIC), None)


def _decision(run: Run, candidate: str, result: MetricResult | None) -> str:
    status = run.status
    verdict = status.analysis.verdict if status.analysis is not None else None
    tested = result.verdict if result is not None else None
    reached = None
    if verdict == Verdict.FAIL:
        reached = "StablePreferred" if tested == Verdict.FAIL else "GuardrailFailed"
    elif verdict == Verdict.PASS and tested == Verdict.PASS:
        reached = "CandidatePreferred"
    return experiment_decision(run, candidate, reached, without_verdict="NoPreference")


def interleaved_status(run: Run) -> InterleavedStatus | None:
    """`status.interleaved` after this call, and the Event when the test has just decided. Kept as
    it was once the rollout has ended (the last experiment's outcome stays readable)."""
    spec, status = run.spec, run.status
    strategy = spec.strategy.interleaved
    if spec.strategy.type != StrategyType.INTERLEAVED or strategy is None:
        return None
    candidate = shown_candidate(run)  # it may end within this call: promoted at once, at full size
    if candidate is None:
        return status.interleaved
    analysis = status.analysis
    result = _test_result(run)
    before = status.interleaved
    stable_wins = round(result.stable or 0) if result is not None else 0
    candidate_wins = round(result.candidate or 0) if result is not None else 0
    credited = result.samples_candidate or 0 if result is not None else 0
    shown = InterleavedStatus(
        decision=_decision(run, candidate, result),
        verdict=result.verdict.value if result is not None else None,
        impressions=result.samples_stable or 0 if result is not None else 0,
        candidate_wins=candidate_wins,
        stable_wins=stable_wins,
        ties=max(credited - candidate_wins - stable_wins, 0),
        win_share=result.effect if result is not None else None,
        interval_low=result.interval_low if result is not None else None,
        interval_high=result.interval_high if result is not None else None,
        e_value=result.e_value if result is not None else None,
        min_impressions=strategy.min_impressions,
        started_at=analysis.started_at if analysis is not None else None,
        ends_at=ends_at(run, before.ends_at if before is not None else None),
        intervals=analysis.runs if analysis is not None else 0,
        message=result.explanation if result is not None else "",
    )
    announced = before.decision if before is not None else COLLECTING
    if shown.decision in DECIDED and shown.decision != announced:
        message = (
            f"interleaving {candidate} against {run.stable}: {DECIDED[shown.decision]} "
            f"(candidate won {shown.candidate_wins}, stable {shown.stable_wins}, ties {shown.ties} "
            f"of {shown.impressions} impressions)"
        )
        run.event(Reason.INTERLEAVING_DECIDED, message, warning=shown.decision == "StablePreferred")
    return shown
