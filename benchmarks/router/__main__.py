"""`python -m benchmarks.router [--quick] [--out FILE]`: wrk on loopback against one model server
directly, through nginx and through the router (see benchmarks/README.md)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from modelrollout_dev.tools import repo_root

from .report import markdown
from .run import BenchSettings, run

QUICK = BenchSettings(duration=1.0, rounds=1, warmup=0.0)
"""Every path once for a second: a smoke test that the benchmark runs (about 15 s)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.router", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one 1 s round per cell (smoke test)")
    parser.add_argument("--duration", type=float, default=BenchSettings.duration)
    parser.add_argument("--rounds", type=int, default=BenchSettings.rounds)
    parser.add_argument("--out", type=Path, help="JSON results; the markdown goes beside it (.md)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else BenchSettings(duration=args.duration, rounds=args.rounds)
    results = run(settings)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=repo_root(), check=False
    ).stdout.strip()
    text = markdown(results, commit or "unknown")
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        args.out.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
