"""A Prometheus outage mid-analysis: the rollout holds its weights with the stable serving, even
past maxDuration and with `onInconclusive: promote`, and goes on once Prometheus is back."""

from __future__ import annotations

import pytest

from modelrollout_dev.model_traffic import Behaviour

from .given import Given
from .specs import base_spec

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

METRICS = [
    {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.10},
    {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01},
]


def test_an_outage_neither_promotes_nor_rolls_back_and_the_rollout_resumes(given: Given) -> None:
    # given a canary whose analysis would promote on Inconclusive at maxDuration (20 s)
    given.service().model_traffic({"v1": Behaviour(), "v2": Behaviour()})
    spec = base_spec(
        given.env,
        steps=[{"setWeight": 50}, {"analysis": {}}, {"setWeight": 100}],
        analysis=given.analysis(METRICS, maxDuration="20s", onInconclusive="promote"),
    )
    prometheus = given.env.prometheus
    assert prometheus is not None

    # when Prometheus goes down before the analysis step and stays down well past maxDuration
    when = given.when().stop_prometheus()
    given.apply(spec)
    when.wait_for_step(1).wait_for_status(
        lambda s: "could not query" in (s.get("analysis") or {}).get("message", ""),
        "an analysis interval that could not query Prometheus",
    ).sleep(30)

    # then the step holds: no promotion on no evidence, no rollback, the stable still serving
    then = when.then()
    then.phase("Progressing").stable_version("v1").candidate_weight(50)
    then.that(lambda s: s["currentStep"] == 1, "still at the analysis step")
    then.that(lambda s: s["analysis"]["verdict"] == "Inconclusive", "the analysis says Inconclusive")
    then.replicas({"fraud-scorer-v1": 2, "fraud-scorer-v2": 2})

    # and once Prometheus is back on the same address, the analysis decides and the rollout ends
    when.start_prometheus().wait_for_phase("Promoted", timeout=120)
    when.then().phase("Promoted").stable_version("v2").lineage_outcomes({"v2": "Promoted"})
