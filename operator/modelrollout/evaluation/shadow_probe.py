"""A Shadow rollout's analysis: the candidate judged on the copies of users' requests.

The candidate answers no user, so it has no served series. Two things follow:

* the user's metrics (latency, errorRate, ...) read the candidate from the router's shadow series
  and the stable from its served ones, for the same window: every candidate slice of a probe has
  its query's router series swapped for the shadow twin (`as_shadow`), a dropped copy (over the
  router's concurrency cap, never sent) left out of the requests; a check that a series exists for
  the model accepts either twin. A query of the user's own is swapped the same way wherever it
  names the router's served series;
* two comparisons are added, from the router's counts of each compared copy: the share of
  requests whose classes agree with the stable's (`modelrollout_router_shadow_agreements_total`,
  `agree="true|false"`) and the mean absolute score difference (the histogram
  `modelrollout_router_shadow_prediction_difference`), each against its margin in
  `spec.strategy.shadow`. Their series exist once the router has compared a first copy, so their
  absence is no comparison yet (Inconclusive), never a misnamed series.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..analysis import MetricTest
from ..analysis.assess.shadow import assess_agreement, assess_score_difference
from ..api.router_config import (
    ROUTER_LATENCY,
    ROUTER_REQUESTS,
    ROUTER_SHADOW_AGREEMENT,
    ROUTER_SHADOW_DIFFERENCE,
    ROUTER_SHADOW_LATENCY,
    ROUTER_SHADOW_REQUESTS,
)
from ..api.v1alpha1 import (
    AGREEMENT_METRIC,
    SCORE_DIFFERENCE_METRIC,
    MetricSpec,
    MetricType,
    ModelRolloutSpec,
    StrategyType,
)
from ..metrics import RangeQuery
from ..metrics import queries as defaults
from . import samples
from .slices import CANDIDATE, Answers, Probe, Slice, inconclusive, ranges

if TYPE_CHECKING:
    from .probes import Planner

__all__ = ["ShadowComparison", "as_shadow", "shadow_comparison", "shadow_probes"]


@dataclass(frozen=True)
class ShadowComparison:
    """The margins of a Shadow rollout's comparison (`spec.strategy.shadow`)."""

    min_agreement: float
    """Least share of compared requests whose classes agree; 0: shown, never deciding."""
    max_score_difference: float
    """Largest mean absolute score difference; 1: shown, never deciding."""


def shadow_comparison(spec: ModelRolloutSpec) -> ShadowComparison | None:
    """The comparison a spec asks for, None unless it is a Shadow rollout."""
    shadow = spec.strategy.shadow
    if spec.strategy.type != StrategyType.SHADOW or shadow is None:
        return None
    return ShadowComparison(shadow.min_agreement, shadow.max_score_difference)


_QUOTED = r'"(?:[^"\\]|\\.)*"'
_MATCHERS = rf"(?:\{{(?:[^}}\"]|{_QUOTED})*\}})?"
_SERVED_LATENCY = re.compile(rf"\b{ROUTER_LATENCY}(?=_bucket|_sum|_count)")
_SERVED_REQUESTS = re.compile(rf"\b{ROUTER_REQUESTS}\b({_MATCHERS})")
_NOT_DROPPED = 'outcome!="dropped"'


def _shadow_requests(match: re.Match[str]) -> str:
    matchers = match.group(1)
    inner = matchers[1:-1].strip() if matchers else ""
    return f"{ROUTER_SHADOW_REQUESTS}{{{inner + ', ' if inner else ''}{_NOT_DROPPED}}}"


def as_shadow(promql: str) -> str:
    """`promql` reading the router's shadow series where it reads its served ones."""
    return _SERVED_REQUESTS.sub(_shadow_requests, _SERVED_LATENCY.sub(ROUTER_SHADOW_LATENCY, promql))


def _swapped(piece: Slice, presence: bool) -> Slice:
    query = piece.query
    shadow = as_shadow(query.promql)
    if shadow == query.promql:
        return piece
    if presence:  # either twin proves the name right
        return replace(piece, query=replace(query, promql=f"{query.promql} or {shadow}"))
    return replace(piece, query=replace(query, promql=shadow))


def _on_copies(probe: Probe) -> Probe:
    """`probe` reading the candidate from the shadow series."""
    slices = {
        name: _swapped(piece, presence=True)
        if name.startswith("present/")
        else _swapped(piece, presence=False)
        if name.endswith(f"/{CANDIDATE}")
        else piece
        for name, piece in probe.slices.items()
    }
    return replace(probe, slices=slices)


def _metric(name: str, deciding: bool) -> MetricSpec:
    """The spec the comparison is judged under: not the user's, so built without validation
    (its type only says it is not a goal)."""
    return MetricSpec.model_construct(name=name, type=MetricType.CUSTOM, dry_run=not deciding)


def shadow_probes(planner: Planner, probes: list[Probe], comparison: ShadowComparison) -> list[Probe]:
    """`probes` on the candidate's copies, and the two comparisons after them."""
    candidate = planner.labels(CANDIDATE)
    config = planner.config(_metric(AGREEMENT_METRIC, True))

    def grouped(series: str) -> Slice:
        query: RangeQuery = planner.range_query(defaults.grouped_increase(series, planner.interval))
        return Slice(query, candidate)

    agreement_slices = {
        "compared": grouped(ROUTER_SHADOW_AGREEMENT),
        "disagreed": grouped(f'{ROUTER_SHADOW_AGREEMENT}{{agree="false"}}'),
    }

    def agreement(answers: Answers) -> MetricTest:
        compared = samples.total(ranges(answers, "compared"))
        if compared is None:
            return _no_comparison("requests")
        disagreed = samples.total(ranges(answers, "disagreed")) or 0.0
        return assess_agreement(compared - disagreed, compared, comparison.min_agreement, config)

    difference_slices = {
        "buckets": Slice(
            planner.range_query(defaults.histogram_buckets(ROUTER_SHADOW_DIFFERENCE, planner.interval)),
            candidate,
        ),
        "sum": grouped(f"{ROUTER_SHADOW_DIFFERENCE}_sum"),
    }

    def score_difference(answers: Answers) -> MetricTest:
        buckets = samples.bucket_totals(ranges(answers, "buckets"))
        if not buckets:
            return _no_comparison("scores")
        edges = sorted(buckets)
        cumulative = [buckets[edge] for edge in edges]
        total = samples.total(ranges(answers, "sum"))
        return assess_score_difference(edges, cumulative, total, comparison.max_score_difference, config)

    agreeing = comparison.min_agreement > 0
    bounded = comparison.max_score_difference < 1
    return [
        *(_on_copies(probe) for probe in probes),
        Probe(_metric(AGREEMENT_METRIC, agreeing), agreement, agreement_slices),
        Probe(_metric(SCORE_DIFFERENCE_METRIC, bounded), score_difference, difference_slices),
    ]


def _no_comparison(what: str) -> MetricTest:
    return inconclusive(
        "shadow comparison",
        f"No compared {what} yet: the router compares a copy's answer with the user's once both "
        "hold predictions it reads (scores, with or without classes).",
    )
