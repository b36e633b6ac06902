"""Reference e-processes for the full-judge benchmark, each told the cell's true effect.

- The known-effect SPRT on the margin: per interval, the likelihood ratio of the true pair of
  distributions against the pair on the margin closest to it in Kullback-Leibler divergence at
  that interval's traffic split (the least favourable null a two-version test must hold at), so
  that a split that changes between steps changes the pair with it. By Wald and Wolfowitz no test
  holding its level there needs fewer requests on average.
- A one-sided normal-mixture mSPRT (Johari, Pekelis, Walsh) on the interval-by-interval estimate
  of the excess over the margin, with the true variances, whose half-normal mixing scale is
  chosen per cell from a grid to need the fewest requests on the very runs it is measured on:
  the best a single-scale mixture tuned to the true effect can do.

Both produce fail log e-values that go through the same judge as ours (Holm, minSamples, looks
and the same evidence windows).
"""

from __future__ import annotations

import itertools
import math
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import optimize

from modelrollout.analysis import gaussian_log_evidence

from .rollouts import ERROR_MARGIN, LATENCY_MARGIN, RolloutCell
from .simulate import BASE_ERROR_RATE, LATENCY_EDGES, Scenario, Streams, latency_bucket_probabilities

FloatArray = npt.NDArray[np.float64]

MIXING_SCALES: Final = tuple(float(2.0**k) for k in np.arange(-3, 3.5, 0.5))
"""Mixing scales tried for the tuned mSPRT, as multiples of the true excess over the margin."""


def _log_ratio(true: FloatArray, null: FloatArray) -> FloatArray:
    """Finite even where the null puts (numerically) no mass: far tails underflow to 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(true / np.maximum(null, 1e-300))
    return np.asarray(np.where(true > 0, ratio, 0.0), dtype=np.float64)


def _kl(true: FloatArray, null: FloatArray) -> float:
    return float(np.sum(true * _log_ratio(true, null)))


def _bernoulli(rate: float) -> FloatArray:
    return np.asarray([rate, 1 - rate], dtype=np.float64)


def _error_pair(scenario: Scenario, weight: float) -> tuple[FloatArray, FloatArray]:
    """Per-outcome log ratios (error, success) of each version at this split."""
    true_stable = _bernoulli(BASE_ERROR_RATE)
    true_candidate = _bernoulli(BASE_ERROR_RATE + scenario.error_increase)
    share = (1 - weight) / weight

    def distance(rate: float) -> float:
        return share * _kl(true_stable, _bernoulli(rate)) + _kl(
            true_candidate, _bernoulli(rate + ERROR_MARGIN)
        )

    bounds = (1e-9, 1 - ERROR_MARGIN - 1e-9)
    nearest = float(optimize.minimize_scalar(distance, bounds=bounds, method="bounded").x)
    return (
        _log_ratio(true_stable, _bernoulli(nearest)),
        _log_ratio(true_candidate, _bernoulli(nearest + ERROR_MARGIN)),
    )


def _latency_pair(scenario: Scenario, weight: float) -> tuple[FloatArray, FloatArray]:
    """Per-bucket log ratios of each version at this split (the stable's median is the nuisance)."""
    true_stable = latency_bucket_probabilities(1.0)
    true_candidate = latency_bucket_probabilities(scenario.latency_scale)
    share = (1 - weight) / weight
    null_scale = 1 + LATENCY_MARGIN

    def distance(log_scale: float) -> float:
        scale = math.exp(log_scale)
        return share * _kl(true_stable, latency_bucket_probabilities(scale)) + _kl(
            true_candidate, latency_bucket_probabilities(scale * null_scale)
        )

    bounds = (-1.0, math.log(scenario.latency_scale) + 1.0)
    nearest = math.exp(float(optimize.minimize_scalar(distance, bounds=bounds, method="bounded").x))
    return (
        _log_ratio(true_stable, latency_bucket_probabilities(nearest)),
        _log_ratio(true_candidate, latency_bucket_probabilities(nearest * null_scale)),
    )


def _restart(per_interval: FloatArray, starts: list[int]) -> FloatArray:
    """Cumulative sums along the looks that restart at every window start."""
    out = np.empty_like(per_interval)
    bounds = [*starts, per_interval.shape[1]]
    for a, b in itertools.pairwise(bounds):
        out[:, a:b] = np.cumsum(per_interval[:, a:b], axis=1)
    return out


def sprt(streams: Streams, cell: RolloutCell, scenario: Scenario, starts: list[int]) -> FloatArray:
    """The known-effect SPRT's log likelihood ratio for the scenario's family, per look."""
    weights = cell.weight_per_look()
    per_interval = np.zeros(streams.requests_stable.shape)
    for weight in np.unique(weights):
        at = weights == weight
        if scenario.family == "errors":
            stable, candidate = _error_pair(scenario, float(weight))
            x_s, x_c = streams.errors_stable[:, at], streams.errors_candidate[:, at]
            per_interval[:, at] = (
                x_s * stable[0]
                + (streams.requests_stable[:, at] - x_s) * stable[1]
                + x_c * candidate[0]
                + (streams.requests_candidate[:, at] - x_c) * candidate[1]
            )
        else:
            stable, candidate = _latency_pair(scenario, float(weight))
            per_interval[:, at] = (
                streams.latency_stable[:, at] @ stable + streams.latency_candidate[:, at] @ candidate
            )
    return _restart(per_interval, starts)


def _binned_log_latency() -> FloatArray:
    """Each bucket's representative log latency (its geometric middle; the last finite edge
    doubled for +Inf, the first halved below)."""
    edges = np.asarray(LATENCY_EDGES[:-1])
    lower = np.concatenate(([edges[0] / 2], edges))
    upper = np.concatenate((edges, [edges[-1] * 2]))
    return np.asarray(0.5 * (np.log(lower) + np.log(upper)), dtype=np.float64)


def _moments(probabilities: FloatArray, values: FloatArray) -> tuple[float, float]:
    mean = float(probabilities @ values)
    return mean, float(probabilities @ (values - mean) ** 2)


def excess_paths(
    streams: Streams, scenario: Scenario, starts: list[int]
) -> tuple[FloatArray, FloatArray, float]:
    """Precision-weighted excess over the margin and its variance per look, and the true excess.

    Each interval's estimate (candidate less stable, less the margin) is weighted by its inverse
    true variance, so a split that changes between intervals is accounted for interval by
    interval; intervals where a version served nothing weigh nothing.
    """
    if scenario.family == "errors":
        p_s, p_c = BASE_ERROR_RATE, BASE_ERROR_RATE + scenario.error_increase
        n_s, n_c = streams.requests_stable.astype(float), streams.requests_candidate.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = streams.errors_candidate / n_c - streams.errors_stable / n_s - ERROR_MARGIN
            variance = p_s * (1 - p_s) / n_s + p_c * (1 - p_c) / n_c
        true_excess = scenario.error_increase - ERROR_MARGIN
    else:
        values = _binned_log_latency()
        mean_s, var_s = _moments(latency_bucket_probabilities(1.0), values)
        mean_c, var_c = _moments(latency_bucket_probabilities(scenario.latency_scale), values)
        allowed = _moments(latency_bucket_probabilities(1 + LATENCY_MARGIN), values)[0] - mean_s
        n_s = streams.latency_stable.sum(axis=-1).astype(float)
        n_c = streams.latency_candidate.sum(axis=-1).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = (
                streams.latency_candidate @ values / n_c - streams.latency_stable @ values / n_s - allowed
            )
            variance = var_s / n_s + var_c / n_c
        true_excess = mean_c - mean_s - allowed
    usable = (n_s > 0) & (n_c > 0)
    precision = np.where(usable, 1 / np.where(usable, variance, 1.0), 0.0)
    weighted = np.where(usable, estimate, 0.0) * precision
    total_precision = _restart(precision, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = _restart(weighted, starts) / total_precision
        path_variance = 1 / total_precision
    return np.asarray(mean), np.asarray(path_variance), float(true_excess)


def msprt(mean: FloatArray, variance: FloatArray, scale: float) -> FloatArray:
    """The one-sided normal-mixture mSPRT's log e-value (0 before any data)."""
    return np.asarray(gaussian_log_evidence(mean, variance, scale, "greater"), dtype=np.float64)
