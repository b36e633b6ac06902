"""From a pydantic model's JSON Schema to a Kubernetes *structural* OpenAPI v3 schema.

The apiserver accepts only a subset of JSON Schema for a CRD: no `$ref`, no `anyOf` that changes
the type, every object and array typed, `exclusiveMinimum` as a boolean, no `const`, and free-form
objects marked `x-kubernetes-preserve-unknown-fields` (otherwise their content is pruned). This
module rewrites pydantic's output into that subset, node by node, and attaches the CEL rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

from .cel import CelRule

Schema = dict[str, Any]

_KEY_ORDER = (
    "description",
    "type",
    "format",
    "enum",
    "default",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "maxProperties",
    "items",
    "x-kubernetes-list-type",
    "properties",
    "required",
    "additionalProperties",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
)
"""Key order in each node: the description first, then what a reader checks, rules last."""

_DROPPED = frozenset({"title", "$defs"})
_TYPE_OF_VALUE = {str: "string", bool: "boolean", int: "integer", float: "number"}


class CrdJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, but fields with a `default_factory` get their default too.

    A default of `{}` on an object lets the apiserver fill the nested defaults, so an omitted
    `spec.analysis` reads back exactly as `AnalysisSpec()` does in Python.
    """

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is None or schema.get("default_factory_takes_data"):
            return super().get_default_value(schema)
        value = factory()  # type: ignore[call-arg]
        return {} if isinstance(value, BaseModel) else value


def structural_schema(model: type[BaseModel], rules: Mapping[str, tuple[CelRule, ...]]) -> Schema:
    """The structural schema of `model` (camelCase), with `rules` attached by model name.

    Descriptions come from the docstrings: the class's for the model, each field's for its property.
    """
    raw = _json_schema(model)
    definitions: dict[str, Schema] = raw.get("$defs", {})
    converter = _Converter(definitions, rules)
    return converter.convert(raw, model.__name__)


def model_names(model: type[BaseModel]) -> set[str]:
    """Names of `model` and of every model nested in it: the keys `rules` may use."""
    return {model.__name__, *_json_schema(model).get("$defs", {})}


def _json_schema(model: type[BaseModel]) -> Schema:
    return model.model_json_schema(by_alias=True, mode="validation", schema_generator=CrdJsonSchema)


class _Converter:
    def __init__(self, definitions: Mapping[str, Schema], rules: Mapping[str, tuple[CelRule, ...]]) -> None:
        self._definitions = definitions
        self._rules = rules

    def convert(self, node: Schema, definition: str | None = None) -> Schema:
        """A structural copy of `node`; `definition` names the model it describes, for its rules."""
        node = {key: value for key, value in node.items() if key not in _DROPPED}
        if "$ref" in node:
            name = node.pop("$ref").removeprefix("#/$defs/")
            return self._annotated(self.convert(self._definitions[name], name), node)
        if "anyOf" in node:
            # `X | None` is just X: an absent field is how Kubernetes says "not set".
            variants = [variant for variant in node.pop("anyOf") if variant != {"type": "null"}]
            if len(variants) != 1:
                raise ValueError(f"a union of {len(variants)} types cannot be structural: {variants}")
            return self._annotated(self.convert(variants[0]), node)
        if "const" in node:
            node["enum"] = [node.pop("const")]
        if "enum" in node and "type" not in node:
            node["type"] = _TYPE_OF_VALUE[type(node["enum"][0])]
        _boolean_exclusive_bounds(node)
        kind = node.get("type")
        if kind == "object":
            self._object(node)
        elif kind == "array":
            node["items"] = self.convert(node["items"])
        elif kind is None and not _untyped_allowed(node):
            raise ValueError(f"schema node without a type cannot be structural: {node}")
        if definition is not None and definition in self._rules:
            node["x-kubernetes-validations"] = [rule.to_schema() for rule in self._rules[definition]]
        return self._annotated(node, {})

    @staticmethod
    def _annotated(target: Schema, field_keys: Schema) -> Schema:
        """`target` under the referring field's own keys (description, default), which win."""
        node = {**target, **field_keys}
        if node.get("default", NoDefault) is None:
            del node["default"]
        if "description" in node:
            node["description"] = _normalise_description(node["description"])
        return _ordered(node)

    def _object(self, node: Schema) -> None:
        properties = node.get("properties")
        extra = node.pop("additionalProperties", None)
        if properties is not None:
            node["properties"] = {name: self.convert(value) for name, value in properties.items()}
        elif isinstance(extra, dict) and extra:
            node["additionalProperties"] = self.convert(extra)
        else:
            node["x-kubernetes-preserve-unknown-fields"] = True


def _untyped_allowed(node: Schema) -> bool:
    """A structural schema may leave out the type of an int-or-string, and of a node that keeps
    any JSON value (`x-kubernetes-preserve-unknown-fields`), which CEL then reads as `dyn`."""
    return bool(node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields"))


def _boolean_exclusive_bounds(node: Schema) -> None:
    """JSON Schema 2020-12 has numeric exclusive bounds; OpenAPI v3.0 a flag beside the bound."""
    for exclusive, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        bound = node.get(exclusive)
        if bound is not None and not isinstance(bound, bool):
            node[inclusive] = bound
            node[exclusive] = True


def _normalise_description(text: str) -> str:
    """Docstrings are wrapped at the source's line length; `kubectl explain` wraps on its own."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(line.strip() for line in part.splitlines()) for part in paragraphs)


def _ordered(node: Schema) -> Schema:
    rank = {key: index for index, key in enumerate(_KEY_ORDER)}
    return dict(sorted(node.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))
