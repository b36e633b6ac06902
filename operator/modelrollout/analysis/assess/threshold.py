"""Flagger-compatible `thresholdRange` checks for custom and resource metrics.

One look (`check_threshold`) checks one value; a metric (`assess_threshold`) counts the failed
looks of its analysis step like Flagger's `threshold`, so one bad scrape never rolls back. The
one deliberate difference from Flagger: a missing or NaN value is Inconclusive, never a failed
check. Flagger counts "no values found" as a failure, so a quiet candidate or a slow scrape rolls
back a healthy release; we keep collecting instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from ...api.v1alpha1 import Verdict
from ..types import MetricTest
from ._results import format_number, inconclusive

__all__ = ["assess_threshold", "check_threshold"]

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


def assess_threshold(
    looks: Sequence[float | None],
    minimum: float | None,
    maximum: float | None,
    *,
    failure_threshold: int,
    candidate_requests: float = math.inf,
    min_samples: int = 0,
    stable: float | None = None,
) -> MetricTest:
    """The verdict on every look of an analysis step (oldest first, the current look last).

    Fail once ``failure_threshold`` looks had a value outside the range: failures count from the
    first look whatever the request count, so a guardrail (memory, say) can fail early. Pass
    needs more: the current look within the range, at least ``failure_threshold`` looks with a
    value (before that no Fail was possible, so a Pass would rest on fewer looks than a Fail),
    and ``min_samples`` candidate requests. Otherwise Inconclusive. ``samples_candidate`` is the
    number of looks with a value; the value shown is the current look's (the last failed look's
    on a Fail).
    """
    checks = [check_threshold(value, minimum, maximum) for value in looks]
    measured = [check for check in checks if check.verdict is not Verdict.INCONCLUSIVE]
    failed = [check for check in measured if check.verdict is Verdict.FAIL]
    current = checks[-1] if checks else check_threshold(None, minimum, maximum)
    count = (
        f"Failed looks: {len(failed)} of failureThreshold {failure_threshold}"
        f" ({len(measured)} of {len(looks)} looks had a value)"
    )
    if len(failed) >= failure_threshold:
        verdict, shown, outcome = Verdict.FAIL, failed[-1], "failed"
    elif current.verdict is Verdict.INCONCLUSIVE:
        verdict, shown, outcome = Verdict.INCONCLUSIVE, current, "no value at the latest look"
    elif current.verdict is Verdict.FAIL:
        verdict, shown, outcome = Verdict.INCONCLUSIVE, current, "not failed yet"
    elif len(measured) < failure_threshold:
        verdict, shown = Verdict.INCONCLUSIVE, current
        outcome = f"a Pass needs {failure_threshold} looks with a value"
    elif candidate_requests < min_samples:
        verdict, shown = Verdict.INCONCLUSIVE, current
        outcome = (
            f"candidate has {format_number(candidate_requests, 6)} requests, fewer than minSamples"
            f" {min_samples}: waiting for {min_samples} requests before a Pass"
        )
    else:
        verdict, shown, outcome = Verdict.PASS, current, "passed"
    return replace(
        shown,
        verdict=verdict,
        stable=stable,
        samples_candidate=len(measured),
        interval=(
            -math.inf if minimum is None else minimum,
            math.inf if maximum is None else maximum,
        ),
        explanation=f"{shown.explanation} {count}: {outcome}.",
    )
