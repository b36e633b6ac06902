"""This project's sequential method and the oracle SPRT, on simulated streams.

Both call the analysis package's own vectorised evidence functions, so the benchmark measures the
code the operator runs, not a re-implementation of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from modelrollout.analysis.drift import corrected_distances
from modelrollout.analysis.evidence import null_share
from modelrollout.analysis.latency import latency_log_evidence
from modelrollout.analysis.rates import rate_log_evidence
from modelrollout.analysis.types import Margin
from modelrollout.api.v1alpha1 import DriftStatistic

from .simulate import (
    BASE_ERROR_RATE,
    BASE_MEDIAN_LATENCY,
    LATENCY_EDGES,
    LATENCY_LOG_SD,
    PREDICTION_EDGES,
    Family,
    Scenario,
    Streams,
)
from .windows import NEVER, FloatArray, IntArray, cumulative, first_look


@dataclass(frozen=True)
class RolloutSpec:
    """The rollout every method is asked to protect: the spec's margins and alpha."""

    alpha: float = 0.05
    latency_margin: Margin = field(default_factory=lambda: Margin(relative=0.10))
    error_margin: Margin = field(default_factory=lambda: Margin(absolute=0.005))
    drift_statistic: DriftStatistic = DriftStatistic.PSI
    drift_limit: float = 0.2
    drift_min_count: int = 200


@dataclass(frozen=True)
class Decisions:
    """Per run: the look at which the method rolled back, and (sequential only) passed."""

    rollback: IntArray
    passed: IntArray


def _decide(fail: FloatArray, passing: FloatArray | None, log_threshold: float) -> Decisions:
    fail_look = first_look(fail >= log_threshold)
    if passing is None:
        return Decisions(rollback=fail_look, passed=np.full_like(fail_look, NEVER))
    pass_look = first_look(passing >= log_threshold)
    failed_first = (fail_look != NEVER) & ((pass_look == NEVER) | (fail_look < pass_look))
    passed_first = (pass_look != NEVER) & ~failed_first
    return Decisions(
        rollback=np.where(failed_first, fail_look, NEVER),
        passed=np.where(passed_first, pass_look, NEVER),
    )


def latency_cumulative_by_edge(buckets: FloatArray) -> FloatArray:
    """Per-bucket counts to Prometheus' cumulative-per-edge counts (finite edges only)."""
    return np.asarray(np.cumsum(buckets, axis=-1)[..., :-1], dtype=np.float64)


def ours(streams: Streams, family: Family, spec: RolloutSpec) -> Decisions:
    """The operator's default method: stop at the first Fail or Pass, looking every interval."""
    if family == "errors":
        evidence = rate_log_evidence(
            cumulative(streams.errors_stable),
            cumulative(streams.requests_stable),
            cumulative(streams.errors_candidate),
            cumulative(streams.requests_candidate),
            spec.error_margin,
            spec.alpha,
        )
        return _decide(evidence.fail_log_e, evidence.pass_log_e, evidence.log_threshold)
    if family == "latency":
        stable = cumulative(streams.latency_stable)
        candidate = cumulative(streams.latency_candidate)
        latency = latency_log_evidence(
            np.asarray(LATENCY_EDGES[:-1]),
            latency_cumulative_by_edge(stable),
            stable.sum(axis=-1),
            latency_cumulative_by_edge(candidate),
            candidate.sum(axis=-1),
            spec.latency_margin,
        )
        return _decide(latency.fail_log_e, latency.pass_log_e, -math.log(spec.alpha))
    stable_predictions = cumulative(streams.predictions_stable)
    candidate_predictions = cumulative(streams.predictions_candidate)
    distance = corrected_distances(
        spec.drift_statistic, PREDICTION_EDGES, stable_predictions, candidate_predictions
    )
    enough = (stable_predictions.sum(axis=-1) >= spec.drift_min_count) & (
        candidate_predictions.sum(axis=-1) >= spec.drift_min_count
    )
    over = np.where(enough & (distance > spec.drift_limit), 1.0, 0.0)
    return _decide(over, None, 0.5)


def _true_slow_share(edge: float, scale: float) -> float:
    z = (math.log(edge) - math.log(BASE_MEDIAN_LATENCY * scale)) / LATENCY_LOG_SD
    return float(stats.norm.sf(z))


def _sprt(
    slow_candidate: FloatArray,
    slow_total: FloatArray,
    candidate_exposure: FloatArray,
    stable_exposure: FloatArray,
    null_ratio: float,
    true_ratio: float,
    alpha: float,
) -> Decisions:
    """Wald's SPRT of the conditional binomial: the margin's ratio against the true one."""
    theta0 = null_share(null_ratio, candidate_exposure, stable_exposure)
    theta1 = null_share(true_ratio, candidate_exposure, stable_exposure)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_lr = slow_candidate * np.log(theta1 / theta0) + (slow_total - slow_candidate) * np.log(
            (1 - theta1) / (1 - theta0)
        )
    log_lr = np.where(slow_total > 0, log_lr, 0.0)
    return _decide(np.asarray(log_lr, dtype=np.float64), None, -math.log(alpha))


def _oracle_edge(scale: float, margin: float, weight: float) -> tuple[int, float, float]:
    """The edge whose slow-request count separates margin and truth fastest (true KL per request)."""
    best: tuple[float, int, float, float] | None = None
    for index, edge in enumerate(LATENCY_EDGES[:-1]):
        stable_share = _true_slow_share(edge, 1.0)
        if stable_share <= 1e-9:
            continue
        null_ratio = _true_slow_share(edge, 1 + margin) / stable_share
        true_ratio = _true_slow_share(edge, scale) / stable_share
        theta0 = null_ratio * weight / (null_ratio * weight + 1 - weight)
        theta1 = true_ratio * weight / (true_ratio * weight + 1 - weight)
        events_per_request = stable_share * (1 - weight) + stable_share * true_ratio * weight
        divergence = theta1 * math.log(theta1 / theta0) + (1 - theta1) * math.log((1 - theta1) / (1 - theta0))
        rate = events_per_request * divergence
        if best is None or rate > best[0]:
            best = (rate, index, null_ratio, true_ratio)
    assert best is not None
    return best[1], best[2], best[3]


def oracle(streams: Streams, scenario: Scenario, spec: RolloutSpec, weight: float) -> Decisions | None:
    """Wald's SPRT knowing the true effect and base rates; None where it is undefined.

    It tests the same non-inferiority boundary as our method (the margin) against the true
    alternative, on the same conditional-binomial counts, so it is the fastest any test of that
    question can be on these streams. Undefined for A/A, for effects inside the margin (there is
    nothing to detect) and for drift (the limit is not a point hypothesis).
    """
    if scenario.family == "errors" and spec.error_margin.absolute is not None:
        null_ratio = 1 + spec.error_margin.absolute / BASE_ERROR_RATE
        true_ratio = 1 + scenario.error_increase / BASE_ERROR_RATE
        if true_ratio <= null_ratio:
            return None
        errors_candidate = cumulative(streams.errors_candidate)
        return _sprt(
            errors_candidate,
            errors_candidate + cumulative(streams.errors_stable),
            cumulative(streams.requests_candidate),
            cumulative(streams.requests_stable),
            null_ratio,
            true_ratio,
            spec.alpha,
        )
    if scenario.family == "latency" and spec.latency_margin.relative is not None:
        if scenario.latency_scale <= 1 + spec.latency_margin.relative:
            return None
        index, null_ratio, true_ratio = _oracle_edge(
            scenario.latency_scale, spec.latency_margin.relative, weight
        )
        stable = latency_cumulative_by_edge(cumulative(streams.latency_stable))
        candidate = latency_cumulative_by_edge(cumulative(streams.latency_candidate))
        stable_total = cumulative(streams.requests_stable)
        candidate_total = cumulative(streams.requests_candidate)
        slow_candidate = candidate_total - candidate[..., index]
        slow_stable = stable_total - stable[..., index]
        return _sprt(
            slow_candidate,
            slow_candidate + slow_stable,
            candidate_total,
            stable_total,
            null_ratio,
            true_ratio,
            spec.alpha,
        )
    return None
