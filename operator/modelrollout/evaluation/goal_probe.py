"""The queries and the test of an A/B test's goal metric (`type: goal`).

A rate reads its event counter (`metricName`, e.g. `model_conversions_total`) and the request
counter exactly as `errorRate` reads its errors, so it shares the rate probe and its checks (an
absent event series that exists for the model is zero events; one that exists nowhere is
`MetricNotFound`), only the test is the superiority test. A mean reads `<metricName>_sum` and
`<metricName>_count`. Every query is the type's batched template (`sum by (namespace, model,
version) (increase(...))`), so a fleet of A/B tests sharing an interval sends one query per
series, as the other metric types do. The goal's evidence starts with its step: it is never
carried across steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..analysis import MeanSample, MetricTest, RateSample, assess_goal_mean, assess_goal_rate
from ..api.v1alpha1 import GoalKind, MetricSpec
from ..metrics import queries as defaults
from . import checks, samples
from .slices import CANDIDATE, STABLE, Answers, Probe, inconclusive, ranges, settled

if TYPE_CHECKING:
    from .probes import Planner

__all__ = ["goal_probe"]


def goal_probe(planner: Planner, metric: MetricSpec) -> Probe:
    goal, base = metric.goal, metric.metric_name
    if goal is None or base is None:
        return settled(metric, inconclusive("goal", "a goal metric needs goal and metricName"))
    config = planner.config(metric)
    min_effect = goal.min_effect
    if goal.kind == GoalKind.RATE:

        def superiority(path: RateSample) -> MetricTest:
            return assess_goal_rate(path, min_effect, config)

        events = planner.batched("events", defaults.grouped_increase(base, planner.interval))
        requests = planner.request.series.requests
        return planner.rate_probe(metric, events, requests, events_series=base, assess=superiority)
    return _mean_probe(planner, metric, base, min_effect)


def _mean_probe(planner: Planner, metric: MetricSpec, base: str, min_effect: float) -> Probe:
    count_series = f"{base}_count"
    slices = {
        **planner.batched("sum", defaults.grouped_increase(f"{base}_sum", planner.interval)),
        **planner.batched("count", defaults.grouped_increase(count_series, planner.interval)),
        **planner.present("count", count_series),
    }
    config = planner.config(metric)
    roles = (STABLE, CANDIDATE)

    def measure(answers: Answers) -> MetricTest:
        counted = {role: ranges(answers, f"count/{role}") for role in roles}
        summed = {role: ranges(answers, f"sum/{role}") for role in roles}
        if not any(counted.values()) and not answers.get("present/count"):
            query = slices[f"count/{CANDIDATE}"].query.promql
            return checks.not_found(count_series, planner.lookback(), query)
        if (missing := planner.missing({role: counted[role] or None for role in roles})) is not None:
            return missing
        times = samples.look_times(*counted.values(), *summed.values())
        per_look = {
            (name, role): checks.per_look(samples.running_totals(answer[role], times))
            for name, answer in (("sum", summed), ("count", counted))
            for role in roles
        }
        sample = MeanSample(
            stable_sums=per_look["sum", STABLE],
            stable_counts=per_look["count", STABLE],
            candidate_sums=per_look["sum", CANDIDATE],
            candidate_counts=per_look["count", CANDIDATE],
        )
        return assess_goal_mean(sample, min_effect, config)

    return Probe(metric, measure, slices)
