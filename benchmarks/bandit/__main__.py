"""`python -m benchmarks.bandit`: the bandit and interleaving simulations, as JSON and markdown."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from .arms import ArmsSettings, run_arms, run_stop_rules
from .interleaving import InterleavingBench, run_interleaving
from .report import markdown

QUICK_ARMS = ArmsSettings(runs=4, intervals=15, requests=500)
QUICK_INTERLEAVING = InterleavingBench(runs=200, looks=50)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bandit", description=__doc__)
    parser.add_argument("--runs", type=int, default=ArmsSettings.runs, help="seeded bandit runs per scenario")
    parser.add_argument("--intervals", type=int, default=ArmsSettings.intervals)
    parser.add_argument("--requests", type=int, default=ArmsSettings.requests, help="requests per interval")
    parser.add_argument("--seed", type=int, default=ArmsSettings.seed)
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON results; the markdown goes beside it (.md)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="CI smoke: a few runs, seconds (not a measurement)"
    )
    return parser.parse_args(argv)


def run(arms: ArmsSettings, interleaving: InterleavingBench) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {
        "arms": run_arms(arms),
        "stop_rules": run_stop_rules(arms),
        "interleaving": run_interleaving(interleaving),
    }
    results["wall_seconds"] = time.perf_counter() - started
    return results


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    if arguments.quick:
        arms, interleaving = QUICK_ARMS, QUICK_INTERLEAVING
    else:
        arms = ArmsSettings(arguments.runs, arguments.intervals, arguments.requests, arguments.seed)
        interleaving = InterleavingBench(seed=arguments.seed)
    results = run(arms, interleaving)
    command = "python -m benchmarks.bandit " + shlex.join(sys.argv[1:] if argv is None else argv)
    results["command"] = command.strip()
    text = markdown(results, results["command"])
    print(text)
    if arguments.out is None:
        return 0
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    for path, content in (
        (arguments.out, json.dumps(results, indent=1) + "\n"),
        (arguments.out.with_suffix(".md"), text),
    ):
        path.write_text(content)
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
