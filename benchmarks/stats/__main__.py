"""`python -m benchmarks.stats`: run the statistics benchmark and write JSON and markdown."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from .report import markdown, target_rows
from .run import run
from .simulate import CELLS, Cell

QUICK_RUNS = 60


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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    runs = QUICK_RUNS if arguments.quick else arguments.runs
    cells = (Cell(1.0, 0.25), Cell(1000.0, 0.25)) if arguments.quick else CELLS
    results = run(runs, arguments.tuning_runs or runs, arguments.seed, cells)
    command = "python -m benchmarks.stats " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    results["command"] = command.strip()
    results["targets"] = target_rows(results)
    text = markdown(results, results["command"])
    if arguments.out is not None:
        arguments.out.parent.mkdir(parents=True, exist_ok=True)
        arguments.out.write_text(json.dumps(results, indent=1) + "\n")
        arguments.out.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
