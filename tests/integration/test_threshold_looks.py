"""Failed looks of a custom check counted on a real Prometheus: each look is a point of the range
query, so a restarted operator re-derives the count from Prometheus alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import (
    AnalysisSpec,
    MetricResult,
    MetricSpec,
    MetricType,
    PrometheusSpec,
    ThresholdRange,
    Verdict,
)
from modelrollout.evaluation import EvaluationRequest, align, evaluate_interval
from modelrollout.metrics import PrometheusSource

pytestmark = pytest.mark.prometheus

INTERVAL = 30
GOOD, BAD = 0.95, 0.5
LOOKS = {"v2": [BAD, GOOD, BAD, BAD, GOOD, GOOD], "v3": [GOOD, BAD, GOOD, GOOD, GOOD, GOOD]}
"""The conversion ratio each candidate shows at each look of the step (interval ends)."""
CONVERSIONS = MetricSpec(
    name="conversions",
    type=MetricType.CUSTOM,
    query='checkout_conversion_ratio{namespace="{{namespace}}", version="{{version}}"}',
    threshold_range=ThresholdRange(min=0.9),
)


def history(started: datetime) -> str:
    """A sample every 10 s, each equal to the value of the look whose interval holds it; request
    counters at 10 per second for the stable v1 and both candidates."""
    first = started.timestamp()
    times = [first + 10 * k for k in range(1, 3 * 6 + 1)]
    ratio, requests = ["# TYPE checkout_conversion_ratio gauge"], ["# TYPE model_requests counter"]
    for version, values in LOOKS.items():
        labels = f'namespace="team-a",model="shop",version="{version}"'
        ratio += [
            f"checkout_conversion_ratio{{{labels}}} {values[k // 3]} {t:.3f}" for k, t in enumerate(times)
        ]
    for version in ("v1", *LOOKS):
        labels = f'namespace="team-a",model="shop",version="{version}"'
        requests += [f"model_requests_total{{{labels}}} {100.0 * k} {t:.3f}" for k, t in enumerate(times)]
    return "\n".join([*ratio, *requests, "# EOF"])


def evaluate(url: str, started: datetime, candidate: str, look: int) -> MetricResult:
    """A fresh source and request each time: nothing carries over but what Prometheus holds."""
    spec = AnalysisSpec(
        interval=f"{INTERVAL}s", prometheus=PrometheusSpec(address=url), metrics=[CONVERSIONS]
    )
    request = EvaluationRequest(
        namespace="team-a", name="shop", model="shop", stable_version="v1", candidate_version=candidate,
        analysis=spec, started_at=started, at=started + timedelta(seconds=INTERVAL * look),
    )  # fmt: skip
    source = PrometheusSource(url)
    try:
        (result,) = evaluate_interval(request, source).metrics
    finally:
        source.close()
    return result


def test_failed_looks_are_counted_over_the_step_from_prometheus(prometheus_factory: Any) -> None:
    started = align(datetime.now(UTC) - timedelta(minutes=10), INTERVAL)
    url = prometheus_factory.backfilled(history(started)).url

    bad_first = evaluate(url, started, "v2", 1)
    two_failed = evaluate(url, started, "v2", 3)
    restarted = evaluate(url, started, "v2", 3)
    third_failure = evaluate(url, started, "v2", 4)
    recovered_too_late = evaluate(url, started, "v2", 6)
    one_failure = evaluate(url, started, "v3", 4)

    assert bad_first.verdict is Verdict.INCONCLUSIVE, bad_first.explanation
    assert two_failed.verdict is Verdict.INCONCLUSIVE, two_failed.explanation
    assert "2 of failureThreshold 3" in two_failed.explanation
    assert restarted == two_failed
    assert third_failure.verdict is Verdict.FAIL, third_failure.explanation
    assert recovered_too_late.verdict is Verdict.FAIL, "the count covers the whole step"
    assert (recovered_too_late.candidate, recovered_too_late.samples_candidate) == (BAD, 6)
    assert one_failure.verdict is Verdict.PASS, one_failure.explanation
    assert "1 of failureThreshold 3" in one_failure.explanation
