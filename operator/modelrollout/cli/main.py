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
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import actions, completion, get, lineage, plot, status
from .common import EXIT_ERROR, CliError

SUBCOMMANDS = (get, status, actions, lineage, plot, completion)
EXIT_USAGE = EXIT_ERROR
LAZY = {"backtest": "replay a rollout's analysis over past Prometheus data"}
"""Subcommands whose module is loaded only when run: `backtest` needs the statistics (scipy),
which would add a second to every other command and to every completion."""


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
    for name, help_text in LAZY.items():
        commands.add_parser(name, help=help_text, add_help=False)  # `main` runs the real one
    return parser


def load(name: str) -> argparse.ArgumentParser:
    """The real parser of a lazy subcommand, its module imported now."""
    module = importlib.import_module(f"{__package__}.{name}")
    commands = _Parser(prog="kubectl-modelrollout").add_subparsers()
    module.register(commands)
    parser: argparse.ArgumentParser = commands.choices[name]
    return parser


def _run(args: argparse.Namespace) -> int:
    try:
        status_code: int = args.run(args)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # ^C ends `get -w`
        return 0
    return status_code


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == [completion.HIDDEN_COMMAND]:
        return completion.print_candidates(words[1:])
    if words[:1] and words[0] in LAZY:
        return _run(load(words[0]).parse_args(words[1:]))
    return _run(build_parser().parse_args(words))


if __name__ == "__main__":
    sys.exit(main())
