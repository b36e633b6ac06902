"""Absent series are not zeros: errorRate against a real Prometheus holding backfilled history.

The application exports its errors as a separate counter (`fraud_requests_total` and
`fraud_request_errors_total`), as many do. One Prometheus holds three versions of the model: the
stable v7 (1% errors), v8 (6% errors: +5 pp) and v9 (no error ever, so no error series at all).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrollout_dev import PrometheusServer

from .test_backtest import INTERVAL, SCRAPE, backtest
from .test_backtest import ROLLOUT as BACKTEST_ROLLOUT

pytestmark = pytest.mark.prometheus

RPS = 20.0
ERROR_RATES = {"v7": 0.01, "v8": 0.06, "v9": None}
"""None: the version never had an error, so its error counter was never created."""

ROLLOUT = (
    BACKTEST_ROLLOUT.replace("{version: v8}", "{version: CANDIDATE}")
    .replace("maxDuration: 30m", "maxDuration: 15m")
    .replace("onInconclusive: pause", "onInconclusive: promote")
    .replace("      - {name: latency, type: latency, maxRelativeIncrease: 0.10}\n", "")
    .replace("type: errorRate,", "type: errorRate, metricName: fraud_requests_total,")
    .replace("maxAbsoluteIncrease: 0.005}", "maxAbsoluteIncrease: 0.005ERRORS}")
)


def manifest(candidate: str, errors: str = "") -> str:
    return ROLLOUT.replace("CANDIDATE", candidate).replace("ERRORS", errors)


def openmetrics(start: int, end: int) -> str:
    base = 'namespace="risk",model="fraud-scorer",version="{}"'
    requests, errors = ["# TYPE fraud_requests counter"], ["# TYPE fraud_request_errors counter"]
    for t in range(start, end + 1, SCRAPE):
        served = RPS * (t - start)
        for version, rate in ERROR_RATES.items():
            labels = base.format(version)
            requests.append(f"fraud_requests_total{{{labels}}} {served} {t}")
            if rate is not None:
                errors.append(f"fraud_request_errors_total{{{labels}}} {served * rate} {t}")
    return "\n".join([*requests, *errors, "# EOF"]) + "\n"


@pytest.fixture(scope="module")
def history() -> Iterator[tuple[PrometheusServer, int, int]]:
    """Thirty minutes of history ending an hour ago, on one Prometheus for the whole module."""
    last = (int(time.time()) // INTERVAL) * INTERVAL - 3600
    first = last - 30 * 60
    server = PrometheusServer()
    server.backfill(openmetrics(first, last))
    server.start()
    try:
        yield server, first, last
    finally:
        server.stop(remove=True)


def test_a_misnamed_error_series_is_a_configuration_error_never_a_pass(
    history: tuple[PrometheusServer, int, int], tmp_path: Path
) -> None:
    # Given the natural spec for this application: the errors read as {outcome="error"} on the
    # request counter, a series this application does not have, and a candidate with +5 pp errors
    prometheus, first, last = history

    # When the analysis is replayed
    status, report = backtest(tmp_path, prometheus.url, first + 300, last, manifest=manifest("v8"))

    # Then it is a configuration error (exit 3) naming the query, not a Pass on zero errors
    assert status == 3, report
    assert 'fraud_requests_total{outcome="error"}' in report["stderr"]
    assert "errors" in report["stderr"] and "MetricNotFound" in report["stderr"]


@pytest.mark.parametrize(
    ("candidate", "status", "verdict", "candidate_rate"),
    [("v8", 1, "Fail", 0.06), ("v9", 0, "Pass", 0.0)],
    ids=["a-worse-candidate-fails", "a-candidate-without-an-error-series-passes-beside-the-stable-s"],
)
def test_the_separate_error_counter_named_in_the_spec(
    history: tuple[PrometheusServer, int, int],
    tmp_path: Path,
    candidate: str,
    status: int,
    verdict: str,
    candidate_rate: float,
) -> None:
    # Given the errors named as a counter of their own (v9 never had an error: no series at all)
    prometheus, first, last = history
    spec = manifest(candidate, ", errors: {metricName: fraud_request_errors_total}")

    # When the analysis is replayed
    exit_status, report = backtest(tmp_path, prometheus.url, first + 300, last, manifest=spec)

    # Then +5 pp fails, and zero errors beside the stable's existing series is evidence that passes
    assert exit_status == status, report
    final = {m["name"]: m for m in report["decisions"][-1]["metrics"]}
    assert (report["outcome"], final["errors"]["verdict"]) == (verdict, verdict)
    assert final["errors"]["candidate"] == pytest.approx(candidate_rate, rel=0.1)


@pytest.mark.parametrize(
    ("wrong", "errors", "requests"),
    [
        ("fraud_request_error_total", "fraud_request_error_total", "fraud_requests_total"),
        ("fraud_request_total", "fraud_request_errors_total", "fraud_request_total"),
    ],
    ids=["error-counter", "request-counter"],
)
def test_a_misnamed_counter_never_passes_even_a_healthy_candidate(
    history: tuple[PrometheusServer, int, int], tmp_path: Path, wrong: str, errors: str, requests: str
) -> None:
    prometheus, first, last = history
    spec = manifest("v9", f", errors: {{metricName: {errors}}}").replace(
        "metricName: fraud_requests_total", f"metricName: {requests}"
    )

    status, report = backtest(tmp_path, prometheus.url, first + 300, last, manifest=spec)

    assert status == 3, report
    assert wrong in report["stderr"] and "MetricNotFound" in report["stderr"]
