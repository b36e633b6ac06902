"""`python -m benchmarks.stats`: run the statistics benchmark and write JSON and markdown."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from . import judge_report, judge_run
from .report import markdown, target_rows
from .rollouts import QUICK_CELLS, ROLLOUT_CELLS
from .run import run
from .simulate import CELLS, Cell

QUICK_RUNS = 60
QUICK_JUDGE_RUNS = 40


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stats", description=__doc__)
    parser.add_argument("--runs", type=int, default=1000, help="simulated analyses per cell and scenario")
    parser.add_argument(
        "--tuning-runs", type=int, default=None, help="A/A runs to tune baselines (default: --runs)"
    )
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON results; the markdown goes beside it (.md)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"CI smoke: {QUICK_RUNS} runs, two cells (1 and 1000 rps at 25%%)",
    )
    parser.add_argument(
        "--judge",
        action="store_true",
        help="the full-judge benchmark (whole rollouts, both metrics, Holm, minSamples) instead",
    )
    return parser.parse_args(argv)


def _judge(arguments: argparse.Namespace, command: str) -> int:
    runs = QUICK_JUDGE_RUNS if arguments.quick else arguments.runs
    cells = QUICK_CELLS if arguments.quick else ROLLOUT_CELLS
    results = judge_run.run(runs, arguments.seed, cells)
    results["command"] = command
    return _write(arguments.out, results, judge_report.markdown(results, command))


def _write(out: Path | None, results: dict[str, Any], text: str) -> int:
    """The JSON at ``out`` and the markdown beside it (.md), and the markdown on stdout."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n")
        out.with_suffix(".md").write_text(text)
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    if arguments.judge:
        words = argv if argv is not None else sys.argv[1:]
        return _judge(arguments, "python -m benchmarks.stats " + " ".join(shlex.quote(a) for a in words))
    runs = QUICK_RUNS if arguments.quick else arguments.runs
    cells = (Cell(1.0, 0.25), Cell(1000.0, 0.25)) if arguments.quick else CELLS
    results = run(runs, arguments.tuning_runs or runs, arguments.seed, cells)
    command = "python -m benchmarks.stats " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    results["command"] = command.strip()
    results["targets"] = target_rows(results)
    return _write(arguments.out, results, markdown(results, results["command"]))


if __name__ == "__main__":
    raise SystemExit(main())
