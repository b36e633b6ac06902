"""What a probe is: the slices of query answers one metric reads, and how it turns them into a
`MetricTest`. Kept apart from the planner so the evaluation loop and the planner share the names."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..analysis import HistogramSample, MetricTest, RateSample
from ..api.v1alpha1 import MetricSpec, Verdict
from ..metrics import Query, RangeSeries, Series
from . import samples

Answer = Sequence[RangeSeries | Series]
Answers = Mapping[str, Answer]
"""Slice name -> the series of that slice."""
Measure = Callable[[Answers], MetricTest]

STABLE, CANDIDATE = "stable", "candidate"


@dataclass(frozen=True)
class Slice:
    query: Query
    labels: Mapping[str, str] | None = None
    """Labels a series must carry to belong here; None: the whole answer does."""


@dataclass(frozen=True)
class Probe:
    metric: MetricSpec
    measure: Measure
    slices: Mapping[str, Slice] = field(default_factory=dict)
    carries: bool = False
    """A sequential comparison whose Fail evidence may run across steps (`carry`)."""
    measure_fail: Measure | None = None
    """`measure` for the evidence carried across steps, which decides Fail only: short of a Fail
    its result is Inconclusive with the Fail side's e-value, without what only describes it
    (`AssessConfig.fail_only`); None: `measure`."""


def inconclusive(method: str, explanation: str) -> MetricTest:
    return MetricTest(verdict=Verdict.INCONCLUSIVE, method=method, explanation=explanation)


def settled(metric: MetricSpec, result: MetricTest) -> Probe:
    """A probe that needs no query: its result is known at planning time."""

    def measure(_: Answers) -> MetricTest:
        return result

    return Probe(metric, measure)


def ranges(answers: Answers, key: str) -> list[RangeSeries]:
    return [series for series in answers.get(key, []) if isinstance(series, RangeSeries)]


def candidate_query(slices: Mapping[str, Slice]) -> str:
    """The candidate's bucket query as sent, for messages."""
    return slices[f"buckets/{CANDIDATE}"].query.promql


def user_query(metric: MetricSpec, slices: Mapping[str, Slice]) -> str | None:
    """The candidate's rendered query when the metric has a query of its own, for messages."""
    return candidate_query(slices) if metric.query else None


def rate_path(answers: Answers, segments: Sequence[float] = ()) -> RateSample:
    """Both versions' events and requests at every look of the window; ``segments``: the times of
    the looks where a new split starts (`samples.segment_starts`)."""
    stable_events, stable_requests, candidate_events, candidate_requests = (
        ranges(answers, f"{name}/{role}") for role in (STABLE, CANDIDATE) for name in ("events", "requests")
    )
    return samples.rate_path(stable_events, stable_requests, candidate_events, candidate_requests, segments)


def histogram_path(sample: HistogramSample, answers: Answers, segments: Sequence[float]) -> HistogramSample:
    """``sample`` with both versions' buckets at every look behind it when the split changed
    within the window (``segments``), as `rate_path` for rates; ``sample`` itself otherwise."""
    if not segments:
        return sample
    stable, candidate = (ranges(answers, f"buckets/{role}") for role in (STABLE, CANDIDATE))
    return samples.histogram_path(sample, stable, candidate, segments)
