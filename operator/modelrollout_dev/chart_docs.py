"""`python -m modelrollout_dev.chart_docs [--check]`: the chart's README from its values.yaml.

values.yaml is the one place a value is described (a `# --` comment above it, as helm-docs
reads them); the README's table is generated from it so the two cannot disagree, and `--check`
(run by `make lint`) fails when a value has no description or the README is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelrollout.api.v1alpha1 import is_stale

from .tools import repo_root

CHART = Path("charts/modelrollout-operator")
MARKER = "# --"


@dataclass(frozen=True)
class Value:
    key: str
    """Dotted path, e.g. `leaderElection.enabled`."""
    kind: str
    default: Any
    description: str


class UndocumentedValue(ValueError):
    pass


def documented_values(values_yaml: str) -> list[Value]:
    """Every value with its `# --` description. A documented map is one value (its keys are the
    default, e.g. `resources`); an undocumented map is a section whose keys must each be
    documented. Raises UndocumentedValue naming every key that has no description."""
    defaults = yaml.safe_load(values_yaml) or {}
    descriptions: dict[str, str] = {}
    path: list[tuple[int, str]] = []
    pending: list[str] | None = None
    for line in values_yaml.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped.startswith(MARKER):
            pending = [stripped[len(MARKER) :].strip()]
        elif stripped.startswith("#"):
            if pending is not None:
                pending.append(stripped.lstrip("#").strip())
        elif not stripped:
            pending = None
        elif ":" in stripped and not stripped.startswith("-"):
            while path and path[-1][0] >= indent:
                path.pop()
            if any(key in descriptions for key in _prefixes([p for _, p in path])):
                continue  # inside a documented map's default
            key = stripped.split(":", 1)[0].strip()
            path.append((indent, key))
            if pending is not None:
                descriptions[".".join(p for _, p in path)] = " ".join(pending)
            pending = None
    values: list[Value] = []
    missing: list[str] = []
    _collect(defaults, "", descriptions, values, missing)
    if missing:
        raise UndocumentedValue(f"values without a `# --` description in values.yaml: {', '.join(missing)}")
    return values


def _prefixes(parts: list[str]) -> list[str]:
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _collect(
    node: Any, prefix: str, descriptions: dict[str, str], out: list[Value], missing: list[str]
) -> None:
    for key, default in node.items():
        dotted = f"{prefix}{key}"
        if dotted in descriptions:
            out.append(Value(dotted, _kind(default), default, descriptions[dotted]))
        elif isinstance(default, dict) and default:
            _collect(default, f"{dotted}.", descriptions, out, missing)
        else:
            missing.append(dotted)


def _kind(default: Any) -> str:
    for python, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "string"), (list, "list")):
        if isinstance(default, python):
            return name
    return "object"


def readme(chart: Path) -> str:
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    values = documented_values((chart / "values.yaml").read_text())
    rows = [f"| `{v.key}` | {v.kind} | `{json.dumps(v.default)}` | {_cell(v.description)} |" for v in values]
    head = (chart / "README.md.gotmpl").read_text().format(name=meta["name"], version=meta["version"])
    table = ["## Values", "", "| Key | Type | Default | Description |", "|---|---|---|---|", *rows]
    return (
        "<!-- Generated from values.yaml by `python -m modelrollout_dev.chart_docs`; do not edit. -->\n"
        + head.rstrip("\n")
        + "\n\n"
        + "\n".join(table)
        + "\n"
    )


def _cell(text: str) -> str:
    """A Markdown table cell: a pipe in the text would end it."""
    return text.replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelrollout_dev.chart_docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when README.md is stale")
    args = parser.parse_args(argv)
    chart = repo_root() / CHART
    try:
        text = readme(chart)
    except UndocumentedValue as error:
        print(f"{chart / 'values.yaml'}: {error}", file=sys.stderr)
        return 1
    target = chart / "README.md"
    if not args.check:
        target.write_text(text)
        return 0
    return 1 if is_stale(target, text, "python -m modelrollout_dev.chart_docs") else 0


if __name__ == "__main__":
    sys.exit(main())
