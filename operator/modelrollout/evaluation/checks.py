"""Checks that come before any statistics: is the evidence really there, and is it what it claims.

Three ways a metric's numbers can mislead, each kept from ever becoming a Pass:

* **Absent series.** A counter absent for a version is zero only when the model has that series
  at all; a series that exists for no version (in the window, nor within the presence lookback)
  is misnamed or carries other labels. That is a configuration error (`MetricNotFound`), named
  with its query, never evidence of health.
* **Wrong shape.** A user's `query` must return what its metric type consumes: counts per
  interval (finite, non-negative, and never strictly between 0 and 1, which no increase of an
  integer counter yields: such a value is a rate or a ratio) or `le`-labelled bucket increases
  for histograms. Anything else is `MetricShapeInvalid`.
* **A version that stops reporting.** Counts that stop growing for one version while the other
  goes on are frozen, not healthy. A stretch of silent looks at the end of the window in which
  the version, at its own earlier pace, should have seen at least `SILENCE_MIN_EXPECTED`
  requests holds the metric at Inconclusive. A stale series (Prometheus stops returning it)
  is silent in the same way: its increases are absent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from ..analysis import MetricTest
from ..api.v1alpha1 import Reason, Verdict
from ..metrics import RangeSeries

SILENCE_MIN_EXPECTED = 10.0
"""Requests a version should have seen over its silent looks before silence counts: at 1 rps a
5% canary sees no request in most 30 s intervals, and that is not silence."""


def not_found(series: str, where: str, query: str) -> MetricTest:
    """The result of a metric whose series exists nowhere: Inconclusive, a configuration error."""
    return MetricTest(
        verdict=Verdict.INCONCLUSIVE,
        method="series check",
        explanation=(
            f"{Reason.METRIC_NOT_FOUND}: no series {series} for {where}; it is misnamed or its labels "
            f"differ, and an absent series is never zero evidence. Query: {query}"
        ),
        configuration_error=Reason.METRIC_NOT_FOUND.value,
    )


def shape_invalid(problem: str, query: str) -> MetricTest:
    return MetricTest(
        verdict=Verdict.INCONCLUSIVE,
        method="shape check",
        explanation=f"{Reason.METRIC_SHAPE_INVALID}: {problem}. Query: {query}",
        configuration_error=Reason.METRIC_SHAPE_INVALID.value,
    )


def count_shape_problem(answer: Sequence[RangeSeries]) -> str | None:
    """Why `answer` is not counts per interval, or None when it is."""
    for series in answer:
        for _, value in series.points:
            if math.isnan(value):
                continue
            if not math.isfinite(value) or value < 0:
                return f"the query must return counts per interval, and it returned {value!r}"
            if 0 < value < 1:
                return (
                    f"the query must return counts per interval (an increase), and it returned "
                    f"{value:g}: a rate or a ratio, not a count"
                )
    return None


def bucket_shape_problem(answer: Sequence[RangeSeries]) -> str | None:
    """Why `answer` is not histogram bucket increases, or None when it is."""
    unlabelled = [series for series in answer if "le" not in series.labels]
    if unlabelled:
        return (
            f"the query must return histogram bucket increases labelled `le`, and {len(unlabelled)} "
            f"of its {len(answer)} series carry no `le` label"
        )
    return count_shape_problem(answer)


def silent_looks(own: Sequence[float], other: Sequence[float]) -> int:
    """How many looks at the end one version stayed silent while the other went on, counting only
    a silence long enough to matter.

    ``own`` and ``other`` are the versions' counts added at each look (absent is 0). The stretch
    counts when the version's own earlier pace (its mean per look before the stretch) predicts at
    least `SILENCE_MIN_EXPECTED` requests over it; 0 otherwise.
    """
    silent = 0
    for mine, theirs in zip(reversed(own), reversed(other), strict=True):
        if mine > 0 or theirs <= 0:
            break
        silent += 1
    earlier = len(own) - silent
    if silent == 0 or earlier == 0:
        return 0
    pace = math.fsum(own[:earlier]) / earlier
    return silent if pace * silent >= SILENCE_MIN_EXPECTED else 0


def per_look(running: Sequence[float]) -> list[float]:
    """Counts added at each look, from cumulative totals."""
    return [value - (running[index - 1] if index else 0.0) for index, value in enumerate(running)]


def hold_if_silent(
    result: MetricTest, stable: tuple[str, Sequence[float]], candidate: tuple[str, Sequence[float]]
) -> MetricTest:
    """`result` with a version that stopped reporting named in its explanation; a Pass on such
    counts becomes Inconclusive. A Fail stands: it rests on what was counted before, and a
    rollback is always safe. Each pair is (the version as shown, its cumulative requests per look).
    """
    notes = []
    for (shown, running), (_, other) in ((stable, candidate), (candidate, stable)):
        silent = silent_looks(per_look(running), per_look(other))
        if silent:
            notes.append(
                f"{shown} stopped reporting: no request counted in the last {silent} interval(s) while "
                f"the other version served; its counts are frozen, not evidence of health."
            )
    if not notes:
        return result
    verdict = Verdict.INCONCLUSIVE if result.verdict == Verdict.PASS else result.verdict
    return replace(result, verdict=verdict, explanation=" ".join([*notes, result.explanation]))
