"""Can one mixing scale serve every effect size? The tuned mSPRT's target, examined.

The full-judge benchmark compares ours with a normal-mixture mSPRT whose scale is tuned, per cell
and effect, to need the fewest requests on the very runs it is measured on. Any method fixed
before the effect is known, a single-scale mSPRT included, must serve every effect with one
choice. This measures, on the same simulated rollouts (same seeds as `judge_run`), the mean
requests of the mSPRT at each fixed scale (multiples of the margin on the family's scale) for
every effect of a cell, and reports the best fixed scale's worst ratio to the tuned one across
effects: if it exceeds 1.25, no single-scale mSPRT meets "within 1.25x of the tuned mSPRT" at
every effect of that cell.

    python -m benchmarks.stats.scales --runs 200 --out benchmarks/results/stats-judge-scales.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Final

from .judge_run import MODES, _judged_reference, summary
from .judged import FloatArray, JudgeSpec, windows
from .references import MIXING_SCALES, excess_paths, msprt
from .rollouts import (
    ERROR_MARGIN,
    LATENCY_MARGIN,
    ROLLOUT_CELLS,
    RolloutCell,
    rollout_scenarios,
    simulate_rollout,
)
from .simulate import Scenario, Streams

FIXED_MULTIPLES: Final = tuple(float(2.0**k) for k in range(-2, 9))
"""Fixed mixing scales, as multiples of the margin on the family's scale (0.25x to 256x)."""


def _requests(
    streams: Streams,
    cell: RolloutCell,
    spec: JudgeSpec,
    scenario: Scenario,
    mean: FloatArray,
    variance: FloatArray,
    scale: float,
) -> float:
    """Mean requests of the mSPRT at one mixing scale, through the judge."""
    evidence = {scenario.family: msprt(mean, variance, scale)}
    return float(
        summary(_judged_reference(streams, cell, spec, scenario, evidence), streams)["mean_requests"]
    )


def run(runs: int, seed: int) -> dict[str, Any]:
    spec = JudgeSpec(carry=MODES["carried"])
    scenarios = rollout_scenarios()
    cells: list[dict[str, Any]] = []
    for cell_index, cell in enumerate(ROLLOUT_CELLS):
        starts = [a for a, _ in windows(cell, spec.carry)]
        families: dict[str, dict[str, Any]] = {}
        for scenario_index, scenario in enumerate(scenarios):
            if not scenario.beyond_margin:
                continue
            streams = simulate_rollout(
                cell, scenario, runs, seed * 1_000_003 + cell_index * 10_007 + scenario_index
            )
            mean, variance, excess = excess_paths(streams, scenario, starts)
            unit = ERROR_MARGIN if scenario.family == "errors" else math.log1p(LATENCY_MARGIN)
            at = (streams, cell, spec, scenario, mean, variance)
            tuned = min(_requests(*at, m * abs(excess)) for m in MIXING_SCALES)
            fixed = {f"{m:g}": _requests(*at, m * unit) for m in FIXED_MULTIPLES}
            families.setdefault(scenario.family, {})[scenario.name] = {"tuned": tuned, "fixed": fixed}
        summaries = {}
        for family, effects in families.items():
            worst = {
                key: max(effect["fixed"][key] / effect["tuned"] for effect in effects.values())
                for key in (f"{m:g}" for m in FIXED_MULTIPLES)
            }
            best = min(worst, key=lambda key: worst[key])
            summaries[family] = {"best_fixed_multiple": float(best), "worst_ratio_to_tuned": worst[best]}
        cells.append({"cell": cell.name, "families": families, "best_single_scale": summaries})
    return {"runs": runs, "seed": seed, "fixed_multiples": list(FIXED_MULTIPLES), "cells": cells}


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| cell | family | best single scale (x margin) | its worst mean requests / tuned mSPRT's, over the effects |",
        "|---|---|---|---|",
    ]
    for cell in results["cells"]:
        for family, best in cell["best_single_scale"].items():
            lines.append(
                f"| {cell['cell']} | {family} | {best['best_fixed_multiple']:g} | {best['worst_ratio_to_tuned']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stats.scales", description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", type=Path, default=None)
    arguments = parser.parse_args()
    results = run(arguments.runs, arguments.seed)
    text = markdown(results)
    if arguments.out is not None:
        arguments.out.write_text(json.dumps(results, indent=1) + "\n")
        arguments.out.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
