"""What Argo Rollouts, Flagger and Kayenta users run today, and naive peeking, as alarm series.

Every baseline becomes an *alarm* per run and look (a higher value is more alarming; NaN means no
check, e.g. an empty window) and a number ``k`` of alarms above a threshold that triggers a
rollback. Tuning then picks the threshold from A/A runs, and the rollback look follows. This
covers all of them:

* naive peeking: a fixed-horizon non-inferiority test on the cumulative data every interval,
  alarm ``-log10 p``, ``k = 1``;
* Flagger: the candidate's metric over a one-minute window against a threshold, rollback after
  ``threshold`` (5) failed checks;
* Argo Rollouts: the candidate's metric over one interval, ``failureLimit`` 0 or 3, i.e. rollback
  on the 1st or the 4th failed measurement;
* Kayenta: a Mann-Whitney judge of the per-interval metric series of both versions since the
  start, failing when the candidate is significantly worse *and* the change exceeds the margin.

Empty windows are skipped, not counted as failures: more generous than Flagger's default, which
treats "no values" as a failed check.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import stats

from modelrollout.analysis import binned_margin, bucket_representatives, drift_distances

from .methods import RolloutSpec
from .simulate import LATENCY_EDGES, PREDICTION_EDGES, Family, Streams
from .windows import BoolArray, FloatArray, cumulative, histogram_quantile, windowed

FLAGGER_FAILED_CHECKS: Final = 5
FLAGGER_WINDOW_INTERVALS: Final = 2
"""One minute at the 30-second analysis interval."""
KAYENTA_MIN_POINTS: Final = 3
LOG10: Final = math.log(10)


@dataclass(frozen=True)
class Alarm:
    values: FloatArray
    """Shape (runs, looks); NaN where no check happened."""
    failures_to_rollback: int
    most_sensitive: float = -math.inf
    """Tuning never goes below this threshold: a test never runs at a level looser than the
    spec's alpha (-log10 alpha), however far inside the null the A/A runs stay."""


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(denominator > 0, numerator / denominator, np.nan), dtype=np.float64)


def _candidate_metric(streams: Streams, family: Family, intervals: int) -> FloatArray:
    """The candidate-only value a threshold rule checks over a window of ``intervals``."""
    if family == "errors":
        return _ratio(
            windowed(streams.errors_candidate, intervals), windowed(streams.requests_candidate, intervals)
        )
    if family == "latency":
        return histogram_quantile(windowed(streams.latency_candidate, intervals), 0.99)
    return drift_distances(
        RolloutSpec().drift_statistic,
        PREDICTION_EDGES,
        windowed(streams.predictions_stable, intervals),
        windowed(streams.predictions_candidate, intervals),
    )


def flagger(streams: Streams, family: Family) -> Alarm:
    return Alarm(_candidate_metric(streams, family, FLAGGER_WINDOW_INTERVALS), FLAGGER_FAILED_CHECKS)


def argo(streams: Streams, family: Family, failure_limit: int) -> Alarm:
    return Alarm(_candidate_metric(streams, family, 1), failure_limit + 1)


def _weighted_log_latency(buckets: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Count, mean and variance of log latency with each bucket at its representative."""
    values = np.log(bucket_representatives(LATENCY_EDGES))
    count = buckets.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (buckets * values).sum(axis=-1) / count
        variance = (buckets * (values - mean[..., None]) ** 2).sum(axis=-1) / (count - 1)
    return count, mean, variance


def _g_test_log10_p(stable: FloatArray, candidate: FloatArray) -> FloatArray:
    observed = np.stack([stable, candidate], axis=-2)
    totals = observed.sum(axis=(-2, -1), keepdims=True)
    expected = observed.sum(axis=-1, keepdims=True) * observed.sum(axis=-2, keepdims=True) / totals
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(observed > 0, observed * np.log(observed / expected), 0.0)
    statistic = 2 * terms.sum(axis=(-2, -1))
    df = np.maximum(((stable + candidate) > 0).sum(axis=-1) - 1, 1)
    return np.asarray(-stats.chi2.logsf(statistic, df) / LOG10, dtype=np.float64)


def naive_peeking(streams: Streams, family: Family, spec: RolloutSpec) -> Alarm:
    """The `fixed` method's test run at every look on the cumulative data (alarm -log10 p)."""
    if family == "errors":
        n_s, n_c = cumulative(streams.requests_stable), cumulative(streams.requests_candidate)
        p_s = _ratio(cumulative(streams.errors_stable), n_s)
        p_c = _ratio(cumulative(streams.errors_candidate), n_c)
        margin = spec.error_margin.absolute or 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            error = np.sqrt(p_c * (1 - p_c) / n_c + p_s * (1 - p_s) / n_s)
            z = np.where(error > 0, (p_c - p_s - margin) / error, np.nan)
        return Alarm(np.asarray(-stats.norm.logsf(z) / LOG10, dtype=np.float64), 1, -math.log10(spec.alpha))
    if family == "latency":
        n_s, mean_s, var_s = _weighted_log_latency(cumulative(streams.latency_stable))
        n_c, mean_c, var_c = _weighted_log_latency(cumulative(streams.latency_candidate))
        stable = cumulative(streams.latency_stable)
        allowed = binned_margin(
            np.asarray(LATENCY_EDGES[:-1]),
            np.cumsum(stable, axis=-1)[..., :-1],
            stable.sum(axis=-1),
            spec.latency_margin,
            np.log(bucket_representatives(LATENCY_EDGES)),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            se_s, se_c = var_s / n_s, var_c / n_c
            t = (mean_c - mean_s - allowed) / np.sqrt(se_s + se_c)
            df = (se_s + se_c) ** 2 / (se_s**2 / (n_s - 1) + se_c**2 / (n_c - 1))
        valid = (n_c > 1) & (n_s > 1) & np.isfinite(t) & np.isfinite(df)
        log_p = stats.t.logsf(np.where(valid, t, 0.0), np.where(valid, df, 1.0))
        return Alarm(
            np.asarray(np.where(valid, -log_p / LOG10, np.nan), dtype=np.float64), 1, -math.log10(spec.alpha)
        )
    stable, candidate = cumulative(streams.predictions_stable), cumulative(streams.predictions_candidate)
    valid = (stable.sum(axis=-1) > 0) & (candidate.sum(axis=-1) > 0)
    return Alarm(np.where(valid, _g_test_log10_p(stable, candidate), np.nan), 1, -math.log10(spec.alpha))


def _interval_series(streams: Streams, family: Family) -> tuple[FloatArray, FloatArray]:
    """Per-interval metric values of each version: Kayenta's time series (NaN when empty)."""
    if family == "errors":
        return (
            _ratio(
                streams.errors_candidate.astype(np.float64), streams.requests_candidate.astype(np.float64)
            ),
            _ratio(streams.errors_stable.astype(np.float64), streams.requests_stable.astype(np.float64)),
        )
    if family == "latency":
        return (
            histogram_quantile(streams.latency_candidate.astype(np.float64), 0.95),
            histogram_quantile(streams.latency_stable.astype(np.float64), 0.95),
        )
    points = np.concatenate((np.asarray(PREDICTION_EDGES[:-1]), [PREDICTION_EDGES[-2] + 0.25]))
    centres = points - 0.25
    return (
        _ratio(
            (streams.predictions_candidate * centres).sum(axis=-1), streams.predictions_candidate.sum(axis=-1)
        ),
        _ratio((streams.predictions_stable * centres).sum(axis=-1), streams.predictions_stable.sum(axis=-1)),
    )


def _tie_term(values: FloatArray) -> FloatArray:
    """Sum of ``g**3 - g`` over groups of equal values in each row (NaN ignored)."""
    ordered = np.sort(values, axis=1)
    rows, width = ordered.shape
    valid = ~np.isnan(ordered)
    starts = np.ones_like(valid)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    group = np.cumsum(starts, axis=1) + (np.arange(rows) * (width + 1))[:, None]
    sizes = np.bincount(group[valid], minlength=rows * (width + 1) + width + 1).astype(np.float64)
    per_group = sizes**3 - sizes
    owner = np.arange(per_group.size) // (width + 1)
    return np.asarray(np.bincount(owner, weights=per_group, minlength=rows)[:rows], dtype=np.float64)


def kayenta(streams: Streams, family: Family, spec: RolloutSpec) -> Alarm:
    """Mann-Whitney on the per-interval series since the start, with an effect-size gate."""
    candidate, stable = _interval_series(streams, family)
    runs, looks = candidate.shape
    greater = np.where(candidate[:, :, None] > stable[:, None, :], 1.0, 0.0)
    equal = np.where(candidate[:, :, None] == stable[:, None, :], 0.5, 0.0)
    prefix = np.cumsum(np.cumsum(greater + equal, axis=1), axis=2)
    u_statistic = prefix[:, np.arange(looks), np.arange(looks)]
    n_c = np.cumsum(~np.isnan(candidate), axis=1).astype(np.float64)
    n_s = np.cumsum(~np.isnan(stable), axis=1).astype(np.float64)
    alarm = np.full((runs, looks), np.nan)
    two_sided = family == "drift"
    for look in range(looks):
        combined = np.concatenate((candidate[:, : look + 1], stable[:, : look + 1]), axis=1)
        n1, n2 = n_c[:, look], n_s[:, look]
        n = n1 + n2
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = n1 * n2 / 12 * ((n + 1) - _tie_term(combined) / (n * (n - 1)))
            deviation = u_statistic[:, look] - n1 * n2 / 2
            if two_sided:
                z = (np.abs(deviation) - 0.5) / np.sqrt(variance)
                log_p = np.log(2) + stats.norm.logsf(z)
            else:
                z = (deviation - 0.5) / np.sqrt(variance)
                log_p = stats.norm.logsf(z)
        gate = _effect_gate(candidate[:, : look + 1], stable[:, : look + 1], family, spec)
        usable = (n1 >= KAYENTA_MIN_POINTS) & (n2 >= KAYENTA_MIN_POINTS) & (variance > 0) & gate
        alarm[:, look] = np.where(usable, -np.minimum(log_p, 0.0) / LOG10, np.nan)
    return Alarm(alarm, 1, -math.log10(spec.alpha))


def _effect_gate(candidate: FloatArray, stable: FloatArray, family: Family, spec: RolloutSpec) -> BoolArray:
    """Kayenta's practical-significance check: the change must exceed the allowed one."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if family == "errors":
            gap = np.nanmean(candidate, axis=1) - np.nanmean(stable, axis=1)
            return np.asarray(gap > (spec.error_margin.absolute or 0.0))
        if family == "latency":
            ratio = np.nanmedian(candidate, axis=1) / np.nanmedian(stable, axis=1)
            return np.asarray(ratio > 1 + (spec.latency_margin.relative or 0.0))
    return np.ones(candidate.shape[0], dtype=bool)
