"""A canary on the real control plane: promoted when good, rolled back when a real Prometheus
shows it is bad."""

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


def test_a_good_canary_is_promoted_step_by_step(given: Given) -> None:
    given.service().model_traffic({"v1": Behaviour(), "v2": Behaviour()})
    spec = base_spec(
        given.env,
        steps=[{"setWeight": 25}, {"analysis": {}}, {"setWeight": 50}, {"pause": {"duration": "2s"}}],
        analysis=given.analysis(METRICS),
    )

    when = given.rollout(spec).wait_for_phase("Promoted", timeout=150)

    then = when.then()
    then.phase("Promoted").stable_version("v2").that(
        lambda s: s["weights"] == {"v2": 100}, "all traffic on v2"
    )
    then.replicas({"fraud-scorer-v2": 4, "fraud-scorer-v1": 0})
    then.lineage_outcomes({"v1": "Stable", "v2": "Promoted"})
    then.that(
        lambda s: s["stablePath"] == ["v1", "v2"] and s["previousGoodVersion"] == "v1", "the stable's path"
    )
    then.that(lambda s: s["analysis"]["verdict"] == "Pass", "the analysis passed")
    then.event("Promoted")


def test_a_canary_with_more_errors_is_rolled_back(given: Given) -> None:
    given.service().model_traffic({"v1": Behaviour(error_rate=0.01), "v2": Behaviour(error_rate=0.08)})
    spec = base_spec(
        given.env,
        steps=[{"setWeight": 50}, {"analysis": {}}, {"setWeight": 100}],
        analysis=given.analysis(METRICS),
    )

    when = given.rollout(spec).wait_for_phase("RolledBack", timeout=150)

    then = when.then()
    then.phase("RolledBack").stable_version("v1").candidate_weight(0)
    then.replicas({"fraud-scorer-v1": 4, "fraud-scorer-v2": 0})
    then.lineage_outcomes({"v2": "RolledBack"})
    then.that(lambda s: s["analysis"]["verdict"] == "Fail", "the analysis failed")
    then.that(
        lambda s: any(m["name"] == "errors" and m["verdict"] == "Fail" for m in s["analysis"]["metrics"]),
        "the errors metric is the one that failed",
    )
