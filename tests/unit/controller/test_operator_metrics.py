"""The operator's `/metrics` beyond phase and weight: every version's weight, the step and how
long steps took, conditions, each analysis metric's evidence (values, interval, e-value, samples,
verdict), verdicts counted per interval, rollouts by phase, reconcile time and the Prometheus
queries the analysis sent. A series the rollout no longer has goes at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from modelrollout.api.v1alpha1 import ModelRolloutStatus
from modelrollout.controller.exporter import export_status, forget_rollout
from modelrollout.controller.instruments import InstrumentedSource
from modelrollout.controller.main import parse_settings
from modelrollout.metrics import MetricSourceError, RangeSeries, StaticSource

from ...fixtures.fake_cluster import FakeCluster, at, rollout_spec


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def status(**fields: object) -> ModelRolloutStatus:
    base: dict[str, object] = {
        "phase": "Progressing", "stableVersion": "v1", "candidateVersion": "v2", "candidateWeight": 25,
        "weights": {"v1": 75, "v2": 25}, "currentStep": 1, "stepStartedAt": "2030-01-01T00:00:00Z",
        "conditions": [{"type": "Degraded", "status": "False", "reason": "Healthy",
                        "lastTransitionTime": "2030-01-01T00:00:00Z"}],
        "analysis": {
            "verdict": "Pass", "score": 100, "lastRun": "2030-01-01T00:00:30Z",
            "metrics": [{"name": "latency", "verdict": "Pass", "stable": 0.12, "candidate": 0.125,
                         "effect": 0.04, "intervalLow": -0.01, "intervalHigh": 0.08, "eValue": 0.3,
                         "samplesStable": 1200, "samplesCandidate": 310}],
        },
    }  # fmt: skip
    base.update(fields)
    return ModelRolloutStatus.model_validate(base)


def test_every_version_s_weight_and_each_metric_s_evidence_are_exported() -> None:
    export_status("m-a", "r", "fraud", status())
    rollout = {"namespace": "m-a", "rollout": "r", "model": "fraud"}
    metric = {**rollout, "metric": "latency"}

    assert value("modelrollout_weight_percent", **rollout, version="v1") == 75
    assert value("modelrollout_weight_percent", **rollout, version="v2") == 25
    assert value("modelrollout_step_index", **rollout) == 1
    assert (
        value("modelrollout_step_started_timestamp_seconds", **rollout)
        == datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    )
    assert value("modelrollout_condition", **rollout, type="Degraded", status="False", reason="Healthy") == 1
    assert value("modelrollout_analysis_score", **rollout) == 100
    assert value("modelrollout_analysis_metric_verdict", **metric, verdict="Pass") == 1
    assert value("modelrollout_analysis_metric_value", **metric, side="candidate") == 0.125
    assert value("modelrollout_analysis_metric_effect_interval", **metric, bound="low") == -0.01
    assert value("modelrollout_analysis_metric_effect_interval", **metric, bound="high") == 0.08
    assert value("modelrollout_analysis_metric_evidence", **metric, kind="e_value") == 0.3
    assert value("modelrollout_analysis_metric_samples", **metric, side="stable") == 1200
    assert value("modelrollout_analysis_metric_samples", **metric, side="candidate") == 310
    assert value("modelrollout_rollouts", namespace="m-a", phase="Progressing") == 1
    assert value("modelrollout_rollouts", namespace="m-a", phase="Promoted") == 0


def test_series_the_rollout_no_longer_has_go_and_steps_and_verdicts_are_counted() -> None:
    rollout = {"namespace": "m-b", "rollout": "r", "model": "fraud"}
    export_status("m-b", "r", "fraud", status())
    export_status(
        "m-b", "r", "fraud", status(analysis={"verdict": "Pass", "lastRun": "2030-01-01T00:01:00Z"})
    )
    promoted = status(
        phase="Promoted", stableVersion="v2", candidateVersion=None, candidateWeight=0, weights={"v2": 100},
        currentStep=2, stepStartedAt="2030-01-01T00:01:40Z", analysis=None,
        conditions=[{"type": "Degraded", "status": "True", "reason": "ApplyFailed",
                     "lastTransitionTime": "2030-01-01T00:01:40Z"}],
    )  # fmt: skip

    export_status("m-b", "r", "fraud", promoted)

    assert value("modelrollout_weight_percent", **rollout, version="v1") is None, "v1 serves no more"
    assert value("modelrollout_analysis_metric_value", **rollout, metric="latency", side="candidate") is None
    assert (
        value("modelrollout_condition", **rollout, type="Degraded", status="False", reason="Healthy") is None
    )
    assert (
        value("modelrollout_condition", **rollout, type="Degraded", status="True", reason="ApplyFailed") == 1
    )
    assert value("modelrollout_step_duration_seconds_count", namespace="m-b", rollout="r") == 1
    assert value("modelrollout_step_duration_seconds_sum", namespace="m-b", rollout="r") == 100
    assert value("modelrollout_analysis_verdicts_total", namespace="m-b", rollout="r", verdict="Pass") == 1, (
        "the first export after a start counts nothing it did not see happen; the second interval counts"
    )
    assert value("modelrollout_rollouts", namespace="m-b", phase="Promoted") == 1

    forget_rollout("m-b", "r")

    assert value("modelrollout_phase", **rollout, phase="Promoted") is None
    assert value("modelrollout_step_duration_seconds_count", namespace="m-b", rollout="r") is None
    assert value("modelrollout_analysis_verdicts_total", namespace="m-b", rollout="r", verdict="Pass") is None
    assert value("modelrollout_rollouts", namespace="m-b", phase="Promoted") is None


def test_prometheus_queries_are_counted_and_timed_where_they_are_sent() -> None:
    def sent(kind: str, outcome: str) -> float:
        return value("modelrollout_prometheus_queries_total", kind=kind, outcome=outcome) or 0.0

    before = (sent("instant", "ok"), sent("range", "error"))
    timed = value("modelrollout_prometheus_query_duration_seconds_count", kind="instant") or 0.0
    source = InstrumentedSource(StaticSource({"up": [RangeSeries({}, ((0.0, 1.0),))]}, failing=("down",)))
    moment = datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC)

    source.query("up", moment)
    with pytest.raises(MetricSourceError):
        source.query_range("down", moment, moment, 1.0)

    assert (sent("instant", "ok"), sent("range", "error")) == (before[0] + 1, before[1] + 1)
    assert value("modelrollout_prometheus_query_duration_seconds_count", kind="instant") == timed + 1


def test_each_reconcile_is_timed() -> None:
    before = value("modelrollout_reconcile_duration_seconds_count") or 0.0
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}, {"pause": {}}]))

    cluster.run_until(at("Paused", 1))

    assert (value("modelrollout_reconcile_duration_seconds_count") or 0.0) >= before + len(cluster.requeues)


def test_metrics_are_served_by_default_and_0_turns_them_off() -> None:
    assert parse_settings(["--namespace", "a"]).metrics_port == 8080
    assert parse_settings(["--namespace", "a", "--metrics-port", "0"]).metrics_port == 0


def test_weights_of_tenths_of_a_percent_are_exported_as_they_are() -> None:
    export_status("m-tenths", "r", "fraud", status(candidateWeight=0.5, weights={"v1": 99.5, "v2": 0.5}))
    rollout = {"namespace": "m-tenths", "rollout": "r", "model": "fraud"}
    assert value("modelrollout_candidate_weight_percent", **rollout) == 0.5
    assert value("modelrollout_weight_percent", **rollout, version="v1") == 99.5
    assert value("modelrollout_weight_percent", **rollout, version="v2") == 0.5
    forget_rollout("m-tenths", "r")
