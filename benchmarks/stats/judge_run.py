"""The full-judge benchmark: ours and the references through the operator's judge, per rollout cell.

Per cell (traffic, canary weight by step) and scenario, every method reads the same simulated
rollouts. A rollback is the judge's first Fail; requests are counted as ``E[min(N, end of
rollout)]`` over all runs (a run that never rolls back counts the whole rollout's candidate
requests), not only over the runs that rolled back.
"""

from __future__ import annotations

import math
import time
from typing import Any, Final

import numpy as np

from .judged import BoolArray, FloatArray, JudgeSpec, judge_paths, ours, windows
from .references import MIXING_SCALES, excess_paths, msprt, sprt
from .rollouts import ROLLOUT_CELLS, RolloutCell, rollout_scenarios, simulate_rollout
from .simulate import Scenario, Streams

OURS: Final = "ours (full judge)"
SPRT: Final = "known-effect SPRT"
MSPRT: Final = "tuned mSPRT"
MODES: Final = {"carried": True, "per step": False}
TARGET_FALSE_ROLLBACK: Final = 0.05
TARGET_POWER: Final = 0.99


def first_fail(fail: BoolArray) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Look index of the first Fail per run, or the number of looks if none."""
    hit = fail.any(axis=1)
    return np.asarray(np.where(hit, fail.argmax(axis=1), fail.shape[1]), dtype=np.int64)


def summary(fail: BoolArray, streams: Streams) -> dict[str, Any]:
    looks = streams.looks
    stop = first_fail(fail)
    rolled = stop < looks
    requests = np.cumsum(streams.requests_candidate, axis=1)
    served = requests[np.arange(streams.runs), np.minimum(stop, looks - 1)]
    two_thirds = math.ceil(2 * looks / 3)
    return {
        "rollback_rate": float(rolled.mean()),
        "mean_requests": float(served.mean()),
        "median_requests": float(np.median(served)),
        "median_look": float(np.median(np.where(rolled, stop + 1, looks))),
        "power_by_two_thirds": float((stop < two_thirds).mean()),
    }


def _tuned_msprt(
    streams: Streams, cell: RolloutCell, scenario: Scenario, spec: JudgeSpec, starts: list[int]
) -> tuple[dict[str, Any], float]:
    """The mixing scale (a multiple of the true excess) needing the fewest mean requests, judged."""
    mean, variance, excess = excess_paths(streams, scenario, starts)
    best: tuple[dict[str, Any], float] | None = None
    for multiple in MIXING_SCALES:
        evidence = {scenario.family: msprt(mean, variance, multiple * abs(excess))}
        result = summary(_judged_reference(streams, cell, spec, scenario, evidence), streams)
        if best is None or result["mean_requests"] < best[0]["mean_requests"]:
            best = (result, multiple)
    assert best is not None
    return best


def _judged_reference(
    streams: Streams, cell: RolloutCell, spec: JudgeSpec, scenario: Scenario, evidence: dict[str, FloatArray]
) -> BoolArray:
    """A reference's evidence on the scenario's family; the other family has an e-value of 1."""
    zeros = np.zeros(streams.requests_stable.shape)
    other = "errors" if scenario.family == "latency" else "latency"
    return judge_paths(streams, cell, spec, {scenario.family: evidence[scenario.family], other: zeros}).fail


def run_scenario(cell: RolloutCell, scenario: Scenario, runs: int, seed: int) -> dict[str, Any]:
    streams = simulate_rollout(cell, scenario, runs, seed)
    modes: dict[str, Any] = {}
    for mode, carry in MODES.items():
        spec = JudgeSpec(carry=carry)
        judged = ours(streams, cell, spec)
        methods: dict[str, Any] = {OURS: summary(judged.fail, streams)}
        for family, alone in judged.alone.items():
            methods[f"ours, {family} alone"] = summary(alone, streams)
        if scenario.beyond_margin:
            starts = [a for a, _ in windows(cell, carry)]
            log_lr = sprt(streams, cell, scenario, starts)
            methods[SPRT] = summary(
                _judged_reference(streams, cell, spec, scenario, {scenario.family: log_lr}), streams
            )
            tuned, multiple = _tuned_msprt(streams, cell, scenario, spec, starts)
            methods[MSPRT] = {**tuned, "mixing_scale_per_true_excess": multiple}
        modes[mode] = methods
    return {
        "family": scenario.family,
        "null": not scenario.beyond_margin,
        "beyond_margin": scenario.beyond_margin,
        "modes": modes,
    }


def targets(result: dict[str, Any], looks: int) -> dict[str, Any]:
    """The issue's targets for one scenario of one cell, ours against the references (carried)."""
    methods = result["modes"]["carried"]
    ours_summary = methods[OURS]
    if not result["beyond_margin"]:
        return {"false_rollback_ok": ours_summary["rollback_rate"] <= TARGET_FALSE_ROLLBACK}
    reference, tuned = methods[SPRT], methods[MSPRT]
    out: dict[str, Any] = {
        "ours_per_sprt": ours_summary["mean_requests"] / reference["mean_requests"],
        "ours_per_msprt": ours_summary["mean_requests"] / tuned["mean_requests"],
        "sprt_median_look": reference["median_look"],
    }
    if reference["median_look"] > 3:
        out["speed_rule"] = "mean within 1.5x SPRT and 1.25x tuned mSPRT"
        out["speed_ok"] = out["ours_per_sprt"] <= 1.5 and out["ours_per_msprt"] <= 1.25
    else:
        out["speed_rule"] = "median look at most one after the SPRT's"
        out["speed_ok"] = ours_summary["median_look"] <= reference["median_look"] + 1
    if reference["power_by_two_thirds"] >= TARGET_POWER:
        out["power_ok"] = ours_summary["rollback_rate"] >= TARGET_POWER
    return out


def run(
    runs: int,
    seed: int,
    cells: tuple[RolloutCell, ...] = ROLLOUT_CELLS,
    scenarios: tuple[Scenario, ...] | None = None,
) -> dict[str, Any]:
    started = time.monotonic()
    chosen = scenarios or rollout_scenarios()
    spec = JudgeSpec()
    results = []
    for cell_index, cell in enumerate(cells):
        per_scenario = {}
        for scenario_index, scenario in enumerate(chosen):
            result = run_scenario(
                cell, scenario, runs, seed * 1_000_003 + cell_index * 10_007 + scenario_index
            )
            result["targets"] = targets(result, cell.looks)
            per_scenario[scenario.name] = result
        results.append(
            {"cell": cell.name, "looks": cell.looks, "weights": list(cell.weights), "scenarios": per_scenario}
        )
    return {
        "settings": {
            "runs": runs,
            "seed": seed,
            "alpha": spec.alpha,
            "min_samples": spec.min_samples,
            "latency_margin_relative": spec.latency_margin.relative,
            "error_margin_absolute": spec.error_margin.absolute,
            "interval_seconds": 60,
            "mixing_scales": list(MIXING_SCALES),
        },
        "seconds": round(time.monotonic() - started, 1),
        "cells": results,
    }
