"""Completion candidates, in the cobra format kubectl's plugin completion reads."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from modelrollout.cli.completion import BASH, FILES, NO_FILES, ZSH, candidates, print_candidates
from modelrollout.cli.main import build_parser, load

SEEN: list[tuple[str, argparse.Namespace]] = []


def lister(kind: str, args: argparse.Namespace) -> list[str]:
    SEEN.append((kind, args))
    return {"rollouts": ["fraud-scorer", "ranker"], "namespaces": ["team-a", "team-b"], "contexts": ["kind"]}[
        kind
    ]


def complete(*words: str) -> tuple[list[str], int]:
    return candidates(build_parser(), list(words), lister)


def test_subcommands_flags_and_choices() -> None:
    names, directive = complete("")
    assert {"get", "status", "promote", "abort", "pause", "resume", "retry", "lineage", "plot", "backtest",
            "completion"} <= set(names) and directive == NO_FILES  # fmt: skip
    assert complete("pa") == (["pause"], NO_FILES)
    assert complete("promote", "--f") == (["--full"], NO_FILES)
    assert complete("lineage", "x", "-o", "") == (["dot", "json", "tree", "yaml"], NO_FILES)
    assert complete("completion", "") == (["bash", "zsh"], NO_FILES)
    assert complete("get", "--kubeconfig", "")[1] == FILES
    assert complete("nope", "") == ([], NO_FILES)


def test_names_come_from_the_namespace_typed_so_far() -> None:
    SEEN.clear()
    assert complete("status", "-n", "team-b", "--context", "kind", "f") == (["fraud-scorer"], NO_FILES)
    kind, args = SEEN[-1]
    assert (kind, args.namespace, args.context) == ("rollouts", "team-b", "kind")
    assert complete("status", "fraud-scorer", "") == ([], NO_FILES)  # one name only
    assert complete("get", "-n", "") == (["team-a", "team-b"], NO_FILES)
    assert complete("get", "--context", "") == (["kind"], NO_FILES)


def test_backtest_is_loaded_only_to_complete_its_own_flags() -> None:
    parser = build_parser()
    assert candidates(parser, ["backtest", "--st"], lister, load) == (["--start", "--step"], NO_FILES)
    assert candidates(parser, ["ba"], lister, load) == (["backtest"], NO_FILES)


def test_the_plugin_starts_without_the_statistics() -> None:
    """A completion runs at every TAB: loading scipy for backtest would add a second to each."""
    code = "import sys; from modelrollout.cli.main import build_parser, load; build_parser(); print('scipy' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


def test_the_output_ends_with_the_directive(capsys: pytest.CaptureFixture[str]) -> None:
    print_candidates(["ab"], lister)
    assert capsys.readouterr().out == "abort\n:4\n"


def test_the_scripts_call_the_hidden_completion_command() -> None:
    assert "kubectl-modelrollout __complete" in BASH and "complete -F _kubectl_modelrollout" in BASH
    assert ZSH.startswith("#compdef kubectl-modelrollout") and "kubectl-modelrollout __complete" in ZSH
