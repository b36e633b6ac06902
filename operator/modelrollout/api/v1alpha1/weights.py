"""Traffic weights: a number of percent on the wire with at most one decimal (`setWeight: 0.5`),
an exact `Fraction` inside the operator.

Floats would drift (0.1 + 0.2 is not 0.3) and a split must add up to exactly 100, so the API edge
turns every weight into a `Fraction` of tenths and back: a whole weight is written as an integer
(`25`, never `25.0`, so `kubectl get` and clients that read integers see no change), any other as
the decimal (`0.5`). OpenAPI's `multipleOf: 0.1` fails on float error in the apiserver (0.3 is not
a multiple of 0.1 in binary), hence the CEL rule that allows a millionth of slack.
"""

from __future__ import annotations

from fractions import Fraction
from numbers import Rational
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from .cel import CelRule

__all__ = [
    "PERCENT_TENTHS",
    "Percent",
    "Weight",
    "as_percent",
    "cel_is_tenths",
    "format_percent",
    "percent_json",
]

Weight = int | Fraction
"""A weight inside the operator: percent as an exact number (ints are whole weights)."""

_SLACK = 1e-6
"""How far from a tenth a float may be and still count as that tenth (float error, not intent)."""


def cel_is_tenths(field: str) -> str:
    """CEL: the number `field` is a multiple of 0.1 up to float error. CEL has no `abs` before
    the math extension, so the distance of `w * 10` from the nearest integer is read as the
    distance of `w * 10 + 0.5` from `int()` of it (truncation, the value being at least 0)."""
    shifted = f"(self.{field} * 10.0 + 0.5)"
    fraction = f"({shifted} - double(int({shifted})))"
    return f"{fraction} > {0.5 - _SLACK} && {fraction} < {0.5 + _SLACK}"


PERCENT_TENTHS = CelRule(
    rule=f"!has(self.setWeight) || (self.setWeight >= 0.0 && self.setWeight <= 100.0 && ({cel_is_tenths('setWeight')}))",
    message="setWeight is a percent from 0 to 100 in steps of 0.1, such as 5 or 0.5",
    field_path=".setWeight",
)


def as_percent(value: Any) -> Fraction:
    """A weight from the wire (int, float, decimal string) or the operator (int, Fraction) as an
    exact number of tenths; ValueError (PERCENT_TENTHS's message) for anything else."""
    if isinstance(value, bool):
        raise ValueError(PERCENT_TENTHS.message)
    if isinstance(value, Rational):
        exact = Fraction(value)
    elif isinstance(value, float | str):
        try:
            number = float(value)
        except ValueError as error:
            raise ValueError(PERCENT_TENTHS.message) from error
        tenths = round(number * 10) if number == number and abs(number) < 1e12 else None
        if tenths is None or abs(number * 10 - tenths) >= _SLACK:
            raise ValueError(PERCENT_TENTHS.message)
        exact = Fraction(tenths, 10)
    else:
        raise ValueError(PERCENT_TENTHS.message)
    if (exact * 10).denominator != 1:
        raise ValueError(PERCENT_TENTHS.message)
    return exact


def percent_json(value: Weight) -> int | float:
    """The wire form: an integer when whole, else the decimal of tenths (`0.5`)."""
    exact = Fraction(value)
    if exact.denominator == 1:
        return int(exact)
    return round(float(exact), 1)


def format_percent(value: Weight) -> str:
    """For messages and tables: `25`, `0.5`, `99.5` (no `%`)."""
    return str(percent_json(value))


def _bounded(value: Any) -> Fraction:
    exact = as_percent(value)
    if not 0 <= exact <= 100:
        raise ValueError(PERCENT_TENTHS.message)
    return exact


_NUMBER = {"type": "number", "minimum": 0, "maximum": 100}

Percent = Annotated[
    Fraction,
    BeforeValidator(_bounded),
    PlainSerializer(percent_json, return_type=int | float),
    WithJsonSchema(_NUMBER),
]
"""A weight in status: percent 0..100 in tenths, exact inside, `25` or `0.5` on the wire."""
