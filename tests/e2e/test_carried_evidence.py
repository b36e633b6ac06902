"""Evidence carried across a canary's analysis steps, on the real control plane with a real
Prometheus: a candidate worse than the margin, undetected by the short first analysis step, is
rolled back in the second on evidence that spans both, also when the operator is killed as the
second step starts (the window is re-read from Prometheus, from where status says it began)."""

from __future__ import annotations

from typing import Any

import pytest

from modelrollout_dev.model_traffic import Behaviour

from .given import Given
from .specs import base_spec

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

METRICS = [{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01}]
STEPS = [
    {"setWeight": 25},
    {"analysis": {"maxDuration": "10s"}},
    {"setWeight": 50},
    {"analysis": {}},
]
"""The first analysis step sees about 50 candidate requests at 20 rps: fewer than minSamples, so
it cannot decide and ends Inconclusive (onInconclusive: promote goes on to 50%)."""


def _spans_both_steps(status: dict[str, Any]) -> bool:
    analysis = status["analysis"]
    return (
        analysis["evidenceStartedAt"] < analysis["startedAt"]
        and analysis["evidenceIntervals"] > analysis["runs"]
        and status["currentStep"] == 3
    )


def test_a_worse_candidate_undetected_at_step_one_is_rolled_back_at_step_two_on_evidence_from_both(
    given: Given,
) -> None:
    given.service().model_traffic(
        {"v1": Behaviour(error_rate=0.01), "v2": Behaviour(error_rate=0.10)}, rps=20
    )
    spec = base_spec(
        given.env,
        steps=STEPS,
        analysis=given.analysis(METRICS, minSamples=100, onInconclusive="promote"),
    )

    when = (
        given.rollout(spec)
        .kill_operator_when(lambda s: s.get("currentStep") == 3, "the second analysis step started")
        .start_operator()
        .wait_for_phase("RolledBack", timeout=60)
    )

    then = when.then()
    then.phase("RolledBack").stable_version("v1").candidate_weight(0)
    then.event_message("StepCompleted", "step 2/4 (analysis)", "onInconclusive is promote")
    then.that(lambda s: s["analysis"]["verdict"] == "Fail", "the second analysis step failed")
    then.that(_spans_both_steps, "the evidence spans both analysis steps")
    then.that(
        lambda s: "Evidence carried across steps" in s["analysis"]["metrics"][0]["explanation"],
        "the errors metric says its Fail rests on evidence carried across steps",
    )
