"""The operator's full judge on simulated rollouts: every metric together, Holm, vetoes, minSamples.

`analysis.judge` decides one interval from the metrics' results: a metric's Fail (its e-value at
``1/alpha`` or more) stands only if it survives Holm's correction over the deciding metrics'
Fail evidence (``p = 1/e``), except for critical metrics, which veto at their own alpha; a
metric short of ``minSamples`` candidate requests is Inconclusive and carries no evidence. This
module does the same for many runs and looks at once, on the log e-values of the analysis
package's own evidence functions, so the benchmark measures what the operator decides, not one
metric family alone. `tests/unit/benchmarks/test_stats_judge.py` checks it against
`assess_rate`, `assess_latency` and `judge` on sampled runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from modelrollout.analysis import Margin, latency_log_evidence, rate_log_evidence
from modelrollout.api.v1alpha1 import AnalysisSpec

from .rollouts import ERROR_MARGIN, LATENCY_MARGIN, RolloutCell
from .simulate import LATENCY_EDGES, Streams

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
Evidence = Callable[[Streams, int, int, tuple[int, ...]], FloatArray]
"""Fail log e-values of one metric over looks ``[start, stop)``, evidence counted from ``start``,
with the looks (relative to ``start``) where the traffic split changes inside the window."""


@dataclass(frozen=True)
class JudgeSpec:
    """The rollout's analysis: both metrics deciding, neither critical unless said."""

    alpha: float = 0.05
    min_samples: int = AnalysisSpec.model_fields["min_samples"].default
    """The operator's default, so the benchmark measures what a rollout gets without tuning."""
    latency_margin: Margin = field(default_factory=lambda: Margin(relative=LATENCY_MARGIN))
    error_margin: Margin = field(default_factory=lambda: Margin(absolute=ERROR_MARGIN))
    critical: tuple[bool, bool] = (False, False)
    """Per metric (latency, errors): a critical metric vetoes at its own alpha, outside Holm."""
    carry: bool = True
    """Evidence carried across the rollout's steps; False restarts it at every step."""


def _cumulative_from(per_interval: npt.NDArray[np.generic], start: int, stop: int) -> FloatArray:
    return np.asarray(np.cumsum(per_interval[:, start:stop], axis=1), dtype=np.float64)


def latency_fail(spec: JudgeSpec) -> Evidence:
    def evidence(streams: Streams, start: int, stop: int, segments: tuple[int, ...]) -> FloatArray:
        stable = _cumulative_from(streams.latency_stable, start, stop)
        candidate = _cumulative_from(streams.latency_candidate, start, stop)
        result = latency_log_evidence(
            np.asarray(LATENCY_EDGES[:-1]),
            np.cumsum(stable, axis=-1)[..., :-1],
            stable.sum(axis=-1),
            np.cumsum(candidate, axis=-1)[..., :-1],
            candidate.sum(axis=-1),
            spec.latency_margin,
            segments,
        )
        return result.fail_log_e

    return evidence


def error_fail(spec: JudgeSpec) -> Evidence:
    def evidence(streams: Streams, start: int, stop: int, segments: tuple[int, ...]) -> FloatArray:
        result = rate_log_evidence(
            _cumulative_from(streams.errors_stable, start, stop),
            _cumulative_from(streams.requests_stable, start, stop),
            _cumulative_from(streams.errors_candidate, start, stop),
            _cumulative_from(streams.requests_candidate, start, stop),
            spec.error_margin,
            spec.alpha,
            segments,
        )
        return result.fail_log_e

    return evidence


def windows(cell: RolloutCell, carry: bool) -> list[tuple[int, int]]:
    """The evidence windows: the whole rollout, or one per step."""
    if carry:
        return [(0, cell.looks)]
    starts = cell.step_starts()
    return list(zip(starts, (*starts[1:], cell.looks), strict=True))


def windowed(streams: Streams, cell: RolloutCell, carry: bool, evidence: Evidence) -> FloatArray:
    """One metric's fail log e-values at every look, computed window by window; a carried
    window counts each step at its own split (the steps' first looks are segment starts)."""
    segments = tuple(s for s in cell.step_starts() if s > 0) if carry else ()
    return np.concatenate([evidence(streams, a, b, segments) for a, b in windows(cell, carry)], axis=1)


def window_requests(streams: Streams, cell: RolloutCell, carry: bool) -> FloatArray:
    """Candidate requests inside the evidence window at each look (what minSamples counts)."""
    parts = [_cumulative_from(streams.requests_candidate, a, b) for a, b in windows(cell, carry)]
    return np.concatenate(parts, axis=1)


def holm_fails(fail_log_e: Sequence[FloatArray], tested: Sequence[BoolArray], spec: JudgeSpec) -> BoolArray:
    """Per element: whether the judge's verdict is Fail.

    Each metric's own verdict is Fail at ``log e >= log 1/alpha``; non-critical Fails then need
    Holm's adjusted ``p = 1/e`` at or under alpha, adjusted over the non-critical metrics with
    evidence (``tested``), as `analysis.judge` does.
    """
    threshold = -math.log(spec.alpha)
    stacked = np.stack([np.asarray(f, dtype=np.float64) for f in fail_log_e])
    has = np.stack([np.asarray(t, dtype=np.bool_) for t in tested])
    critical = np.asarray(spec.critical[: len(fail_log_e)], dtype=np.bool_).reshape(
        (-1,) + (1,) * (stacked.ndim - 1)
    )
    own_fail = has & (stacked >= threshold)
    in_holm = has & ~critical
    # p = min(1, 1/e) on the log scale; metrics outside Holm sort last and count for nothing.
    log_p = np.where(in_holm, -np.maximum(stacked, 0.0), np.inf)
    order = np.argsort(log_p, axis=0, kind="stable")
    sorted_log_p = np.take_along_axis(log_p, order, axis=0)
    count = in_holm.sum(axis=0)
    rank = np.arange(stacked.shape[0]).reshape((-1,) + (1,) * (stacked.ndim - 1))
    with np.errstate(invalid="ignore"):
        scaled = sorted_log_p + np.log(np.maximum(count - rank, 1))
    adjusted_sorted = np.maximum.accumulate(np.minimum(scaled, 0.0), axis=0)
    adjusted = np.empty_like(adjusted_sorted)
    np.put_along_axis(adjusted, order, adjusted_sorted, axis=0)
    survives = np.where(critical, True, adjusted <= math.log(spec.alpha) + 1e-12)
    return np.asarray((own_fail & survives).any(axis=0), dtype=np.bool_)


@dataclass(frozen=True)
class Judged:
    """Per run and look: the judge's Fail, and each family's Fail judged alone (at 1/alpha)."""

    fail: BoolArray
    alone: dict[str, BoolArray]
    fail_log_e: dict[str, FloatArray]


def judge_paths(
    streams: Streams, cell: RolloutCell, spec: JudgeSpec, fail_log_e: dict[str, FloatArray]
) -> Judged:
    """The full judge on given fail log e-values (ours or a reference's), with minSamples."""
    enough = window_requests(streams, cell, spec.carry) >= spec.min_samples
    names = ("latency", "errors")
    fail = holm_fails([fail_log_e[n] for n in names], [enough, enough], spec)
    threshold = -math.log(spec.alpha)
    alone = {n: np.asarray(enough & (fail_log_e[n] >= threshold), dtype=np.bool_) for n in names}
    return Judged(fail=fail, alone=alone, fail_log_e=fail_log_e)


def ours(streams: Streams, cell: RolloutCell, spec: JudgeSpec) -> Judged:
    """The operator's default analysis of both metrics, judged together at every look."""
    evidence = {
        "latency": windowed(streams, cell, spec.carry, latency_fail(spec)),
        "errors": windowed(streams, cell, spec.carry, error_fail(spec)),
    }
    return judge_paths(streams, cell, spec, evidence)
