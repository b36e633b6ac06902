"""The operator's own /metrics, scraped by a real Prometheus while a canary rolls out: the
weights it moved through, the steps it took and how long, the analysis evidence per metric, the
verdicts, its reconciles and the Prometheus queries it sent; all gone once the rollout is."""

from __future__ import annotations

import pytest

from modelrollout_dev.model_traffic import Behaviour

from .given import Given
from .specs import base_spec

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

METRICS = [
    {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.10},
    {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01, "critical": True},
]
WINDOW = "10m"


def test_a_promotion_is_told_by_the_operator_s_metrics(given: Given) -> None:
    given.service().model_traffic({"v1": Behaviour(), "v2": Behaviour()}, scrape_operator=True)
    namespace = given.env.namespace
    rollout = f'namespace="{namespace}",rollout="{given.env.name}"'
    spec = base_spec(
        given.env,
        steps=[{"setWeight": 25}, {"analysis": {}}, {"setWeight": 50}, {"pause": {"duration": "2s"}}],
        analysis=given.analysis(METRICS),
    )

    when = given.rollout(spec).wait_for_phase("Promoted", timeout=150)
    when.wait_for_series(f'modelrollout_rollouts{{namespace="{namespace}",phase="Promoted"}} == 1')

    then = when.then()
    then.series(
        f'max_over_time((modelrollout_weight_percent{{{rollout},version="v2"}} == 25)[{WINDOW}:1s])',
        lambda found: list(found.values()) == [25.0],
        "v2 served 25% while analysed",
    ).series(
        f"modelrollout_weight_percent{{{rollout}}}",
        lambda found: sorted(found.values()) == [100.0],
        "v2 alone now",
    ).series(
        f'modelrollout_phase{{{rollout},phase="Promoted"}}',
        lambda found: list(found.values()) == [1.0],
        "phase",
    ).series(
        f"modelrollout_step_duration_seconds_count{{{rollout}}}",
        lambda found: sum(found.values()) >= 3,
        "each step seen to complete was timed",
    ).series(
        f'modelrollout_analysis_verdicts_total{{{rollout},verdict="Pass"}}',
        lambda found: sum(found.values()) >= 1,
        "a passing interval was counted",
    )
    for name, labels in (
        ("modelrollout_analysis_metric_value", {"side": {"stable", "candidate", "effect"}}),
        ("modelrollout_analysis_metric_effect_interval", {"bound": {"low", "high"}}),
        ("modelrollout_analysis_metric_evidence", {"kind": {"e_value"}}),
        ("modelrollout_analysis_metric_samples", {"side": {"stable", "candidate"}}),
        ("modelrollout_analysis_metric_verdict", {"verdict": {"Pass"}}),
    ):
        ((key, wanted),) = labels.items()
        then.series(
            f'last_over_time({name}{{{rollout},metric="latency"}}[{WINDOW}])',
            lambda found, key=key, wanted=wanted: {dict(series)[key] for series in found} >= wanted,
            f"{name} of the latency metric by {key}",
        )
    then.series(
        "sum(modelrollout_reconcile_duration_seconds_count)",
        lambda found: sum(found.values()) > 0,
        "reconciles timed",
    ).series(
        'sum(modelrollout_prometheus_queries_total{outcome="ok"})',
        lambda found: sum(found.values()) > 0,
        "the analysis' queries counted",
    ).series(
        "sum(modelrollout_prometheus_query_duration_seconds_count)",
        lambda found: sum(found.values()) > 0,
        "and timed",
    )
    then.event_message("AnalysisPassed", "latency Pass: stable ", "errors Pass: stable ", "samples ")

    when.delete_rollout().wait_for_series(f"absent(modelrollout_phase{{{rollout}}})")
