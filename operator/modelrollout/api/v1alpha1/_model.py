"""What every API object shares: camelCase on the wire, docstrings as the CRD's descriptions, and
CEL rules whose messages the pydantic validators raise too."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from . import crd_rules as rules

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""A DNS-1123 label: model names and versions become parts of object names and label values."""

MetricName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
"""The name of an entry of `spec.analysis.metrics`."""


def require(holds: bool, rule: rules.CelRule) -> None:
    """Raise the CEL rule's own message, so pydantic and the apiserver say the same thing."""
    if not holds:
        raise ValueError(rule.message)


class ApiModel(BaseModel):
    """Base of every API object: camelCase on the wire, snake_case in Python, docstrings as docs."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="ignore",
    )
