"""Shell completion: `kubectl-modelrollout completion bash|zsh` prints a script for the shell, and
`kubectl_complete-modelrollout` (a console script) answers kubectl's own plugin completion, so
`kubectl modelrollout <TAB>` completes too (kubectl 1.26+ runs `kubectl_complete-<plugin>` with
the words after the plugin's name).

Both ask `candidates()`, which answers in cobra's format, the one kubectl expects from a plugin:
one candidate per line, then `:<directive>` (4: no file names; 0: the shell's default, file
names, for flags that take a path). Subcommands and flags come from the argument parser itself;
rollout names, namespaces and contexts from the cluster, quietly none when it cannot be reached
(a completion must never print an error into the command line).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .common import EXIT_OK, CliError

NO_FILES, FILES = 4, 0
"""Cobra's ShellCompDirective values."""
_PATH_FLAGS = frozenset({"--kubeconfig", "-f", "--file", "--filename"})
HIDDEN_COMMAND = "__complete"
"""The word before the typed words in the scripts' calls: answer with candidates."""

BASH = """# kubectl-modelrollout completion for bash: source <(kubectl-modelrollout completion bash)
_kubectl_modelrollout() {
    local IFS=$'\\n' lines directive
    lines=($(kubectl-modelrollout __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
    directive="${lines[-1]#:}"
    unset 'lines[-1]'
    COMPREPLY=("${lines[@]}")
    if [[ "$directive" == 0 && ${#COMPREPLY[@]} -eq 0 ]]; then
        COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
    fi
}
complete -F _kubectl_modelrollout kubectl-modelrollout
"""

ZSH = """#compdef kubectl-modelrollout
# kubectl-modelrollout completion for zsh: source <(kubectl-modelrollout completion zsh)
_kubectl_modelrollout() {
    local -a lines
    lines=("${(@f)$(kubectl-modelrollout __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    local directive="${lines[-1]#:}"
    lines=("${(@)lines[1,-2]}")
    if [[ "$directive" == 0 && ${#lines} -eq 0 ]]; then
        _files
    else
        compadd -- "${lines[@]}"
    fi
}
compdef _kubectl_modelrollout kubectl-modelrollout
"""

Lister = Callable[[str, argparse.Namespace], list[str]]
"""What the cluster holds of a kind ("rollouts", "namespaces", "contexts") for parsed flags."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("completion", help="print a shell completion script (bash or zsh)")
    parser.add_argument("shell", choices=("bash", "zsh"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(BASH if args.shell == "bash" else ZSH)
    return EXIT_OK


def candidates(
    parser: argparse.ArgumentParser,
    words: Sequence[str],
    lister: Lister,
    load: Callable[[str], argparse.ArgumentParser] | None = None,
) -> tuple[list[str], int]:
    """Completions of the last word (`""` for a new one) after the plugin's name."""
    words = list(words) or [""]
    *before, current = words
    commands = _subcommands(parser)
    if not before:
        return sorted(c for c in commands if c.startswith(current)), NO_FILES
    command = commands.get(before[0])
    if load is not None and command is not None and not command._actions:  # a lazy subcommand
        command = load(before[0])
    if command is None:
        return [], NO_FILES
    options = _options(command)
    previous = before[-1] if len(before) > 1 else ""
    if previous in options and options[previous].nargs != 0:
        return _values(options[previous], previous, command, before[1:-1], current, lister)
    if current.startswith("-"):
        return sorted(flag for flag in options if flag.startswith(current)), NO_FILES
    positional = [a for a in command._actions if not a.option_strings and a.dest != "help"]
    given = _positionals(before[1:], options)
    if given < len(positional):
        wanted = positional[given]
        if wanted.choices:
            return sorted(str(c) for c in wanted.choices if str(c).startswith(current)), NO_FILES
        if wanted.dest == "name":
            names = lister("rollouts", _parsed_flags(command, before[1:]))
            return sorted(n for n in names if n.startswith(current)), NO_FILES
    return [], NO_FILES


def _values(
    action: argparse.Action, flag: str, command: argparse.ArgumentParser, words: list[str], current: str,
    lister: Lister,
) -> tuple[list[str], int]:  # fmt: skip
    if action.choices:
        return sorted(str(c) for c in action.choices if str(c).startswith(current)), NO_FILES
    if flag in _PATH_FLAGS:
        return [], FILES
    kinds = {"namespace": "namespaces", "context": "contexts"}
    if action.dest in kinds:
        values = lister(kinds[action.dest], _parsed_flags(command, words))
        return sorted(v for v in values if v.startswith(current)), NO_FILES
    return [], NO_FILES


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(command: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: action for action in command._actions for flag in action.option_strings}


def _positionals(words: list[str], options: dict[str, argparse.Action]) -> int:
    count, skip = 0, False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            action = options.get(word.split("=", 1)[0])
            skip = "=" not in word and action is not None and action.nargs != 0
        else:
            count += 1
    return count


def _parsed_flags(command: argparse.ArgumentParser, words: list[str]) -> argparse.Namespace:
    """The flags typed so far (-n, --context, --kubeconfig), so names come from where the
    command will look; anything unparsable is left out."""
    options = _options(command)
    namespace = argparse.Namespace(namespace=None, context=None, kubeconfig=None, all_namespaces=False)
    iterator = iter(words)
    for word in iterator:
        flag, has_value, value = word.partition("=")
        action = options.get(flag)
        if action is None or not action.option_strings:
            continue
        if action.nargs == 0:
            setattr(namespace, action.dest, True)
        else:
            setattr(namespace, action.dest, value if has_value else next(iterator, None))
    return namespace


def cluster_lister(kind: str, args: argparse.Namespace) -> list[str]:
    """Names from the cluster; none when it cannot be reached."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    from . import kube
    from .common import kubeconfig_path

    try:
        if kind == "contexts":
            contexts, _ = k8s_config.list_kube_config_contexts(config_file=kubeconfig_path(args))
            return [c["name"] for c in contexts]
        cluster = kube.connect(args)
        if kind == "namespaces":
            listed = k8s.CoreV1Api(cluster.api_client).list_namespace(_request_timeout=5)
            return [n.metadata.name for n in listed.items]
        return [r["metadata"]["name"] for r in cluster.list_rollouts()]
    except (CliError, Exception):  # a completion never fails loudly
        return []


def print_candidates(words: Sequence[str], lister: Lister = cluster_lister) -> int:
    from .main import build_parser, load

    found, directive = candidates(build_parser(), words, lister, load)
    sys.stdout.write("".join(f"{c}\n" for c in found) + f":{directive}\n")
    return EXIT_OK


def kubectl_complete() -> int:
    """`kubectl_complete-modelrollout`: kubectl's plugin completion calls it with the words."""
    return print_candidates(sys.argv[1:])
