"""One analysis interval: query (metrics) -> test (analysis) -> verdict (judge).

The controller calls `evaluate_intervals` once per tick with every rollout due, so identical
queries are sent once for all of them; the backtest calls `evaluate_interval` one aligned
interval at a time. Both run this code, which is why a backtest replays what the operator did.
A query that fails makes its metric Inconclusive with the reason; it never passes or fails it.
A metric whose series does not exist or whose query has the wrong shape is a configuration error
(`checks`): Inconclusive, and `EvaluationResult.configuration_error` says which and why.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..analysis import JudgedMetric, MetricTest, ScoreThresholds, judge
from ..api.v1alpha1 import MetricResult, MetricType, Verdict, first_interval_end, format_timestamp
from ..metrics import (
    BatchedQuerier,
    MetricSource,
    MetricSourceError,
    MetricSourceRefused,
    QueryOutcome,
    RangeQuery,
    Selection,
)
from .bandit_probe import arm_counts, bandit_slices
from .carry import combine, step_part
from .probes import plan
from .request import EvaluationRequest, EvaluationResult
from .slices import Answer, Probe, Slice, inconclusive

QUERY_FAILED = "query failed"
"""The method name of a metric whose query failed this interval."""
QUERY_REFUSED = "query refused"
"""The method name of a metric whose query the operator refused to send (a configuration error)."""


def evaluate_interval(request: EvaluationRequest, source: MetricSource | BatchedQuerier) -> EvaluationResult:
    """Evaluate one rollout at `request.at`."""
    return evaluate_intervals([request], source)[0]


def evaluate_intervals(
    requests: Sequence[EvaluationRequest], source: MetricSource | BatchedQuerier
) -> list[EvaluationResult]:
    """Evaluate many rollouts at once, each distinct query sent once; results in request order."""
    querier = source if isinstance(source, BatchedQuerier) else BatchedQuerier(source)
    plans = [_plan(request) for request in requests]
    wanted = {
        _selection(piece) for window in plans for probe in window.probes for piece in probe.slices.values()
    } | {_selection(piece) for window in plans for piece in window.bandit.values()}
    outcomes = querier.select(wanted)
    return [_conclude(window, outcomes) for window in plans]


@dataclass(frozen=True)
class _Window:
    """What one request reads: the step's intervals, and the evidence's (more when it carries)."""

    request: EvaluationRequest
    probes: list[Probe]
    intervals: int = 0
    evidence_intervals: int = 0
    step_from: float | None = None
    """The step's first look, when the evidence starts before it; None: it starts with the step."""
    bandit: Mapping[str, Slice] = field(default_factory=dict)
    """A bandit step's counters over the step's looks (`bandit_probe`)."""


def _plan(request: EvaluationRequest) -> _Window:
    interval = request.interval
    step_start = first_interval_end(request.started_at, interval)
    end = request.evaluated_at
    if end < step_start:
        return _Window(request, plan(request, None))
    start = min(step_start, first_interval_end(request.evidence_start, interval))
    window = RangeQuery(promql="", start=start, end=end, step=interval)
    step_from = step_start.timestamp() if start < step_start else None
    own = replace(window, start=step_start)
    return _Window(
        request,
        plan(request, window, step_start, _segments(request, start) if step_from is not None else ()),
        intervals=_count(step_start, end, interval),
        evidence_intervals=_count(start, end, interval),
        step_from=step_from,
        bandit=bandit_slices(request, own) if request.bandit else {},
    )


def _segments(request: EvaluationRequest, first_look: datetime) -> tuple[float, ...]:
    """The looks where a new split starts, from the times the split changed (`split_changes`).

    A look covers the interval before it; the look whose interval holds a change saw both splits,
    so it is a segment of its own, and the next look starts the new split's (a change on the grid
    needs only that one). Each segment then has one split, or is one look, whose counts are each
    version's own requests whatever the split within it."""
    interval = request.interval
    starts: set[float] = set()
    for change in request.split_changes:
        moment = change.timestamp()
        after = math.ceil(moment / interval - 1e-9) * interval  # the first look at or after it
        if after - moment > 1e-3:
            starts.add(after)
        starts.add(after + interval)
    return tuple(sorted(time for time in starts if time > first_look.timestamp() + 1e-3))


def _count(start: datetime, end: datetime, interval: float) -> int:
    return math.floor((end - start).total_seconds() / interval + 1e-9) + 1


def _selection(piece: Slice) -> Selection:
    """The query and the labels of the series this slice reads (`()`: the whole answer)."""
    return piece.query, tuple(sorted(piece.labels.items())) if piece.labels else ()


def _conclude(window: _Window, outcomes: Mapping[Selection, QueryOutcome]) -> EvaluationResult:
    request = window.request
    span = (
        f"{window.evidence_intervals} intervals since {format_timestamp(request.evidence_start)},"
        f" {window.intervals} of them in this step"
    )
    judged = [
        JudgedMetric(
            name=probe.metric.name,
            result=_measure(probe, outcomes, window.step_from, span),
            critical=probe.metric.critical,
            weight=probe.metric.weight,
            dry_run=probe.metric.dry_run,
            goal=probe.metric.type == MetricType.GOAL,
        )
        for probe in window.probes
    ]
    bandit_answers = {name: outcomes[_selection(piece)] for name, piece in window.bandit.items()}
    bandit_failed = any(isinstance(answer, MetricSourceError) for answer in bandit_answers.values())
    read = {
        name: answer for name, answer in bandit_answers.items() if not isinstance(answer, MetricSourceError)
    }
    bandit = arm_counts(request, read) if window.bandit and not bandit_failed else None
    limits = request.analysis.score_thresholds
    thresholds = ScoreThresholds(passing=limits.passing, marginal=limits.fail_below) if limits else None
    judgement = judge(judged, alpha=request.analysis.alpha, thresholds=thresholds)
    return EvaluationResult(
        request=request,
        evaluated_at=request.evaluated_at,
        final=request.final,
        intervals=window.intervals,
        evidence_intervals=window.evidence_intervals,
        judgement=judgement,
        metrics=tuple(metric_result(metric) for metric in judged),
        source_failed=any(metric.result.method == QUERY_FAILED for metric in judged) or bandit_failed,
        bandit=bandit,
    )


def _measure(
    probe: Probe, outcomes: Mapping[Selection, QueryOutcome], step_from: float | None, span: str
) -> MetricTest:
    """The metric's result on the step's evidence, combined with the evidence carried from earlier
    steps (`carry`) when it starts before the step (`step_from`)."""
    answers: dict[str, Answer] = {}
    for name, piece in probe.slices.items():
        outcome = outcomes[_selection(piece)]
        if isinstance(outcome, MetricSourceRefused):
            return replace(
                inconclusive(QUERY_REFUSED, str(outcome)), configuration_error=outcome.configuration_error
            )
        if isinstance(outcome, MetricSourceError):
            return inconclusive(QUERY_FAILED, f"could not query the metrics source: {outcome}")
        answers[name] = outcome
    if step_from is None:
        return probe.measure(answers)
    if not probe.carries:
        return probe.measure(step_part(answers, step_from))
    carried = (probe.measure_fail or probe.measure)(answers)
    if carried.verdict is Verdict.FAIL or carried.configuration_error is not None:
        return combine(carried, None, span)  # decided: the step's own part cannot change it
    return combine(carried, probe.measure(step_part(answers, step_from)), span)


def metric_result(metric: JudgedMetric) -> MetricResult:
    """The status shape of one judged metric; non-finite numbers made JSON-safe."""
    test = metric.result
    low, high = test.interval if test.interval is not None else (None, None)
    return MetricResult(
        name=metric.name,
        verdict=test.verdict,
        stable=_finite(test.stable),
        candidate=_finite(test.candidate),
        effect=_finite(test.effect),
        interval_low=_bound(low),
        interval_high=_bound(high),
        p_value=_finite(test.p_value),
        e_value=_finite(test.e_value),
        cohens_d=_finite(test.cohens_d),
        hedges_g=_finite(test.hedges_g),
        samples_stable=test.samples_stable,
        samples_candidate=test.samples_candidate,
        dry_run=metric.dry_run,
        configuration_error=test.configuration_error,
        explanation=test.explanation or f"{test.method}: {test.verdict}",
    )


def _bound(value: float | None) -> float | None:
    """An interval end; an infinite end is an open end, which status shows as absent."""
    return None if value is None or not math.isfinite(value) else value


def _finite(value: float | None) -> float | None:
    """NaN is no value; an infinity (e.g. an unbounded interval end) is clamped to the largest
    float, because Kubernetes rejects JSON that is not finite."""
    if value is None or math.isnan(value):
        return None
    return max(-sys.float_info.max, min(sys.float_info.max, value))
