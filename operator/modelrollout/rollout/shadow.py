"""The Shadow strategy: the candidate judged on copies of users' requests, never answering them.

It runs as two steps of the canary machinery (`ShadowStrategy.steps`): a mirror of
`shadow.percentage` to the candidate, put in force once the candidate has an Available pod (the
router's `shadow`, written by the `router` provider from `status.routes`), then one analysis until
the sequential tests decide or `maxDuration` passes. The candidate's weight stays 0 throughout.
So promotion, rollback, abort, pause, resume, retry, undo, events and lineage are the canary's
own transitions: a Pass ends the last step and promotes (the candidate grows to full size, takes
all traffic and becomes the stable, as a canary's last step does), a Fail rolls back, and
`settle_routes` removes the mirror whenever the rollout leaves its steps, so users, who never
got an answer from the candidate, notice nothing either way. What is the Shadow strategy's own is
what status shows (`shadow_status`).
"""

from __future__ import annotations

from ..api.v1alpha1 import (
    AGREEMENT_METRIC,
    SCORE_DIFFERENCE_METRIC,
    MetricResult,
    ShadowStatus,
    StrategyType,
)
from ._decision_state import Run
from .experiment_end import ends_at, judged_decision, shown_candidate

__all__ = ["shadow_status"]


def _result(metrics: list[MetricResult], name: str) -> MetricResult | None:
    return next((metric for metric in metrics if metric.name == name), None)


def shadow_status(run: Run) -> ShadowStatus | None:
    """`status.shadow` after this call: the comparison's figures and how far it has come. Kept as
    it was once the rollout has ended (the last comparison stays readable); a rollout that ended
    in this very call (a promotion whose capacity was already there) is read once more, from the
    analysis that ended it."""
    spec, status = run.spec, run.status
    shadow = spec.strategy.shadow
    if spec.strategy.type != StrategyType.SHADOW or shadow is None:
        return None
    before = status.shadow
    candidate = shown_candidate(run)
    if candidate is None:
        return before
    analysis = status.analysis
    metrics = list(analysis.metrics) if analysis is not None else []
    agreement = _result(metrics, AGREEMENT_METRIC)
    difference = _result(metrics, SCORE_DIFFERENCE_METRIC)
    return ShadowStatus(
        percentage=shadow.percentage,
        decision=judged_decision(
            run, candidate, passed="Agrees", failed="Differs", without_verdict="Inconclusive"
        ),
        verdict=analysis.verdict.value if analysis is not None and analysis.verdict is not None else None,
        agreement=agreement.candidate if agreement is not None else None,
        agreement_low=agreement.interval_low if agreement is not None else None,
        agreement_high=agreement.interval_high if agreement is not None else None,
        agreement_verdict=agreement.verdict.value if agreement is not None else None,
        score_difference=difference.candidate if difference is not None else None,
        score_difference_low=difference.interval_low if difference is not None else None,
        score_difference_high=difference.interval_high if difference is not None else None,
        score_difference_verdict=difference.verdict.value if difference is not None else None,
        compared=agreement.samples_candidate if agreement is not None else None,
        scores_compared=difference.samples_candidate if difference is not None else None,
        started_at=analysis.started_at if analysis is not None else None,
        ends_at=ends_at(run, before.ends_at if before is not None else None),
        intervals=analysis.runs if analysis is not None else 0,
        message=analysis.message if analysis is not None else "",
    )
