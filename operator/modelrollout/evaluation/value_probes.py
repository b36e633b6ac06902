"""The value checks: `custom` and `resource` metrics, a bound on a value at every look.

They compare the candidate with a fixed bound, not with the stable, so they share none of the
comparisons' sequential machinery: one range query per version holds every look of the step, and
the failed looks are counted afresh at each evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from ..analysis import MetricTest, assess_threshold
from ..api.v1alpha1 import MetricSpec
from ..metrics import queries as defaults
from ..metrics import render
from . import samples
from .slices import CANDIDATE, STABLE, Answers, Probe, Slice, inconclusive, ranges, settled

if TYPE_CHECKING:
    from .probes import Planner

__all__ = ["custom_probe", "resource_probe"]


def custom_probe(planner: Planner, metric: MetricSpec) -> Probe:
    bounds = metric.threshold_range
    if not metric.query:
        return settled(metric, inconclusive("threshold", "a custom metric needs `query`"))
    if bounds is None or (bounds.min is None and bounds.max is None):
        return settled(metric, inconclusive("threshold", "a custom metric needs `thresholdRange`"))
    promql = render(metric.query, planner.context(planner.request.candidate_version))
    return _threshold_probe(planner, metric, {CANDIDATE: promql}, bounds.min, bounds.max)


def resource_probe(planner: Planner, metric: MetricSpec) -> Probe:
    bounds = metric.threshold_range
    minimum = bounds.min if bounds else None
    maximum = metric.max if metric.max is not None else (bounds.max if bounds else None)
    if minimum is None and maximum is None:
        return settled(metric, inconclusive("threshold", "a resource metric needs `max`"))
    request = planner.request
    series = metric.metric_name or defaults.CPU_METRIC

    def promql(version: str) -> str:
        if metric.query:
            return render(metric.query, planner.context(version))
        return defaults.pod_resource(series, request.namespace, request.name, version, planner.interval)

    # The stable's usage is context for a reader, never part of the check.
    values = {role: promql(version) for role, version in planner.versions.items()}
    return _threshold_probe(planner, metric, values, minimum, maximum)


def _threshold_probe(
    planner: Planner,
    metric: MetricSpec,
    values: Mapping[str, str],
    minimum: float | None,
    maximum: float | None,
) -> Probe:
    """Every look of the step from one range query per version, so the failed looks are
    counted afresh at each evaluation; the request counter gates the Pass on `minSamples`."""
    slices = {f"values/{role}": Slice(planner.range_query(promql)) for role, promql in values.items()}
    slices |= planner.batched(
        "requests", defaults.requests(planner.request.series.requests, planner.interval)
    )
    window = planner.range_template
    looks = samples.look_grid(planner.step_start.timestamp(), window.end.timestamp(), window.step)
    min_samples = planner.request.analysis.min_samples

    def measure(answers: Answers) -> MetricTest:
        per_look = {role: samples.values_at(ranges(answers, f"values/{role}"), looks) for role in values}
        candidate = per_look[CANDIDATE]
        if candidate is None:
            returned = len(ranges(answers, f"values/{CANDIDATE}"))
            return inconclusive("threshold", f"the query returned {returned} series; it must return one")
        stable = per_look.get(STABLE)
        requests = _candidate_requests(planner, answers)
        result = assess_threshold(
            candidate,
            minimum,
            maximum,
            failure_threshold=metric.failed_looks_to_fail,
            candidate_requests=math.inf if requests is None else requests,
            min_samples=min_samples,
            stable=stable[-1] if stable else None,
        )
        if requests is not None:
            return result
        unknown = f"No {planner.request.series.requests} series for this model, so minSamples is not applied."
        return replace(result, explanation=f"{result.explanation} {unknown}")

    return Probe(metric, measure, slices)


def _candidate_requests(planner: Planner, answers: Answers) -> float | None:
    """The candidate's requests in the step: none yet (0) when only the stable's series
    exists, unknown (None) when the model has no request series at all."""
    counts = {role: samples.total(ranges(answers, f"requests/{role}")) for role in planner.versions}
    if counts[CANDIDATE] is not None:
        return counts[CANDIDATE]
    return None if counts[STABLE] is None else 0.0
