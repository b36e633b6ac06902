"""This project's sequential method and the oracle SPRT, on simulated streams.

Both call the analysis package's own vectorised evidence functions, so the benchmark measures the
code the operator runs, not a re-implementation of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from modelrollout.analysis.drift import corrected_distances
from modelrollout.analysis.latency_evidence import latency_log_evidence
from modelrollout.analysis.rates import rate_log_evidence
from modelrollout.analysis.types import Margin
from modelrollout.api.v1alpha1 import DriftStatistic

from .simulate import (
    BASE_ERROR_RATE,
    LATENCY_EDGES,
    PREDICTION_EDGES,
    Family,
    Scenario,
    Streams,
    latency_bucket_probabilities,
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


def _sprt(log_likelihood_ratio: FloatArray, alpha: float) -> Decisions:
    """Wald's test stops for Fail when the likelihood ratio reaches 1/alpha."""
    return _decide(np.asarray(log_likelihood_ratio, dtype=np.float64), None, -math.log(alpha))


def oracle(streams: Streams, scenario: Scenario, spec: RolloutSpec) -> Decisions | None:
    """Wald's SPRT knowing every true distribution: the fastest any test can be on these streams.

    Knowing the stable's behaviour exactly, the oracle needs only the candidate's data: the
    likelihood ratio of the true candidate distribution against the one exactly at the margin
    (errors: binomial at ``p_s + effect`` against ``p_s + margin``; latency: the candidate's
    bucket counts under the true scale against the margin's scale). It tests the same boundary as
    our method, so the gap between them is the price of not knowing the stable and the effect.
    Undefined for A/A, for effects inside the margin, and for drift (the limit is not a point).
    """
    if scenario.family == "errors" and spec.error_margin.absolute is not None:
        null_rate = BASE_ERROR_RATE + spec.error_margin.absolute
        true_rate = BASE_ERROR_RATE + scenario.error_increase
        if true_rate <= null_rate:
            return None
        errors = cumulative(streams.errors_candidate)
        fine = cumulative(streams.requests_candidate) - errors
        log_lr = errors * math.log(true_rate / null_rate) + fine * math.log((1 - true_rate) / (1 - null_rate))
        return _sprt(log_lr, spec.alpha)
    if scenario.family == "latency" and spec.latency_margin.relative is not None:
        null_scale = 1 + spec.latency_margin.relative
        if scenario.latency_scale <= null_scale:
            return None
        true_probabilities = latency_bucket_probabilities(scenario.latency_scale)
        null_probabilities = latency_bucket_probabilities(null_scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_bucket = np.where(
                true_probabilities > 0, np.log(true_probabilities / null_probabilities), 0.0
            )
        return _sprt(cumulative(streams.latency_candidate) @ per_bucket, spec.alpha)
    return None
