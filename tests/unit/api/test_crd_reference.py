"""The field reference is the schema the apiserver enforces, in words a user reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelrollout.api.v1alpha1.crd import openapi_schema
from modelrollout.api.v1alpha1.crd_reference import main, render_reference

REPO = Path(__file__).resolve().parents[3]


def _fields(path: str, schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    if schema.get("type") == "array":
        yield from _fields(path + "[]", schema.get("items", {}))
        return
    for name, field in schema.get("properties", {}).items():
        yield path, name, field
        yield from _fields(f"{path}.{name}", field)


def _table(reference: str, path: str) -> str:
    start = reference.index(f"## `{path}`\n")
    end = reference.find("\n## ", start + 1)
    return reference[start : end if end >= 0 else None]


def test_every_field_is_in_the_table_of_its_object_with_its_description() -> None:
    reference = render_reference()
    schema = openapi_schema()
    count = 0
    for top in ("spec", "status"):
        for path, name, field in _fields(top, schema["properties"][top]):
            table = _table(reference, path)
            row = next(line for line in table.splitlines() if line.startswith(f"| `{name}`"))
            assert field.get("description", "").replace("|", "\\|").replace("\n", " ") in row
            count += 1
    assert count > 100


def test_defaults_limits_and_cel_messages_are_stated() -> None:
    reference = render_reference()
    analysis = _table(reference, "spec.analysis")
    assert 'default `"30s"`' in analysis
    metrics = _table(reference, "spec.analysis.metrics[]")
    assert "one of `latency`, `errorRate`" in metrics
    assert "a custom metric needs a query (on `.query`)" in metrics
    assert "candidate.version must differ from stable.version" in _table(reference, "spec")


def test_object_links_point_at_their_tables() -> None:
    reference = render_reference()
    assert "[object](#specanalysisprometheus)" in reference
    assert '<a id="specanalysisprometheus"></a>' in reference
    assert "[[]object](#specanalysismetrics)" in reference
    assert '<a id="specanalysismetrics"></a>' in reference


def test_check_fails_on_a_stale_reference(tmp_path: Path) -> None:
    stale = tmp_path / "crd-reference.md"
    stale.write_text("# old\n")
    assert main(["--check", str(stale)]) == 1
    assert main(["--check", str(REPO / "docs" / "crd-reference.md")]) == 0
