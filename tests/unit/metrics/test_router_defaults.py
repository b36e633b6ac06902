"""With `provider: router` the default queries read the router's series, never the model
servers' own: the router counts what users were served (shadow copies apart), and adding the two
would count every request twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from modelrollout.api.router_config import ROUTER_LATENCY, ROUTER_PREDICTION, ROUTER_REQUESTS
from modelrollout.api.v1alpha1 import ModelRolloutSpec, TrafficProvider
from modelrollout.evaluation import request_for_step
from modelrollout.evaluation.probes import plan
from modelrollout.metrics import RangeQuery
from modelrollout.metrics import queries as defaults

from ...fixtures.specs import BASE_SPEC, merge_patch

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_series_per_provider() -> None:
    router = defaults.default_series(TrafficProvider.ROUTER)
    assert (router.latency, router.requests, router.prediction) == (
        ROUTER_LATENCY,
        ROUTER_REQUESTS,
        ROUTER_PREDICTION,
    )
    for provider in (None, TrafficProvider.REPLICAS, TrafficProvider.GATEWAY_API, TrafficProvider.ISTIO):
        model = defaults.default_series(provider)
        assert (model.latency, model.requests, model.prediction) == (
            defaults.LATENCY_METRIC,
            defaults.REQUESTS_METRIC,
            defaults.PREDICTION_METRIC,
        )


def promql(provider: str, metric_patch: dict[str, object] | None = None) -> dict[str, list[str]]:
    patch: dict[str, object] = {"strategy": {"traffic": {"provider": provider}}}
    if metric_patch is not None:
        patch["analysis"] = metric_patch
    spec = ModelRolloutSpec.model_validate(merge_patch(BASE_SPEC, patch))
    at = T0.replace(minute=10)
    request = request_for_step(spec, namespace="ns", name="fraud", started_at=T0, at=at)
    window = RangeQuery("", T0, at, 30.0)
    return {
        probe.metric.name: sorted(piece.query.promql for piece in probe.slices.values())
        for probe in plan(request, window)
    }


@pytest.mark.parametrize("metric", ["latency", "errors", "prediction-drift"])
def test_router_rollouts_read_only_router_series(metric: str) -> None:
    queries = promql("router")[metric]
    assert queries and all("modelrollout_router_" in query for query in queries), queries
    assert not any("model_request" in query or "model_prediction" in query for query in queries)


def test_the_router_error_rate_is_router_errors_over_router_requests() -> None:
    queries = promql("router")["errors"]
    assert f'increase({ROUTER_REQUESTS}{{outcome="error"}}[30s])' in " ".join(queries)
    assert f"increase({ROUTER_REQUESTS}[30s])" in " ".join(queries)


def test_other_providers_keep_the_model_series() -> None:
    queries = promql("replicas")
    assert all("modelrollout_router_" not in query for qs in queries.values() for query in qs)
    assert any("model_request_duration_seconds_bucket" in query for query in queries["latency"])


def test_a_metric_name_still_wins_over_the_router_default() -> None:
    metrics = [
        {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.1, "metricName": "my_latency"},
        {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.005},
    ]
    queries = promql("router", {"metrics": metrics})["latency"]
    assert all("my_latency" in query for query in queries)
