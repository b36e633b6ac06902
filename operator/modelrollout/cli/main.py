"""`kubectl-modelrollout`: the kubectl plugin's entry point; one module per subcommand.

Each subcommand module has `register(subparsers)`, which adds its parser and sets `run`, a
function from the parsed arguments to the exit status.

Bad arguments exit with 3, the plugin's "error" status: argparse's own 2 is the backtest's
Inconclusive, and a script reading the status must not take a typo for a verdict.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import backtest

SUBCOMMANDS = (backtest,)
EXIT_USAGE = 3


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors exit with `EXIT_USAGE`; subparsers inherit it."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
