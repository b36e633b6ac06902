"""Counts of replicas given as a number or a percent (`1`, `"25%"`), as in a Deployment's
`rollingUpdate`: the type, its validation (pydantic and CEL say the same) and its resolution."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import WithJsonSchema

__all__ = [
    "PERCENT_PATTERN",
    "IntOrPercent",
    "cel_is_int_or_percent",
    "cel_is_zero",
    "is_int_or_percent",
    "is_zero",
    "resolve_int_or_percent",
]

IntOrPercent = Annotated[int | str, WithJsonSchema({"x-kubernetes-int-or-string": True}, mode="validation")]
"""A count of replicas or a percent of them; `x-kubernetes-int-or-string` in the CRD."""

PERCENT_PATTERN = r"^[0-9]{1,4}%$"
_ZERO_PERCENT = r"^0+%$"
MAX_COUNT = 10_000


def is_int_or_percent(value: int | str) -> bool:
    if isinstance(value, int):
        return 0 <= value <= MAX_COUNT
    return re.fullmatch(PERCENT_PATTERN, value) is not None


def is_zero(value: int | str) -> bool:
    return value == 0 or (isinstance(value, str) and re.fullmatch(_ZERO_PERCENT, value) is not None)


def cel_is_int_or_percent(field: str) -> str:
    """CEL for `is_int_or_percent(self.<field>)`, true when the field is absent."""
    value = f"self.{field}"
    return (
        f"(!has({value}) || (type({value}) == int ? ({value} >= 0 && {value} <= {MAX_COUNT}) : "
        f"string({value}).matches(r'{PERCENT_PATTERN}')))"
    )


def cel_is_zero(field: str) -> str:
    value = f"self.{field}"
    return f"(type({value}) == int ? {value} == 0 : string({value}).matches(r'{_ZERO_PERCENT}'))"


def resolve_int_or_percent(value: int | str, total: int, *, round_up: bool) -> int:
    """A count, or a percent of `total` rounded up (a surge) or down (an unavailability), as a
    Deployment rounds them."""
    if isinstance(value, int):
        return value
    share = int(value.rstrip("%")) * total / 100
    return math.ceil(share) if round_up else math.floor(share)
