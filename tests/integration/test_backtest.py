"""`kubectl-modelrollout backtest` against a real Prometheus holding backfilled history."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelrollout_dev.tools import free_port

pytestmark = pytest.mark.prometheus

CLI = Path(sys.executable).with_name("kubectl-modelrollout")
INTERVAL = 30
EDGES = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, math.inf)
SCRAPE = 10
"""Seconds between backfilled samples: three per analysis interval."""

ROLLOUT = """
apiVersion: modelrollout.io/v1alpha1
kind: ModelRollout
metadata: {name: fraud-scorer, namespace: risk}
spec:
  model: fraud-scorer
  service: fraud-scorer
  stable: {version: v7}
  candidate: {version: v8}
  strategy:
    type: Canary
    canary:
      steps: [{setWeight: 50}, {analysis: {}}]
  analysis:
    interval: 30s
    maxDuration: 30m
    minSamples: 200
    onFailure: rollback
    onInconclusive: pause
    prometheus: {address: "http://prometheus.monitoring:9090"}
    metrics:
      - {name: latency, type: latency, maxRelativeIncrease: 0.10}
      - {name: errors, type: errorRate, maxAbsoluteIncrease: 0.005}
"""


DECIDED_AT_4C1FB86 = {"good": 7, "bad": 1}
"""Decisions until the verdict on these histories, recorded at 4c1fb86 (the analysis' speed-ups
must not move a decision)."""
E_VALUES_AT_4C1FB86 = {
    "good": [0.00356831861821673, 0.0490827404908368],
    "bad": [999999999999998.9, 2641.306361110311],
}
"""The deciding look's e-values (latency, errors), recorded with the decisions."""


@dataclass(frozen=True)
class Traffic:
    """One version's steady traffic: the backfill writes exactly these expected counts."""

    rps: float = 50.0
    error_rate: float = 0.01
    median_latency: float = 0.08


def latency_share(edge: float, median: float) -> float:
    """Share of requests at most `edge` seconds under a log-normal latency (sigma 0.6)."""
    if edge == math.inf:
        return 1.0
    return 0.5 * math.erfc(-math.log(edge / median) / (0.6 * math.sqrt(2)))


def openmetrics(start: int, end: int, versions: dict[str, Traffic]) -> str:
    """Counters and a latency histogram per version from `start` to `end`, as OpenMetrics text."""
    times = range(start, end + 1, SCRAPE)
    base = 'namespace="risk",model="fraud-scorer",version="{}"'
    lines = ["# TYPE model_requests counter"]
    for t in times:
        for version, traffic in versions.items():
            served = traffic.rps * (t - start)
            labels = base.format(version)
            lines.append(
                f'model_requests_total{{{labels},outcome="error"}} {served * traffic.error_rate} {t}'
            )
            lines.append(
                f'model_requests_total{{{labels},outcome="success"}} {served * (1 - traffic.error_rate)} {t}'
            )
    lines.append("# TYPE model_request_duration_seconds histogram")
    for t in times:
        for version, traffic in versions.items():
            served = traffic.rps * (t - start)
            labels = base.format(version)
            for edge in EDGES:
                le = "+Inf" if edge == math.inf else f"{edge}"
                count = served * latency_share(edge, traffic.median_latency)
                lines.append(f'model_request_duration_seconds_bucket{{{labels},le="{le}"}} {count} {t}')
            mean = traffic.median_latency * math.exp(0.18)
            lines.append(f"model_request_duration_seconds_sum{{{labels}}} {served * mean} {t}")
            lines.append(f"model_request_duration_seconds_count{{{labels}}} {served} {t}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def backtest(
    tmp_path: Path, url: str, start: int, end: int, *extra: str, manifest: str = ROLLOUT
) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "rollout.yaml"
    path.write_text(manifest)
    command = [
        str(CLI),
        "backtest",
        "-f",
        str(path),
        "--prometheus",
        url,
        "--start",
        str(start),
        "--end",
        str(end),
    ]
    result = subprocess.run([*command, "-o", "json", *extra], capture_output=True, text=True, timeout=240)
    report = json.loads(result.stdout) if result.stdout.strip() else {"stderr": result.stderr}
    return result.returncode, report


@pytest.fixture
def history_window() -> tuple[int, int]:
    """Forty minutes of history ending an hour ago, aligned to the analysis interval."""
    end = (int(time.time()) // INTERVAL) * INTERVAL - 3600
    return end - 40 * 60, end


def test_a_good_candidate_passes(
    prometheus_factory: Any, tmp_path: Path, history_window: tuple[int, int]
) -> None:
    # Given history in which v8 serves like v7
    first, last = history_window
    prometheus = prometheus_factory.backfilled(openmetrics(first, last, {"v7": Traffic(), "v8": Traffic()}))
    start = first + 5 * 60 + 7

    # When the analysis is replayed from a moment inside it
    status, report = backtest(tmp_path, prometheus.url, start, last)

    # Then it ends Pass and the policy would have promoted
    assert status == 0, report
    assert (report["outcome"], report["action"]) == ("Pass", "promote")
    assert report["decided_at"] == report["decisions"][-1]["time"]
    assert all(d["verdict"] == "Inconclusive" for d in report["decisions"][:-1])
    times = [d["time"] for d in report["decisions"]]
    assert times[0] == _rfc3339((start // INTERVAL + 2) * INTERVAL), "the first complete interval after start"
    final = {m["name"]: m for m in report["decisions"][-1]["metrics"]}
    # The evidence is cumulative: every judged interval adds its 50 rps x 30 s of candidate requests
    per_interval = Traffic().rps * INTERVAL
    assert final["errors"]["samplesCandidate"] == pytest.approx(
        len(report["decisions"]) * per_interval, rel=0.01
    )
    assert final["errors"]["stable"] == pytest.approx(0.01, rel=0.05)
    # And it decides as the analysis did on this history at 4c1fb86, before issue 24's CPU work
    # (which must leave every decision unchanged): Pass at the seventh interval, e-values alike
    assert len(report["decisions"]) == DECIDED_AT_4C1FB86["good"]
    assert [final[name]["eValue"] for name in ("latency", "errors")] == pytest.approx(
        E_VALUES_AT_4C1FB86["good"], rel=1e-6
    )


def test_a_slower_more_erroneous_candidate_fails_early(
    prometheus_factory: Any, tmp_path: Path, history_window: tuple[int, int]
) -> None:
    first, last = history_window
    bad = Traffic(error_rate=0.04, median_latency=0.16)
    prometheus = prometheus_factory.backfilled(openmetrics(first, last, {"v7": Traffic(), "v8": bad}))
    start = first + 5 * 60

    status, report = backtest(tmp_path, prometheus.url, start, last)

    assert status == 1, report
    assert (report["outcome"], report["action"]) == ("Fail", "rollback")
    assert report["decided_at"] is not None
    assert report["decided_at"] == report["decisions"][-1]["time"]
    assert len(report["decisions"]) < 10, "a gross regression is caught within a few intervals"
    verdicts = {m["name"]: m["verdict"] for m in report["decisions"][-1]["metrics"]}
    assert "Fail" in verdicts.values()
    # As at 4c1fb86: both metrics Fail at the first interval
    assert len(report["decisions"]) == DECIDED_AT_4C1FB86["bad"]
    assert verdicts == {"latency": "Fail", "errors": "Fail"}
    final = {m["name"]: m["eValue"] for m in report["decisions"][-1]["metrics"]}
    assert [final[name] for name in ("latency", "errors")] == pytest.approx(
        E_VALUES_AT_4C1FB86["bad"], rel=1e-6
    )


def test_on_failure_pause_is_the_reported_action(
    prometheus_factory: Any, tmp_path: Path, history_window: tuple[int, int]
) -> None:
    first, last = history_window
    bad = Traffic(error_rate=0.04)
    prometheus = prometheus_factory.backfilled(openmetrics(first, last, {"v7": Traffic(), "v8": bad}))

    status, report = backtest(
        tmp_path,
        prometheus.url,
        first + 300,
        last,
        manifest=ROLLOUT.replace("onFailure: rollback", "onFailure: pause"),
    )

    assert status == 1
    assert (report["outcome"], report["action"]) == ("Fail", "pause")


def test_a_range_too_short_for_a_verdict_is_inconclusive_and_continues(
    prometheus_factory: Any, tmp_path: Path, history_window: tuple[int, int]
) -> None:
    first, last = history_window
    prometheus = prometheus_factory.backfilled(openmetrics(first, last, {"v7": Traffic(), "v8": Traffic()}))
    start = first + 300

    status, report = backtest(tmp_path, prometheus.url, start, start + 3 * INTERVAL, "-o", "json")

    assert status == 2
    assert (report["outcome"], report["action"], report["decided_at"]) == ("Inconclusive", "continue", None)
    assert len(report["decisions"]) == 3, "start is aligned: intervals end at +30s, +60s, +90s"


def test_a_query_prometheus_rejects_is_inconclusive_not_an_error(
    prometheus_factory: Any, tmp_path: Path, history_window: tuple[int, int]
) -> None:
    first, last = history_window
    prometheus = prometheus_factory.backfilled(openmetrics(first, last, {"v7": Traffic(), "v8": Traffic()}))
    broken = ROLLOUT.replace(
        "      - {name: errors, type: errorRate, maxAbsoluteIncrease: 0.005}",
        "      - {name: errors, type: errorRate, maxAbsoluteIncrease: 0.005}\n"
        "      - {name: broken, type: custom, query: 'sum(rate(x[', thresholdRange: {max: 1}}",
    )

    status, report = backtest(
        tmp_path, prometheus.url, first + 300, first + 300 + 4 * INTERVAL, manifest=broken
    )

    assert status == 2, report
    broken_results = [m for d in report["decisions"] for m in d["metrics"] if m["name"] == "broken"]
    assert broken_results and all(m["verdict"] == "Inconclusive" for m in broken_results)
    assert all("could not query" in m["explanation"] for m in broken_results)


def test_prometheus_down_at_the_start_is_exit_3(tmp_path: Path) -> None:
    status, report = backtest(tmp_path, f"http://127.0.0.1:{free_port()}", 1_700_000_000, 1_700_003_600)

    assert status == 3
    assert "unreachable" in report["stderr"]


def test_text_output_and_rfc3339_times(
    prometheus_factory: Any, tmp_path: Path, history_window: tuple[int, int]
) -> None:
    first, last = history_window
    prometheus = prometheus_factory.backfilled(openmetrics(first, last, {"v7": Traffic(), "v8": Traffic()}))
    path = tmp_path / "rollout.yaml"
    path.write_text(ROLLOUT)
    start, end = _rfc3339(first + 300), _rfc3339(first + 300 + 3 * INTERVAL)

    result = subprocess.run(
        [
            str(CLI),
            "backtest",
            "-f",
            str(path),
            "--prometheus",
            prometheus.url,
            "--start",
            start,
            "--end",
            end,
            "-o",
            "text",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2, result.stderr
    assert result.stdout.splitlines()[-1] == "outcome: Inconclusive  action: continue  decided at: -"
    assert "errors" in result.stdout and "latency" in result.stdout


def _rfc3339(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


FIXED = (
    ROLLOUT.replace("maxDuration: 30m", "maxDuration: 10m\n    method: fixed")
    .replace(
        "- {name: latency, type: latency, maxRelativeIncrease: 0.10}",
        "- {name: latency, type: latency, maxRelativeIncrease: 0.10, fixedTest: mannWhitney}",
    )
    .replace(
        "- {name: errors, type: errorRate, maxAbsoluteIncrease: 0.005}",
        "- {name: errors, type: errorRate, maxAbsoluteIncrease: 0.005, fixedTest: gTest}",
    )
)


def test_fixed_method_decides_once_at_max_duration_with_the_chosen_tests(
    prometheus_factory: Any, tmp_path: Path, history_window: tuple[int, int]
) -> None:
    # Given history in which v8 is twice as slow and errs four times as often
    first, last = history_window
    bad = Traffic(error_rate=0.04, median_latency=0.16)
    prometheus = prometheus_factory.backfilled(openmetrics(first, last, {"v7": Traffic(), "v8": bad}))

    # When a fixed-horizon analysis (Mann-Whitney for latency, G-test for errors) is replayed
    status, report = backtest(tmp_path, prometheus.url, first + 300, last, manifest=FIXED)

    # Then nothing is decided before maxDuration, and the final look fails with both tests named
    assert status == 1, report
    assert (report["outcome"], report["action"]) == ("Fail", "rollback")
    decisions = report["decisions"]
    assert all(d["verdict"] == "Inconclusive" for d in decisions[:-1])
    assert len(decisions) >= 19, "10 minutes of 30 s intervals before the final look"
    final = {m["name"]: m for m in decisions[-1]["metrics"]}
    assert final["latency"]["verdict"] == final["errors"]["verdict"] == "Fail"
    assert "Mann-Whitney" in final["latency"]["explanation"]
    assert "G-test" in final["errors"]["explanation"] or "G test" in final["errors"]["explanation"]
    assert final["latency"]["effect"] > 0.5, "a candidate request is more often the slower one"
    assert final["latency"]["cohensD"] > 0.8, "median latency doubled: a large effect"
