"""The bandit's evidence: each version's pulls, rewards received and rewards of 1 from the
router's counters, summed over every interval of the bandit's step.

Each counter is read as the batched per-interval increase (`sum by (namespace, model, version)
(increase(...[interval]))`) that the other probes send, at every look from the step's first one;
their sum is the count since the bandit started. Nothing is kept in the operator: a restarted
operator reads the same numbers from Prometheus, and the policy's quadrature turns them into the
same weights. The router creates every version's counters at 0 once a bandit is configured, so a
counter is never first seen at a value `increase` would drop.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ..analysis import ArmCounts
from ..api.router_config import ROUTER_BANDIT_FEEDBACK, ROUTER_BANDIT_PULLS, ROUTER_BANDIT_REWARDS
from ..metrics import RangeQuery, RangeSeries
from ..metrics import queries as defaults
from .request import EvaluationRequest
from .slices import CANDIDATE, STABLE, Answers, Slice, ranges

__all__ = ["arm_counts", "bandit_slices"]

_COUNTERS = {
    "pulls": ROUTER_BANDIT_PULLS,
    "feedback": ROUTER_BANDIT_FEEDBACK,
    "rewards": ROUTER_BANDIT_REWARDS,
}
_PREFIX = "bandit-"


def bandit_slices(request: EvaluationRequest, window: RangeQuery) -> dict[str, Slice]:
    """The counters of both versions over `window` (the step's looks)."""
    versions = {STABLE: request.stable_version, CANDIDATE: request.candidate_version}
    slices = {}
    for name, series in _COUNTERS.items():
        query = replace(window, promql=defaults.grouped_increase(series, request.interval))
        for role, version in versions.items():
            labels = {"namespace": request.namespace, "model": request.model, "version": version}
            slices[f"{_PREFIX}{name}/{role}"] = Slice(query, labels)
    return slices


def arm_counts(request: EvaluationRequest, answers: Answers) -> tuple[ArmCounts, ...]:
    """Both versions' counts since the step started, the stable first. A version without a series
    (no router has counted it yet) has counted nothing."""
    arms = []
    for role, version in ((STABLE, request.stable_version), (CANDIDATE, request.candidate_version)):
        totals = {name: _total(ranges(answers, f"{_PREFIX}{name}/{role}")) for name in _COUNTERS}
        arms.append(ArmCounts(version, totals["pulls"], totals["feedback"], totals["rewards"]))
    return tuple(arms)


def _total(answer: list[RangeSeries]) -> float:
    values = [value for series in answer for _, value in series.points if math.isfinite(value)]
    return max(math.fsum(values), 0.0)
