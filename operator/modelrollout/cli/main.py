"""`kubectl-modelrollout`: the kubectl plugin's entry point; one module per subcommand.

Each subcommand module has `register(subparsers)`, which adds its parser and sets `run`, a
function from the parsed arguments to the exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import backtest

SUBCOMMANDS = (backtest,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl-modelrollout", description="Inspect and drive ModelRollouts; backtest their analysis."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for subcommand in SUBCOMMANDS:
        subcommand.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
