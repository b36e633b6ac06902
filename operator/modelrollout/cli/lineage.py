"""`kubectl modelrollout lineage NAME`: every version the rollout has seen, as a tree of parent
(the stable it was rolled out from) to child, with what became of each. `-o dot` is Graphviz
(`| dot -Tsvg`), `-o json|yaml` the `status.lineage` entries with the stable path.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from . import kube
from .common import EXIT_OK, Obj, add_cluster_options, add_output_option, dump, name_of, status_of

_COLOURS = {"Stable": "palegreen", "Promoted": "palegreen", "Progressing": "lightblue",
            "RolledBack": "salmon", "Aborted": "orange", "Superseded": "lightgrey"}  # fmt: skip


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("lineage", help="the versions' family tree with outcomes (-o dot|json|yaml)")
    parser.add_argument("name", help="the ModelRollout")
    add_cluster_options(parser)
    add_output_option(parser, ("tree", "dot", "json", "yaml"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rollout = kube.connect(args).get(args.name)
    output = args.output or "tree"
    if output == "dot":
        sys.stdout.write(dot(rollout))
    elif output in ("json", "yaml"):
        dump(structured(rollout), output, sys.stdout)
    else:
        print(tree(rollout))
    return EXIT_OK


def structured(rollout: Obj) -> dict[str, Any]:
    status = status_of(rollout)
    return {
        "name": name_of(rollout),
        "stableVersion": status.get("stableVersion"),
        "stablePath": status.get("stablePath") or [],
        "lineage": status.get("lineage") or [],
    }


def _children(entries: Sequence[dict[str, Any]]) -> tuple[list[str], dict[str, list[str]]]:
    """Roots (no parent, or a parent older than the kept lineage) and each version's children,
    in the order the versions were first seen."""
    known = {e["version"] for e in entries}
    roots: list[str] = []
    children: dict[str, list[str]] = {}
    for entry in entries:
        parent = entry.get("parent")
        if isinstance(parent, str) and parent in known and parent != entry["version"]:
            children.setdefault(parent, []).append(entry["version"])
        else:
            roots.append(entry["version"])
    return roots, children


def _label(entry: dict[str, Any], stable: str | None) -> str:
    parts = [entry["version"], entry.get("outcome", "")]
    when = entry.get("promotedAt") or entry.get("rolledBackAt") or entry.get("createdAt")
    if when:
        parts.append(when)
    if entry.get("reason"):
        parts.append(f"({entry['reason']})")
    text = "  ".join(p for p in parts if p)
    return text + ("  <- stable" if entry["version"] == stable else "")


def tree(rollout: Obj) -> str:
    status = status_of(rollout)
    entries: list[dict[str, Any]] = status.get("lineage") or []
    if not entries:
        return f"{name_of(rollout)}: no versions yet"
    by_version = {e["version"]: e for e in entries}
    roots, children = _children(entries)
    stable = status.get("stableVersion")
    lines = [name_of(rollout)]

    def walk(version: str, prefix: str, last: bool, seen: frozenset[str]) -> None:
        lines.append(f"{prefix}{'└── ' if last else '├── '}{_label(by_version[version], stable)}")
        kids = [k for k in children.get(version, []) if k not in seen]
        for index, kid in enumerate(kids):
            walk(kid, prefix + ("    " if last else "│   "), index == len(kids) - 1, seen | {kid})

    for index, root in enumerate(roots):
        walk(root, "", index == len(roots) - 1, frozenset({root}))
    return "\n".join(lines)


def dot(rollout: Obj) -> str:
    status = status_of(rollout)
    entries: list[dict[str, Any]] = status.get("lineage") or []
    stable = status.get("stableVersion")
    lines = [
        f"digraph {json.dumps(name_of(rollout))} {{",
        "  rankdir=LR;",
        "  node [shape=box, style=filled];",
    ]
    for entry in entries:
        label = json.dumps(f"{entry['version']}\n{entry.get('outcome', '')}")
        colour = _COLOURS.get(entry.get("outcome", ""), "white")
        border = ", penwidth=3" if entry["version"] == stable else ""
        lines.append(f"  {json.dumps(entry['version'])} [label={label}, fillcolor={colour}{border}];")
    for entry in entries:
        parent = entry.get("parent")
        if parent and parent != entry["version"] and any(e["version"] == parent for e in entries):
            lines.append(f"  {json.dumps(parent)} -> {json.dumps(entry['version'])};")
    lines.append("}")
    return "\n".join(lines) + "\n"
