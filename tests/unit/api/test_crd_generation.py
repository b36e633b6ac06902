"""The generated CRD: structural, documented, bounded for CEL, and identical to the committed file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelrollout.api.v1alpha1 import GROUP, KIND, ModelRolloutStatus
from modelrollout.api.v1alpha1.crd import PRINTER_COLUMNS, build_crd, main, openapi_schema, render_crd
from modelrollout.api.v1alpha1.crd_rules import RULES, CelRule
from modelrollout.api.v1alpha1.crd_schema import structural_schema

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "crds" / "modelrollout.io_modelrollouts.yaml"

Node = dict[str, Any]

FREE_FORM = {
    ".spec.stable.template",
    ".spec.candidate.template",
    ".status.lineage[].parameters",
    ".status.kopf",
}
"""Where arbitrary content is kept (PodTemplateSpec, training parameters, kopf's state)."""
ANY_VALUE = {".spec.stable.parameters{}", ".spec.candidate.parameters{}"}
"""Untyped nodes holding any JSON value (a parameter: a number, boolean or string, which CEL
checks): the only way a structural schema admits both numbers and strings."""


def walk(node: Node, path: str = "") -> Iterator[tuple[str, Node]]:
    """Every schema node with its path (`[]` for array items)."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if "items" in node:
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


@pytest.fixture(scope="module")
def schema() -> Node:
    return openapi_schema()


def test_committed_crd_is_the_generated_one() -> None:
    assert COMMITTED.read_text() == render_crd(), "run `make crds` and commit crds/"


def test_check_accepts_the_current_file_and_reports_a_stale_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = tmp_path / "current.yaml"
    current.write_text(render_crd())
    assert main(["--check", str(current)]) == 0

    stale = tmp_path / "stale.yaml"
    stale.write_text(render_crd().replace("shortNames:\n    - mro", "shortNames:\n    - mr"))
    assert main(["--check", str(stale)]) == 1
    out = capsys.readouterr()
    assert "\n-    - mr\n" in out.err and "\n+    - mro\n" in out.err  # the diff, then the remedy
    assert "run `make crds`" in out.err
    assert main(["--check", str(tmp_path / "missing.yaml")]) == 1


def test_printing_writes_the_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert capsys.readouterr().out == render_crd()


def test_names_scope_and_version() -> None:
    crd = build_crd()
    spec = crd["spec"]
    assert crd["metadata"]["name"] == f"modelrollouts.{GROUP}"
    assert spec["group"] == "modelrollout.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": KIND,
        "listKind": "ModelRolloutList",
        "plural": "modelrollouts",
        "singular": "modelrollout",
        "shortNames": ["mro"],
        "categories": ["modelrollout"],
    }
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"]["status"] == {}


def test_the_scale_subresource_lets_an_hpa_size_the_rollout(schema: Node) -> None:
    """`kubectl scale` and a HorizontalPodAutoscaler read and write the ModelRollout's scale: the
    total replicas the operator splits between the versions, and a selector for their pods."""
    [version] = build_crd()["spec"]["versions"]
    assert version["subresources"]["scale"] == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }
    nodes = dict(walk(schema))
    assert nodes[".spec.replicas"]["type"] == "integer"
    assert nodes[".status.replicas"]["type"] == "integer"
    assert nodes[".status.selector"]["type"] == "string"
    columns = {column["name"]: column for column in version["additionalPrinterColumns"]}
    assert (columns["Replicas"]["jsonPath"], columns["Replicas"].get("priority")) == (".status.replicas", 1)


def test_printer_columns() -> None:
    [version] = build_crd()["spec"]["versions"]
    columns = {column["name"]: column for column in version["additionalPrinterColumns"]}
    default_view = [name for name, column in columns.items() if column.get("priority", 0) == 0]
    assert default_view == ["Model", "Stable", "Candidate", "Phase", "Weight", "Step", "Verdict", "Age"]
    assert {name for name, column in columns.items() if column.get("priority") == 1} >= {
        "Service",
        "Strategy",
        "Message",
    }
    assert (columns["Weight"]["type"], columns["Weight"]["jsonPath"]) == (
        "number",  # 0.5 as well as 25: kubectl prints a whole number without a decimal
        ".status.candidateWeight",
    )
    assert columns["Verdict"]["jsonPath"] == ".status.analysis.verdict"
    assert columns["Age"]["type"] == "date"
    assert all(column["description"] for column in PRINTER_COLUMNS)


def test_printer_columns_point_at_scalar_fields(schema: Node) -> None:
    nodes = dict(walk(schema))
    for column in PRINTER_COLUMNS:
        if column["jsonPath"].startswith(".metadata."):
            continue
        node = nodes[column["jsonPath"]]
        assert node["type"] in {"string", "integer", "number", "boolean"}, column["name"]
        assert column["type"] == ("string" if "enum" in node else node["type"]), column["name"]


def test_schema_is_structural(schema: Node) -> None:
    forbidden = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "const", "title", "nullable"}
    for path, node in walk(schema):
        if node.get("x-kubernetes-int-or-string"):  # maxSurge: the one kind of node without a type
            assert set(node) == {"description", "default", "x-kubernetes-int-or-string"}, path
            continue
        if path in ANY_VALUE:
            bounds = {"maxLength", "maxProperties", "maxItems"}
            assert set(node) == {"description", "x-kubernetes-preserve-unknown-fields", *bounds}, path
            continue
        assert "type" in node, f"{path} has no type"
        assert not forbidden & node.keys(), f"{path} keeps {forbidden & node.keys()}"
        assert node.get("additionalProperties") is not False, path
        assert "default" not in node or node["default"] is not None, path
        for bound in ("exclusiveMinimum", "exclusiveMaximum"):
            assert isinstance(node.get(bound, True), bool), f"{path}: {bound} must be a flag in OpenAPI v3.0"
        if "enum" in node:
            assert node["type"] == "string" and node["enum"], path


def test_free_form_objects_preserve_unknown_fields(schema: Node) -> None:
    preserved = {path for path, node in walk(schema) if node.get("x-kubernetes-preserve-unknown-fields")}
    assert preserved == FREE_FORM | ANY_VALUE
    for path, node in walk(schema):
        if path in FREE_FORM:
            assert node["type"] == "object" and "properties" not in node


def test_typed_maps_keep_their_value_type(schema: Node) -> None:
    weights = schema["properties"]["status"]["properties"]["weights"]
    assert weights["type"] == "object"
    assert weights["additionalProperties"] == {"type": "number", "minimum": 0, "maximum": 100}


def test_every_field_is_described(schema: Node) -> None:
    undocumented = [
        path
        for path, node in walk(schema)
        if path not in {"", ".metadata"} and not path.endswith(("[]", "{}")) and not node.get("description")
    ]
    assert undocumented == []
    assert schema["properties"]["spec"]["description"].startswith("What to roll out")
    assert schema["properties"]["status"]["description"].startswith("What the operator observed")


def test_descriptions_are_single_paragraph_text(schema: Node) -> None:
    for path, node in walk(schema):
        assert "\n" not in node.get("description", ""), f"{path}: wrapped docstring leaked"


def test_defaults_are_real_and_factories_become_empty_objects(schema: Node) -> None:
    spec = schema["properties"]["spec"]["properties"]
    assert spec["analysis"]["default"] == {}
    assert spec["strategy"]["default"] == {}
    assert spec["dependsOn"]["default"] == []
    assert spec["analysis"]["properties"]["interval"]["default"] == "30s"
    assert "default" not in spec["candidate"]


def test_enums_come_from_the_python_enums(schema: Node) -> None:
    spec = schema["properties"]["spec"]["properties"]
    assert spec["strategy"]["properties"]["type"]["enum"] == [
        "Canary",
        "BlueGreen",
        "ABTest",
        "Interleaved",
        "Shadow",
        "Bandit",
    ]
    assert spec["analysis"]["properties"]["method"]["enum"] == ["sequential", "fixed"]
    condition = schema["properties"]["status"]["properties"]["conditions"]["items"]
    assert condition["properties"]["status"]["enum"] == ["True", "False", "Unknown"]


def test_everything_cel_iterates_is_bounded(schema: Node) -> None:
    """The apiserver estimates CEL cost from maxItems/maxLength; unbounded input fails the budget."""
    for path, node in walk(schema["properties"]["spec"], ".spec"):
        if node.get("x-kubernetes-int-or-string"):
            continue  # a count or a short percent; the apiserver estimates it within budget
        if path in ANY_VALUE:
            continue  # one scalar, which a CEL rule bounds
        if node["type"] == "array":
            assert "maxItems" in node, path
        if "additionalProperties" in node:
            assert "maxProperties" in node, path
        if node["type"] == "string" and "enum" not in node:
            assert "maxLength" in node, path


def test_rules_sit_on_the_models_they_name(schema: Node) -> None:
    placed: dict[str, list[dict[str, str]]] = {}
    for path, node in walk(schema):
        if "x-kubernetes-validations" in node:
            placed[path] = node["x-kubernetes-validations"]
    assert placed[".spec"] == [rule.to_schema() for rule in RULES["ModelRolloutSpec"]]
    assert placed[".spec.analysis"] == [rule.to_schema() for rule in RULES["AnalysisSpec"]]
    assert placed[".spec.analysis.metrics[]"] == [rule.to_schema() for rule in RULES["MetricSpec"]]
    assert placed[".spec.strategy.canary.steps[]"] == [rule.to_schema() for rule in RULES["CanaryStep"]]
    assert placed[""][0]["rule"] == "size(self.metadata.name) <= 63"


def test_field_paths_name_existing_fields(schema: Node) -> None:
    for path, node in walk(schema):
        for rule in node.get("x-kubernetes-validations", []):
            if "fieldPath" not in rule:
                continue
            target = node
            for name in rule["fieldPath"].removeprefix(".").split("."):
                assert name in target.get("properties", {}), f"{path}: {rule['fieldPath']}"
                target = target["properties"][name]


def test_every_rule_has_a_message() -> None:
    every = [rule for rules in RULES.values() for rule in rules]
    assert all(isinstance(rule, CelRule) and rule.message for rule in every)
    assert len({rule.message for rule in every}) == len(every), "messages must tell rules apart"


def test_rules_for_unknown_models_are_refused() -> None:
    with pytest.raises(ValueError, match="CEL rules for models the resource does not contain"):
        openapi_schema({**RULES, "NoSuchModel": ()})


def test_unions_of_several_types_are_refused() -> None:
    from pydantic import BaseModel

    class Either(BaseModel):
        value: int | str

    with pytest.raises(ValueError, match="union of 2 types"):
        structural_schema(Either, {})


def test_status_schema_accepts_what_the_model_writes() -> None:
    """Every field the operator may write is declared, so the apiserver prunes nothing."""
    status = ModelRolloutStatus.model_validate(
        {
            "phase": "Progressing",
            "weights": {"v7": 75, "v8": 25},
            "analysis": {"verdict": "Pass", "metrics": [{"name": "latency", "verdict": "Pass"}]},
            "kopf": {"progress": {}},
        }
    )
    written = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    declared = openapi_schema()["properties"]["status"]["properties"]
    assert set(written) <= set(declared)
    assert set(declared) == {field.alias for field in ModelRolloutStatus.model_fields.values()}


def test_yaml_has_no_anchors() -> None:
    text = render_crd()
    assert "&id" not in text and "*id" not in text
    assert yaml.safe_load(text) == build_crd()
