"""`kubectl-modelrollout`: the kubectl plugin's entry point; one module per subcommand.

Each subcommand module has `register(subparsers)`, which adds its parser and sets `run`, a
function from the parsed arguments to the exit status.

Bad arguments exit with 3, the plugin's "error" status: argparse's own 2 is the backtest's
Inconclusive, and a script reading the status must not take a typo for a verdict. Every other
error (a rollout that does not exist, an action the operator would ignore, an unreachable
apiserver or Prometheus) is printed on stderr and exits with 3 too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import actions, backtest, completion, get, lineage, plot, status
from .common import EXIT_ERROR, CliError

SUBCOMMANDS = (get, status, actions, lineage, plot, backtest, completion)
EXIT_USAGE = EXIT_ERROR


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
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == [completion.HIDDEN_COMMAND]:
        return completion.print_candidates(words[1:])
    args = build_parser().parse_args(words)
    try:
        status_code: int = args.run(args)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # ^C ends `get -w`
        return 0
    return status_code


if __name__ == "__main__":
    sys.exit(main())
