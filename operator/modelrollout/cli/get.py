"""`kubectl modelrollout get [NAME] [-w]`: one line per ModelRollout, as `kubectl get` prints.

`-w` prints the table, then a line for every change until interrupted; `-o json|yaml` prints
the objects instead (each change as one more object while watching).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from . import kube
from .bluegreen_format import is_blue_green, stage_text
from .common import EXIT_OK, Obj, add_cluster_options, add_output_option, dump, status_of
from .table import age, render, widths_of

WATCH_SECONDS = 300.0
"""How long one watch request lasts before it is renewed (the watch itself runs until ^C)."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("get", help="list ModelRollouts (or one) with phase and weights")
    parser.add_argument("name", nargs="?", help="one ModelRollout (default: all in the namespace)")
    parser.add_argument("-w", "--watch", action="store_true", help="print a line for every change")
    add_cluster_options(parser, all_namespaces=True)
    add_output_option(parser, ("json", "yaml", "wide", "name"))
    parser.set_defaults(run=run)


def header(*, wide: bool, namespaces: bool) -> list[str]:
    columns = ["NAME", "PHASE", "STABLE", "CANDIDATE", "WEIGHT", "STEP", "AGE"]
    if wide:
        columns += ["VERDICT", "LAST ACTION", "MESSAGE"]
    return (["NAMESPACE"] if namespaces else []) + columns


def row(rollout: Obj, now: datetime, *, wide: bool, namespaces: bool) -> list[str]:
    metadata: dict[str, Any] = rollout.get("metadata") or {}
    status = status_of(rollout)
    cells = [
        metadata.get("name", ""),
        status.get("phase", "Pending"),
        status.get("stableVersion") or "-",
        status.get("candidateVersion") or "-",
        f"{status.get('candidateWeight', 0)}%",
        step_text(rollout),
        age(metadata.get("creationTimestamp"), now),
    ]
    if wide:
        analysis = status.get("analysis") or {}
        action = status.get("lastAction") or {}
        cells += [
            analysis.get("verdict") or "-",
            f"{action['verb']}: {action.get('result', '')}" if action else "-",
            status.get("message") or "",
        ]
    return ([metadata.get("namespace", "")] if namespaces else []) + [str(c) for c in cells]


def step_text(rollout: Obj) -> str:
    """`2/4` while at the second of four steps; `-` before any rollout started; a BlueGreen
    rollout's stage."""
    if is_blue_green(rollout):
        return stage_text(rollout)
    steps = ((((rollout.get("spec") or {}).get("strategy") or {}).get("canary") or {}).get("steps")) or []
    current = status_of(rollout).get("currentStep")
    if current is None:
        return "-"
    return f"{min(int(current) + 1, len(steps))}/{len(steps)}"


def table(
    rollouts: Sequence[Obj], now: datetime, *, wide: bool, namespaces: bool, minimum: Sequence[int] = ()
) -> str:
    rows = [row(r, now, wide=wide, namespaces=namespaces) for r in rollouts]
    return render(header(wide=wide, namespaces=namespaces), rows, minimum)


def run(args: argparse.Namespace) -> int:
    cluster = kube.connect(args)
    every = bool(args.all_namespaces) and args.name is None
    rollouts, version = cluster.list_rollouts_at(every)
    if args.name is not None:
        rollouts = [r for r in rollouts if r["metadata"]["name"] == args.name] or [cluster.get(args.name)]
    printer = _Printer(args.output, every)
    printer.print(rollouts, first=True)
    if not args.watch:
        if not rollouts and args.output not in ("json", "yaml"):
            where = "any namespace" if every else f"{cluster.namespace} namespace"
            print(f"No resources found in {where}.", file=sys.stderr)
        return EXIT_OK
    _watch(cluster, args, every, version, printer)
    return EXIT_OK


class _Printer:
    """Prints the first listing with its header, then one line or object per change, the lines
    kept as wide as the columns printed before."""

    def __init__(self, output: str | None, namespaces: bool) -> None:
        self.output = output
        self.namespaces = namespaces
        self.widths: list[int] = []

    def print(self, rollouts: Sequence[Obj], *, first: bool) -> None:
        output = self.output
        if output in ("json", "yaml"):
            if len(rollouts) == 1 and not first:
                dump(rollouts[0], output, sys.stdout)
            else:
                dump({"apiVersion": "v1", "kind": "List", "items": list(rollouts)}, output, sys.stdout)
        elif output == "name":
            for rollout in rollouts:
                print(f"modelrollout.modelrollout.io/{rollout['metadata']['name']}")
        elif rollouts or not first:
            wide = output == "wide"
            rows = [row(r, datetime.now(UTC), wide=wide, namespaces=self.namespaces) for r in rollouts]
            columns = header(wide=wide, namespaces=self.namespaces)
            self.widths = widths_of(columns, rows, self.widths)
            lines = render(columns, rows, self.widths).splitlines()
            print("\n".join(lines if first else lines[1:]))
        sys.stdout.flush()


def _watch(
    cluster: kube.Cluster, args: argparse.Namespace, every: bool, version: str, printer: _Printer
) -> None:
    """Renews the watch whenever the server ends it, from the last resourceVersion seen, and
    lists again when that version is too old to watch from."""
    while True:
        for event in cluster.watch(every, version, WATCH_SECONDS):
            rollout: Obj = event.get("object") or {}
            if event.get("type") == "ERROR":
                version = cluster.list_rollouts_at(every)[1]
                break
            version = (rollout.get("metadata") or {}).get("resourceVersion", version)
            if event.get("type") == "BOOKMARK":
                continue
            if args.name is None or rollout["metadata"]["name"] == args.name:
                printer.print([rollout], first=False)
