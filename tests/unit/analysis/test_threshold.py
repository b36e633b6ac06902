"""`assess_threshold`: Flagger's failed-check count over the looks of one analysis step."""

from __future__ import annotations

import math

from modelrollout import analysis
from modelrollout.api.v1alpha1 import Verdict

OK, HIGH = 0.5, 2.0


def assess(looks: list[float | None], **options: object) -> analysis.MetricTest:
    settings: dict[str, object] = {"failure_threshold": 3, **options}
    return analysis.assess_threshold(looks, None, 1.0, **settings)  # type: ignore[arg-type]


def test_a_pass_rests_on_as_many_looks_as_a_fail_needs() -> None:
    assert assess([OK, OK]).verdict is Verdict.INCONCLUSIVE
    assert "a Pass needs 3 looks with a value" in assess([OK, OK]).explanation
    assert assess([OK, None, OK, OK]).verdict is Verdict.PASS
    assert assess([OK], failure_threshold=1).verdict is Verdict.PASS


def test_failures_count_below_min_samples_but_a_pass_waits_for_them() -> None:
    few = {"candidate_requests": 10.0, "min_samples": 200}

    assert assess([HIGH, HIGH, HIGH], **few).verdict is Verdict.FAIL
    waiting = assess([OK, OK, OK], **few)
    assert waiting.verdict is Verdict.INCONCLUSIVE
    assert "waiting for 200 requests" in waiting.explanation
    assert assess([OK, OK, OK], candidate_requests=200.0, min_samples=200).verdict is Verdict.PASS


def test_the_result_shows_the_range_the_looks_and_the_stable() -> None:
    result = assess([HIGH, math.nan, OK, HIGH], stable=0.7)

    assert result.verdict is Verdict.INCONCLUSIVE
    assert (result.candidate, result.effect, result.stable) == (HIGH, 1.0, 0.7)
    assert result.interval == (-math.inf, 1.0)
    assert result.samples_candidate == 3
    assert (
        "Failed looks: 2 of failureThreshold 3 (3 of 4 looks had a value): not failed yet."
        in result.explanation
    )


def test_no_looks_is_inconclusive() -> None:
    assert assess([]).verdict is Verdict.INCONCLUSIVE
