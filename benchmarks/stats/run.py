"""Runs every method on the same simulated streams, tunes the baselines, and summarises.

Tuning: for each cell (traffic, weight) and metric family, every baseline's threshold is set on
an independent set of A/A runs to the most sensitive value whose own false-rollback rate there
is at most 5%; the evaluation runs then use fresh streams. Our method and the oracle are never
tuned: they use alpha = 0.05 as the spec says.

A second tuning asks the baselines the question ours answers: on runs whose candidate sits
exactly on the spec's margin (latency 10% slower, errors 0.5 pp higher), where a rollback is as
false as in A/A, the threshold is the most sensitive one rolling back at most 5% of them. Drift
has no such runs (its limit is a set of distributions, not one), so only A/A tuning applies.
Those thresholds are then tried where the operator could not have tuned them: on candidates
again exactly on the margin, but over four times as many looks (a longer ``maxDuration``) or,
for errors, with a stable error rate of 0.1% or 5% instead of 1% (another model).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np

from .baselines import Alarm, argo, flagger, kayenta, naive_peeking
from .methods import Decisions, RolloutSpec, oracle, oracle_stable_known, ours
from .simulate import (
    CELLS,
    LATENCY_EDGES,
    LOOKS,
    SCENARIOS,
    SLOW_LATENCY,
    Cell,
    Family,
    Scenario,
    Streams,
    simulate,
)
from .windows import NEVER, IntArray, cumulative, wilson_interval

TARGET_FALSE_ROLLBACK: Final = 0.05
CARRY_OVER_LOOKS: Final = 4 * LOOKS
CARRY_OVER_STABLE_RATES: Final = (0.001, 0.05)
OURS: Final = "ours (sequential)"
ORACLE: Final = "oracle SPRT"
ORACLE_STABLE_KNOWN: Final = "oracle SPRT, stable known"
BASELINES: Final[dict[str, Callable[[Streams, Family, RolloutSpec], Alarm]]] = {
    "naive peeking": naive_peeking,
    "Flagger (5 checks)": lambda streams, family, spec: flagger(streams, family),
    "Argo (failureLimit 0)": lambda streams, family, spec: argo(streams, family, 0),
    "Argo (failureLimit 3)": lambda streams, family, spec: argo(streams, family, 3),
    "Kayenta MWU": kayenta,
}
METHODS: Final = (OURS, *BASELINES, ORACLE, ORACLE_STABLE_KNOWN)
ORACLES: Final = (ORACLE, ORACLE_STABLE_KNOWN)


def _kth_largest(alarm: Alarm) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Per run, the alarm level that the k-th failure needs: rollback iff threshold < this."""
    values = np.where(np.isnan(alarm.values), -np.inf, alarm.values)
    return np.asarray(np.sort(values, axis=1)[:, -alarm.failures_to_rollback], dtype=np.float64)


def tune(alarm: Alarm) -> float:
    """The lowest threshold keeping the A/A false-rollback share at or under the target."""
    levels = np.sort(_kth_largest(alarm))[::-1]
    allowed = math.floor(TARGET_FALSE_ROLLBACK * levels.size)
    threshold = float(levels[allowed]) if allowed < levels.size else -math.inf
    return max(threshold, alarm.most_sensitive)


def rollback_looks(alarm: Alarm, threshold: float) -> IntArray:
    failures = np.cumsum(np.nan_to_num(alarm.values, nan=-np.inf) > threshold, axis=1)
    reached = failures >= alarm.failures_to_rollback
    return np.asarray(np.where(reached.any(axis=1), reached.argmax(axis=1), NEVER), dtype=np.int64)


def _bad_requests(streams: Streams, family: Family) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Cumulative bad candidate requests per look: errors, slow requests, or all (drift)."""
    if family == "errors":
        return cumulative(streams.errors_candidate)
    if family == "latency":
        slow_from = LATENCY_EDGES.index(SLOW_LATENCY) + 1
        return cumulative(streams.latency_candidate[..., slow_from:].sum(axis=-1))
    return cumulative(streams.requests_candidate)


@dataclass(frozen=True)
class Summary:
    rollbacks: int
    runs: int
    wilson: tuple[float, float]
    median_requests: float | None
    p90_requests: float | None
    median_bad: float
    median_look: float | None
    passes: int | None
    threshold: float | None

    @property
    def rate(self) -> float:
        return self.rollbacks / self.runs

    def as_json(self) -> dict[str, Any]:
        return {
            "rollback_rate": self.rate,
            "rollbacks": self.rollbacks,
            "runs": self.runs,
            "wilson_95": list(self.wilson),
            "median_candidate_requests_before_rollback": self.median_requests,
            "p90_candidate_requests_before_rollback": self.p90_requests,
            "median_bad_requests_served": self.median_bad,
            "median_rollback_look": self.median_look,
            "early_passes": self.passes,
            "tuned_threshold": self.threshold
            if self.threshold is None or math.isfinite(self.threshold)
            else None,
        }


def summarise(
    looks: IntArray, streams: Streams, family: Family, passes: IntArray | None, threshold: float | None
) -> Summary:
    rolled = looks != NEVER
    requests = cumulative(streams.requests_candidate)
    bad = _bad_requests(streams, family)
    stop = np.where(rolled, looks, streams.looks - 1)
    rows = np.arange(streams.runs)
    at_rollback = requests[rows[rolled], looks[rolled]]
    count = int(rolled.sum())
    return Summary(
        rollbacks=count,
        runs=streams.runs,
        wilson=wilson_interval(count, streams.runs),
        median_requests=float(np.median(at_rollback)) if count else None,
        p90_requests=float(np.quantile(at_rollback, 0.9)) if count else None,
        median_bad=float(np.median(bad[rows, stop])),
        median_look=float(np.median(looks[rolled]) + 1) if count else None,
        passes=None if passes is None else int((passes != NEVER).sum()),
        threshold=threshold,
    )


def margin_scenario(family: Family, spec: RolloutSpec) -> Scenario | None:
    """A candidate exactly on the spec's margin, the hardest null a non-inferiority test faces."""
    if family == "latency" and spec.latency_margin.relative is not None:
        scale = 1.0 + spec.latency_margin.relative
        return Scenario(f"latency +{spec.latency_margin.relative:.0%} (margin)", family, latency_scale=scale)
    if family == "errors" and spec.error_margin.absolute is not None:
        increase = spec.error_margin.absolute
        return Scenario(f"errors +{100 * increase:g} pp (margin)", family, error_increase=increase)
    return None


def carry_over_checks(family: Family, spec: RolloutSpec) -> list[tuple[str, Scenario, int]]:
    """Candidates on the margin where a threshold tuned on this cell's 60 looks was not tuned."""
    at_margin = margin_scenario(family, spec)
    if at_margin is None:
        return []
    checks = [(f"{CARRY_OVER_LOOKS} looks", at_margin, CARRY_OVER_LOOKS)]
    if family == "errors":
        for rate in CARRY_OVER_STABLE_RATES:
            other = replace(at_margin, stable_error_rate=rate)
            checks.append((f"stable rate {100 * rate:g}%", other, LOOKS))
    return checks


def _carry_over(
    cell: Cell,
    cell_index: int,
    runs: int,
    seed: int,
    spec: RolloutSpec,
    thresholds: dict[tuple[Family, str], float],
) -> dict[str, Any]:
    """Rollback rates at the margin, ours and each margin-tuned baseline, per check."""
    results: dict[str, Any] = {}
    families: tuple[Family, ...] = ("latency", "errors")
    for family_index, family in enumerate(families):
        for check_index, (name, scenario, looks) in enumerate(carry_over_checks(family, spec)):
            purpose = 17 + 3 * family_index + check_index
            streams = simulate(cell, scenario, runs, _seed(seed, cell_index, 0, purpose), looks)
            rates = {OURS: float(np.mean(ours(streams, family, spec).rollback != NEVER))}
            for method, build in BASELINES.items():
                looks_at = rollback_looks(build(streams, family, spec), thresholds[(family, method)])
                rates[method] = float(np.mean(looks_at != NEVER))
            results[f"{family}, {name}"] = {"runs": runs, "rollback_rate": rates}
    return results


def _seed(base: int, cell: int, scenario: int, purpose: int) -> int:
    return base * 1_000_003 + cell * 10_007 + scenario * 101 + purpose


def run_cell(
    cell_index: int, cell: Cell, runs: int, tuning_runs: int, seed: int, spec: RolloutSpec
) -> dict[str, Any]:
    """Tune on A/A (and at the margin), then evaluate every method on every scenario of this cell."""
    thresholds: dict[tuple[Family, str], float] = {}
    margin_thresholds: dict[tuple[Family, str], float] = {}
    families: tuple[Family, ...] = ("latency", "errors", "drift")
    for family_index, family in enumerate(families):
        null = next(s for s in SCENARIOS if s.family == family and s.is_null)
        tuning = simulate(cell, null, tuning_runs, _seed(seed, cell_index, family_index, 7))
        at_margin = margin_scenario(family, spec)
        margin_tuning = (
            None
            if at_margin is None
            else simulate(cell, at_margin, tuning_runs, _seed(seed, cell_index, family_index, 13))
        )
        for name, build in BASELINES.items():
            thresholds[(family, name)] = tune(build(tuning, family, spec))
            if margin_tuning is not None:
                margin_threshold = tune(build(margin_tuning, family, spec))
                margin_thresholds[(family, name)] = max(margin_threshold, thresholds[(family, name)])
    results: dict[str, Any] = {}
    for scenario_index, scenario in enumerate(SCENARIOS):
        streams = simulate(cell, scenario, runs, _seed(seed, cell_index, scenario_index, 1))
        results[scenario.name] = _evaluate(streams, cell, scenario, spec, thresholds, margin_thresholds)
    return {
        "cell": cell.name,
        "requests_per_second": cell.requests_per_second,
        "candidate_weight": cell.candidate_weight,
        "scenarios": results,
        "margin_carry_over": _carry_over(cell, cell_index, max(runs // 2, 1), seed, spec, margin_thresholds),
    }


def _evaluate(
    streams: Streams,
    cell: Cell,
    scenario: Scenario,
    spec: RolloutSpec,
    thresholds: dict[tuple[Family, str], float],
    margin_thresholds: dict[tuple[Family, str], float],
) -> dict[str, Any]:
    family = scenario.family
    ours_decisions: Decisions = ours(streams, family, spec)
    methods: dict[str, Any] = {
        OURS: summarise(ours_decisions.rollback, streams, family, ours_decisions.passed, None).as_json()
    }
    margin_tuned: dict[str, Any] = {}
    for name, build in BASELINES.items():
        alarm = build(streams, family, spec)
        threshold = thresholds[(family, name)]
        methods[name] = summarise(
            rollback_looks(alarm, threshold), streams, family, None, threshold
        ).as_json()
        if (family, name) in margin_thresholds:
            threshold = margin_thresholds[(family, name)]
            looks = rollback_looks(alarm, threshold)
            margin_tuned[name] = summarise(looks, streams, family, None, threshold).as_json()
    for name, decisions in (
        (ORACLE, oracle(streams, scenario, spec, cell.candidate_weight)),
        (ORACLE_STABLE_KNOWN, oracle_stable_known(streams, scenario, spec)),
    ):
        methods[name] = (
            None
            if decisions is None
            else summarise(decisions.rollback, streams, family, None, None).as_json()
        )
    return {
        "family": family,
        "null": scenario.is_null,
        "beyond_margin": scenario.beyond_margin,
        "methods": methods,
        "margin_tuned_baselines": margin_tuned or None,
    }


def run(runs: int, tuning_runs: int, seed: int, cells: tuple[Cell, ...] = CELLS) -> dict[str, Any]:
    spec = RolloutSpec()
    started = time.monotonic()
    results = [run_cell(index, cell, runs, tuning_runs, seed, spec) for index, cell in enumerate(cells)]
    return {
        "settings": {
            "runs": runs,
            "tuning_runs": tuning_runs,
            "seed": seed,
            "looks": LOOKS,
            "interval_seconds": 30,
            "alpha": spec.alpha,
            "latency_margin_relative": spec.latency_margin.relative,
            "error_margin_absolute": spec.error_margin.absolute,
            "drift_statistic": spec.drift_statistic.value,
            "drift_limit": spec.drift_limit,
            "drift_min_count": spec.drift_min_count,
        },
        "seconds": round(time.monotonic() - started, 1),
        "cells": results,
    }
