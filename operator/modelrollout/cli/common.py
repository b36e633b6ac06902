"""What every cluster subcommand shares: kubectl's flags, structured output, and errors.

Errors a person can act on are `CliError`s: `main` prints them on stderr and exits with
`EXIT_ERROR` (3, the same status as a usage error, so a script never takes either for a
backtest verdict or for success).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import yaml

EXIT_OK, EXIT_ERROR = 0, 3

Obj = dict[str, Any]


class CliError(Exception):
    """A failure the person at the terminal can act on; the message says how."""


def add_cluster_options(parser: argparse.ArgumentParser, *, all_namespaces: bool = False) -> None:
    """kubectl's own spelling, so `kubectl modelrollout get -n team -A` reads as kubectl does."""
    parser.add_argument("-n", "--namespace", help="the namespace (default: the context's, else default)")
    if all_namespaces:
        parser.add_argument("-A", "--all-namespaces", action="store_true", help="list across every namespace")
    parser.add_argument("--context", help="the kubeconfig context to use")
    parser.add_argument("--kubeconfig", help="the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")


def add_output_option(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    parser.add_argument("-o", "--output", choices=list(formats), help="output format")


def kubeconfig_path(args: argparse.Namespace) -> str | None:
    """--kubeconfig, else $KUBECONFIG (its first file, as the kubernetes client reads one)."""
    explicit: str | None = getattr(args, "kubeconfig", None)
    if explicit:
        return explicit
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), None)
    return first


def dump(value: Any, output: str, out: TextIO) -> None:
    """`-o json` and `-o yaml` as kubectl prints them: indented JSON, block-style YAML."""
    if output == "json":
        out.write(json.dumps(value, indent=4) + "\n")
    else:
        out.write(yaml.safe_dump(value, sort_keys=False, default_flow_style=False))


def status_of(rollout: Mapping[str, Any]) -> Obj:
    return dict(rollout.get("status") or {})


def name_of(rollout: Mapping[str, Any]) -> str:
    return str((rollout.get("metadata") or {}).get("name", ""))


def event_time(event: Mapping[str, Any]) -> str | None:
    """When an Event last happened: `lastTimestamp` (core/v1), else `eventTime` (events/v1),
    else when it was created."""
    value = (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
    )
    return str(value) if value else None
