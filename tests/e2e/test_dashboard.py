"""The chart's Grafana dashboard against the real thing: a rollout runs with the operator's
/metrics and the model's own series scraped by a real Prometheus, and every panel's PromQL, as
the chart ships it, returns series over the rollout."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelrollout_dev import LocalCluster, PrometheusServer
from modelrollout_dev.chart import CHART, helm
from modelrollout_dev.model_traffic import Behaviour, ModelTraffic, ready_pods_reader
from modelrollout_dev.tools import free_port, repo_root

from ..conftest import PrometheusFactory
from .env import Env
from .given import Given
from .processes import OperatorProcess
from .specs import base_spec

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

VARIABLES = {"$namespace": ".*", "$rollout": ".*", "$model": ".*", "$__rate_interval": "15s"}
"""Grafana's template variables at "All", and a rate window a 1 s scrape fills."""


def dashboard() -> dict[str, Any]:
    """The dashboard as the chart's ConfigMap carries it."""
    rendered = helm(
        "template", "r", str(repo_root() / CHART), "--set", "dashboard.enabled=true",
        "--show-only", "templates/dashboard.yaml",
    ).stdout  # fmt: skip
    config_map = yaml.safe_load(rendered)
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    result: dict[str, Any] = json.loads(config_map["data"]["modelrollout.json"])
    return result


def query_range(prometheus: PrometheusServer, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    parameters = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": "1s"})
    with urllib.request.urlopen(f"{prometheus.url}/api/v1/query_range?{parameters}", timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return list(body["data"]["result"])


@pytest.fixture
def scraped_env(
    cluster: LocalCluster,
    namespace: str,
    operator_kubeconfig: Path,
    prometheus_factory: PrometheusFactory,
    tmp_path: Path,
) -> Iterator[Env]:
    """The e2e operator with its /metrics served, and one Prometheus scraping it and the model."""
    metrics_port, health_port = free_port(), free_port()
    flags = (
        "--metrics-port",
        str(metrics_port),
        "--health-port",
        str(health_port),
    )  # as the chart passes them
    operator = OperatorProcess(cluster, namespace, operator_kubeconfig, tmp_path / "operator.log", args=flags)
    env = Env(cluster=cluster, namespace=namespace, operator=operator, extra={"health_port": health_port})
    traffic = ModelTraffic(
        namespace=namespace, model=env.model, rps=1000.0,
        behaviours={"v1": Behaviour(), "v2": Behaviour(prediction_mean=0.32)},
        ready_pods=ready_pods_reader(lambda *a: cluster.kubectl(*a), namespace, env.model),
    ).start()  # fmt: skip
    env.traffic = traffic
    env.prometheus = prometheus_factory.scraping([traffic.target, f"127.0.0.1:{metrics_port}"])
    operator.start()
    try:
        yield env
    finally:
        operator.stop()
        traffic.stop()


def test_every_dashboard_panel_returns_series_during_a_rollout(scraped_env: Env) -> None:
    panels = dashboard()["panels"]
    given = Given(scraped_env)
    given.service()
    metrics = [
        {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.10},
        {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01},
        {"name": "drift", "type": "drift", "statistic": "psi", "max": 0.2},
    ]
    spec = base_spec(
        scraped_env, steps=[{"setWeight": 50}, {"analysis": {}}], analysis=given.analysis(metrics)
    )
    start = time.time()

    given.rollout(spec).wait_for_phase("Promoted", timeout=90)
    time.sleep(2)  # one more scrape of the final state

    assert scraped_env.prometheus is not None
    empty = [
        f"{panel['title']}: {target['expr']}"
        for panel in panels
        for target in panel["targets"]
        if not query_range(scraped_env.prometheus, target["expr"], start, time.time())
    ]
    assert empty == [], f"panels without series: {empty}"
    health = f"http://127.0.0.1:{scraped_env.extra['health_port']}/healthz"  # what the chart's probes call
    with urllib.request.urlopen(health, timeout=5) as response:
        assert response.status == 200
    versions = query_range(scraped_env.prometheus, panels[4]["targets"][0]["expr"], start, time.time())
    assert {series["metric"]["version"] for series in versions} == {"v1", "v2"}, "latency per version"
