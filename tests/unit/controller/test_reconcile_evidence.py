"""A metric whose series does not exist, through the controller: the real evaluation on a
static Prometheus, `observation()`, and the reconciler writing to the in-memory apiserver."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from modelrollout.controller.analysis_batcher import analysis_request, observation
from modelrollout.evaluation import evaluate_interval
from modelrollout.metrics import RangeSeries, StaticSource
from modelrollout.metrics import queries as defaults

from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, rollout_spec


def _requests_only(cluster: FakeCluster) -> StaticSource:
    """Both versions serve 100 requests per 5 s interval; no error series exists for the model."""
    start = cluster.now.timestamp() - 60
    points = tuple((start + 5 * i, 100.0) for i in range(200))
    requests = [
        RangeSeries({"namespace": NAMESPACE, "model": NAME, "version": version}, points)
        for version in ("v1", "v2")
    ]
    present = [RangeSeries({"namespace": NAMESPACE, "model": NAME}, points)]
    return StaticSource(
        {
            defaults.requests(defaults.REQUESTS_METRIC, 5): requests,
            defaults.series_presence(defaults.REQUESTS_METRIC): present,
        }
    )


def _reconcile_with_prometheus(cluster: FakeCluster, source: StaticSource) -> dict[str, Any]:
    loaded = cluster.reconciler.load(NAMESPACE, NAME)
    assert loaded is not None and loaded.spec is not None
    request = analysis_request(NAMESPACE, NAME, loaded.spec, loaded.status, cluster.now)
    analysis = observation(evaluate_interval(request, source)) if request is not None else None
    cluster.reconciler.reconcile(loaded, analysis, cluster.now)
    cluster.client.settle_deployments()
    return cluster.status()


def test_a_misnamed_error_series_degrades_warns_once_and_holds_past_max_duration_even_with_promote() -> None:
    # Given a rollout whose onInconclusive is promote, and a Prometheus without the error series
    spec = rollout_spec([{"setWeight": 50}, {"analysis": {}}, {"setWeight": 100}])
    spec["analysis"]["onInconclusive"] = "promote"
    cluster = FakeCluster.with_rollout(spec)
    cluster.run_until(at("Progressing", 1))
    source = _requests_only(cluster)

    # When the analysis runs well past its maxDuration (60 s)
    for _ in range(40):
        status = _reconcile_with_prometheus(cluster, source)
        cluster.now += timedelta(seconds=5)

    # Then the step holds (never promoted), Degraded names the metric and the query, warned once
    assert (status["phase"], status["currentStep"], status["stableVersion"]) == ("Progressing", 1, "v1")
    degraded = cluster.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "MetricNotFound")
    assert (
        "metric errors" in degraded["message"]
        and 'model_requests_total{outcome="error"}' in degraded["message"]
    )
    assert cluster.events().count(("Warning", "MetricNotFound")) == 1
    assert status["analysis"]["metrics"][0]["configurationError"] == "MetricNotFound"
