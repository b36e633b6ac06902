"""Small helpers shared by the metric tests: input checks and number formatting."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from ...api.v1alpha1 import Verdict
from ..types import MetricTest

__all__ = [
    "MAX_E_VALUE",
    "SEGMENTED_NOTE",
    "as_count",
    "collecting",
    "e_value_from_log",
    "format_number",
    "format_percent",
    "inconclusive",
    "is_usable",
    "sequential_result",
    "short_of_fail",
]

MAX_E_VALUE = 1e15
"""E-values are capped here for status: past 1/alpha the size only says "overwhelming", and an
infinite float would not survive JSON into the Kubernetes API."""


SEGMENTED_NOTE = "; evidence counted per traffic split, so no interval"
"""Said where the evidence spans several splits of traffic and no interval is shown: the one-split
inversion of such a window is not what the verdict rests on, and inverting the segmented evidence
is a search over it every tick."""


def is_usable(*values: float | None) -> bool:
    """True when every value is a finite number; Prometheus answers NaN or nothing."""
    return all(value is not None and math.isfinite(value) for value in values)


def e_value_from_log(log_e: float | npt.NDArray[np.float64]) -> float:
    """The e-value for a log e-value, capped at `MAX_E_VALUE`."""
    return math.exp(min(float(log_e), math.log(MAX_E_VALUE)))


def as_count(value: float | None) -> int:
    """A count for the `samples_*` fields; no data counts as zero samples."""
    if value is None or not math.isfinite(value) or value < 0:
        return 0
    return round(value)


def inconclusive(
    method: str,
    explanation: str,
    samples_stable: int = 0,
    samples_candidate: int = 0,
    stable: float | None = None,
    candidate: float | None = None,
) -> MetricTest:
    """An Inconclusive result: the one outcome for missing, too little or unusable data."""
    return MetricTest(
        verdict=Verdict.INCONCLUSIVE,
        method=method,
        stable=stable,
        candidate=candidate,
        samples_stable=samples_stable,
        samples_candidate=samples_candidate,
        explanation=explanation,
    )


def sequential_result(
    base: MetricTest,
    fail_log_e: float | npt.NDArray[np.float64],
    pass_log_e: float | npt.NDArray[np.float64],
    log_threshold: float,
    effect: float | None,
    interval: tuple[float, float] | None,
    comparison: str,
) -> MetricTest:
    """The verdict of a sequential test from its two one-sided log e-values.

    Fail is checked first: when both sides cross (possible only on wildly inconsistent data), a
    rollback is the safe reading. ``comparison`` is the metric's own description of the two
    versions, ending where the e-values are to be appended; ``e_value`` carries the Fail side,
    the one a rollback rests on.
    """
    if fail_log_e >= log_threshold:
        verdict, outcome = Verdict.FAIL, "worse than the margin"
    elif pass_log_e >= log_threshold:
        verdict, outcome = Verdict.PASS, "within the margin"
    else:
        verdict, outcome = Verdict.INCONCLUSIVE, "not yet decided"
    fail_e_value, pass_e_value = e_value_from_log(fail_log_e), e_value_from_log(pass_log_e)
    explanation = (
        f"{comparison}e-value {fail_e_value:.3g} for worse, {pass_e_value:.3g} for within"
        f" (threshold {math.exp(log_threshold):.3g}), {outcome}."
    )
    return replace(
        base,
        verdict=verdict,
        effect=effect,
        interval=interval,
        e_value=fail_e_value,
        explanation=explanation,
    )


def short_of_fail(base: MetricTest, fail_log_e: float, log_threshold: float) -> MetricTest | None:
    """``AssessConfig.fail_only``'s result short of a Fail: Inconclusive, with the e-value the
    whole result would carry; None on a Fail, which is then assessed in full."""
    if fail_log_e >= log_threshold:
        return None
    return replace(
        base,
        e_value=e_value_from_log(fail_log_e),
        explanation=f"e-value {e_value_from_log(fail_log_e):.3g} for worse, short of a Fail.",
    )


def collecting(
    method: str,
    samples_stable: int,
    samples_candidate: int,
    min_samples: int,
    stable: float | None,
    candidate: float | None,
) -> MetricTest:
    """The Inconclusive result every test starts from once both versions have data.

    It already carries both versions' values, so a candidate still short of ``minSamples`` is
    shown with what it has measured so far.
    """
    return inconclusive(
        method,
        f"Candidate has {samples_candidate} requests, fewer than minSamples {min_samples}: still collecting.",
        samples_stable,
        samples_candidate,
        stable,
        candidate,
    )


def format_number(value: float | None, digits: int = 3) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def format_percent(value: float | None, digits: int = 2) -> str:
    """A share as percent (0.0123 -> "1.23%")."""
    if value is None or math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{100 * value:.{digits}f}%"
