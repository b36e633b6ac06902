"""The ModelRollout field reference (`docs/crd-reference.md`), rendered from the generated schema.

Written from `crd.openapi_schema()`, never by hand: the descriptions, defaults, limits and CEL
messages a user reads here are the ones the apiserver enforces, so the reference cannot promise
what `kubectl apply` refuses. `--check FILE` exits 1 when FILE is stale, as `crd --check` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import GROUP, KIND, VERSION
from .crd import PRINTER_COLUMNS, openapi_schema
from .generated import is_stale

HEADER = (
    f"# {KIND} reference (`{GROUP}/{VERSION}`)\n\n"
    "<!-- Generated from operator/modelrollout/api/v1alpha1 by `make crds`; do not edit. -->\n\n"
    "Every field of the resource, with the defaults, limits and validation rules the apiserver\n"
    "applies at `kubectl apply` time. Objects are listed in the order they nest; a field whose type\n"
    "is an object links to its own table.\n"
)


@dataclass(frozen=True)
class _Object:
    """An object schema met while walking, with the path a user writes to reach it."""

    path: str
    schema: dict[str, Any]


def _anchor(path: str) -> str:
    return path.replace(".", "").replace("[]", "").lower()


def _type(schema: dict[str, Any], path: str) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "integer or string"
    kind = schema.get("type", "")
    if kind == "array":
        items = schema.get("items", {})
        if items.get("type") == "object" and "properties" in items:
            return f"[[]object](#{_anchor(path + '[]')})"
        return f"[]{_type(items, path + '[]')}"
    if kind == "object":
        if "properties" in schema:
            return f"[object](#{_anchor(path)})"
        if "additionalProperties" in schema:
            return f"map[string]{_type(schema['additionalProperties'], path)}"
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return "object (free-form)"
    return str(kind)


def _limits(schema: dict[str, Any]) -> list[str]:
    """The constraints of one field, as a user would state them."""
    found: list[str] = []
    if "enum" in schema:
        found.append("one of " + ", ".join(f"`{value}`" for value in schema["enum"]))
    for key, word in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if key in schema:
            found.append(f"{word} {schema[key]}")
    for key, word in (
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("maxProperties", "max entries"),
    ):
        if key in schema:
            found.append(f"{word} {schema[key]}")
    if "pattern" in schema:
        found.append(f"pattern `{schema['pattern']}`")
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rows(obj: _Object) -> Iterator[str]:
    required = set(obj.schema.get("required", ()))
    for name, field in obj.schema.get("properties", {}).items():
        path = f"{obj.path}.{name}"
        notes = _limits(field)
        if "default" in field:
            notes.insert(0, f"default `{json.dumps(field['default'], sort_keys=True)}`")
        description = field.get("description", "")
        if notes:
            description = f"{description} ({'; '.join(notes)})" if description else "; ".join(notes)
        marker = " (required)" if name in required else ""
        yield f"| `{name}`{marker} | {_type(field, path)} | {_cell(description)} |"


def _rules(schema: dict[str, Any]) -> Iterator[str]:
    for rule in schema.get("x-kubernetes-validations", ()):
        where = f" (on `{rule['fieldPath']}`)" if "fieldPath" in rule else ""
        yield f"- {_cell(rule.get('message', rule['rule']))}{where}"


def _objects(path: str, schema: dict[str, Any]) -> Iterator[_Object]:
    """Every object with properties, depth first in declaration order."""
    if schema.get("type") == "array":
        yield from _objects(path + "[]", schema.get("items", {}))
        return
    if "properties" not in schema:
        return
    yield _Object(path, schema)
    for name, field in schema["properties"].items():
        yield from _objects(f"{path}.{name}", field)


def render_reference() -> str:
    schema = openapi_schema()
    parts = [HEADER]
    columns = "\n".join(
        f"| {column['name']} | `{column['jsonPath']}` | {'`-o wide`' if column.get('priority') else ''} |"
        for column in PRINTER_COLUMNS
    )
    parts.append(
        f"\n## `kubectl get modelrollouts`\n\n| Column | Field | Shown |\n|---|---|---|\n{columns}\n"
    )
    rules = list(_rules(schema))
    if rules:
        parts.append("\n## Rules on the whole resource\n\n" + "\n".join(rules) + "\n")
    for top in ("spec", "status"):
        for obj in _objects(top, schema["properties"][top]):
            parts.append(f'\n<a id="{_anchor(obj.path)}"></a>\n## `{obj.path}`\n\n')
            if obj.schema.get("description"):
                parts.append(f"{obj.schema['description']}\n\n")
            parts.append("| Field | Type | Description |\n|---|---|---|\n")
            parts.append("\n".join(_rows(obj)) + "\n")
            rules = list(_rules(obj.schema))
            if rules:
                parts.append("\nValidation:\n\n" + "\n".join(rules) + "\n")
    return "".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modelrollout.api.v1alpha1.crd_reference", description=__doc__
    )
    parser.add_argument("--check", metavar="FILE", type=Path, help="exit 1 when FILE is stale")
    args = parser.parse_args(argv)
    generated = render_reference()
    if args.check is None:
        sys.stdout.write(generated)
        return 0
    return 1 if is_stale(args.check, generated, "make crds") else 0


if __name__ == "__main__":
    sys.exit(main())
