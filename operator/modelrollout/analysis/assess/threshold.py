"""Flagger-compatible `thresholdRange` checks for custom metrics.

The one deliberate difference from Flagger: a missing or NaN value is Inconclusive, never a
failed check. Flagger counts "no values found" as a failure, so a quiet candidate or a slow
scrape rolls back a healthy release; we keep collecting instead.
"""

from __future__ import annotations

import math

from ...api.v1alpha1 import Verdict
from ..types import MetricTest
from ._results import format_number, inconclusive

__all__ = ["check_threshold"]

METHOD = "threshold range"


def check_threshold(
    value: float | None, minimum: float | None, maximum: float | None, samples: int = 0
) -> MetricTest:
    """Pass when ``minimum <= value <= maximum`` (either bound may be absent), else Fail.

    ``effect`` is how far the value lies outside the range (0 inside it), so status shows by how
    much a check failed; ``interval`` is the range itself with open ends as +-inf.
    """
    if value is None or not math.isfinite(value):
        return inconclusive(METHOD, "No value (empty or NaN query result): not a failure, still collecting.")
    low = -math.inf if minimum is None else minimum
    high = math.inf if maximum is None else maximum
    if value < low:
        verdict, effect, where = Verdict.FAIL, value - low, f"below the minimum {format_number(low)}"
    elif value > high:
        verdict, effect, where = Verdict.FAIL, value - high, f"above the maximum {format_number(high)}"
    else:
        verdict, effect, where = Verdict.PASS, 0.0, f"within [{format_number(low)}, {format_number(high)}]"
    return MetricTest(
        verdict=verdict,
        method=METHOD,
        candidate=value,
        effect=effect,
        interval=(low, high),
        samples_candidate=max(0, samples),
        explanation=f"Value {format_number(value)} is {where}.",
    )
