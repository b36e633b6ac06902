"""This project's sequential method and the oracle SPRT, on simulated streams.

Both call the analysis package's own vectorised evidence functions, so the benchmark measures the
code the operator runs, not a re-implementation of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from modelrollout.analysis import (
    Margin,
    corrected_distances,
    drift_bounds,
    latency_log_evidence,
    rate_log_evidence,
)
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
    lower, _ = drift_bounds(
        spec.drift_statistic, PREDICTION_EDGES, stable_predictions, candidate_predictions, spec.alpha
    )
    over = np.where(enough & (distance > spec.drift_limit) & (lower > 0), 1.0, 0.0)
    return _decide(over, None, 0.5)


def _sprt(log_likelihood_ratio: FloatArray, alpha: float) -> Decisions:
    """Wald's test stops for Fail when the likelihood ratio reaches 1/alpha."""
    return _decide(np.asarray(log_likelihood_ratio, dtype=np.float64), None, -math.log(alpha))


def oracle_stable_known(streams: Streams, scenario: Scenario, spec: RolloutSpec) -> Decisions | None:
    """Wald's SPRT knowing every true distribution, the stable's included, on the candidate alone.

    The likelihood ratio of the true candidate distribution against the one exactly at the margin
    from the true stable (errors: binomial at ``p_s + effect`` against ``p_s + margin``; latency:
    the candidate's bucket counts under the true scale against the margin's scale). It answers an
    easier question than any comparison of two versions can (the stable's behaviour is given, not
    measured), so it is a lower bound no two-sample test reaches; see :func:`oracle` for the one
    that is. Undefined for A/A, for effects inside the margin, and for drift.
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
        per_bucket = _log_ratio(
            latency_bucket_probabilities(scenario.latency_scale), latency_bucket_probabilities(null_scale)
        )
        return _sprt(cumulative(streams.latency_candidate) @ per_bucket, spec.alpha)
    return None


def _log_ratio(true: FloatArray, null: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(true > 0, np.log(true / null), 0.0), dtype=np.float64)


def _kl(true: FloatArray, null: FloatArray) -> float:
    return float(np.sum(true * _log_ratio(true, null)))


def _bernoulli(rate: float) -> FloatArray:
    return np.asarray([rate, 1 - rate], dtype=np.float64)


def oracle(streams: Streams, scenario: Scenario, spec: RolloutSpec, weight: float) -> Decisions | None:
    """Wald's SPRT knowing the true distributions, on both versions' data: the optimum.

    A test that compares two versions must stay below alpha at every pair of distributions on
    the margin, the stable's included, since it does not know the stable's. So it is in
    particular a test against the pair on the margin closest (in Kullback-Leibler divergence per
    interval, with the canary weight's split of traffic) to the truth, the least favourable
    null; by Wald and Wolfowitz's optimality no test with the same error rates needs fewer
    requests on average than the SPRT of the truth against that pair, on the same data. Pairs
    searched: errors, a stable rate ``p`` with the candidate at ``p + margin``; latency, the
    stable's log-normal shape at any median with the candidate ``1 + margin`` times slower. The
    true least favourable pair over all distributions can only be closer still, so this bound is
    conservative (it makes the oracle faster, never slower). Undefined where
    :func:`oracle_stable_known` is.
    """
    stable_share = (1 - weight) / weight
    if scenario.family == "errors" and spec.error_margin.absolute is not None:
        margin = spec.error_margin.absolute
        true_stable = _bernoulli(BASE_ERROR_RATE)
        true_candidate = _bernoulli(BASE_ERROR_RATE + scenario.error_increase)
        if scenario.error_increase <= margin:
            return None

        def distance(rate: float) -> float:
            return stable_share * _kl(true_stable, _bernoulli(rate)) + _kl(
                true_candidate, _bernoulli(rate + margin)
            )

        nearest = float(
            optimize.minimize_scalar(distance, bounds=(1e-9, 1 - margin - 1e-9), method="bounded").x
        )
        per_stable = _log_ratio(true_stable, _bernoulli(nearest))
        per_candidate = _log_ratio(true_candidate, _bernoulli(nearest + margin))
        stable_errors = cumulative(streams.errors_stable)
        candidate_errors = cumulative(streams.errors_candidate)
        log_lr = (
            stable_errors * per_stable[0]
            + (cumulative(streams.requests_stable) - stable_errors) * per_stable[1]
            + candidate_errors * per_candidate[0]
            + (cumulative(streams.requests_candidate) - candidate_errors) * per_candidate[1]
        )
        return _sprt(log_lr, spec.alpha)
    if scenario.family == "latency" and spec.latency_margin.relative is not None:
        null_scale = 1 + spec.latency_margin.relative
        if scenario.latency_scale <= null_scale:
            return None
        true_stable = latency_bucket_probabilities(1.0)
        true_candidate = latency_bucket_probabilities(scenario.latency_scale)

        def latency_distance(log_scale: float) -> float:
            scale = math.exp(log_scale)
            return stable_share * _kl(true_stable, latency_bucket_probabilities(scale)) + _kl(
                true_candidate, latency_bucket_probabilities(scale * null_scale)
            )

        bounds = (-1.0, math.log(scenario.latency_scale) + 1.0)
        nearest_scale = math.exp(
            float(optimize.minimize_scalar(latency_distance, bounds=bounds, method="bounded").x)
        )
        per_stable = _log_ratio(true_stable, latency_bucket_probabilities(nearest_scale))
        per_candidate = _log_ratio(true_candidate, latency_bucket_probabilities(nearest_scale * null_scale))
        log_lr = (
            cumulative(streams.latency_stable) @ per_stable
            + cumulative(streams.latency_candidate) @ per_candidate
        )
        return _sprt(log_lr, spec.alpha)
    return None
