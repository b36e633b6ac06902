"""`python -m benchmarks.scale`: the operator at 100, 300, 1,000 (and 3,000) idle rollouts on the
local control plane, each level in a fresh cluster; JSON results and a markdown table beside them."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

from modelrollout_dev.tools import repo_root

from .report import markdown
from .run import Level, run_level

SMOKE = Level(rollouts=5, intervals=2, interval=5.0, scrape_interval="1s")
"""A quick check that every phase runs (about a minute and a half)."""


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--levels", default="100,300,1000", help="rollout counts, comma-separated")
    parser.add_argument("--intervals", type=int, default=4, help="analysis intervals measured per phase")
    parser.add_argument(
        "--interval", type=float, default=30.0, help="seconds: every rollout's analysis interval"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON results; the markdown goes beside it (.md)"
    )
    parser.add_argument(
        "--method",
        default="sequential",
        choices=["sequential", "fixed"],
        help="analysis.method of every rollout",
    )
    parser.add_argument("--smoke", action="store_true", help="5 rollouts, 2 intervals of 5 s")
    return parser.parse_args(argv)


def _commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=repo_root(), check=False
    )
    return result.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    if arguments.smoke:
        levels = [SMOKE]
    else:
        counts = [int(part) for part in arguments.levels.split(",") if part.strip()]
        levels = [
            Level(count, arguments.intervals, arguments.interval, method=arguments.method) for count in counts
        ]
    results = {
        "command": "python -m benchmarks.scale " + shlex.join(sys.argv[1:] if argv is None else argv),
        "commit": _commit(),
        "levels": [],
    }
    for level in levels:
        results["levels"].append(run_level(level, log=lambda line: print(line, flush=True)))
        if arguments.out is not None:  # after every level, so a later one that fails loses nothing
            arguments.out.parent.mkdir(parents=True, exist_ok=True)
            arguments.out.write_text(json.dumps(results, indent=2) + "\n")
            arguments.out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
