"""`spec.strategy.shadow`: its defaults, the program it runs, and the refusals `kubectl apply`
gives (the same words from pydantic; the apiserver's own are in the CRD validation test)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from modelrollout.api.v1alpha1 import (
    CanaryStep,
    ModelRolloutSpec,
    SetMirrorRoute,
    StepAnalysis,
    StrategyType,
    TrafficProvider,
)
from modelrollout.api.v1alpha1 import crd_rules as rules
from modelrollout.api.v1alpha1.crd import build_crd

from ...fixtures.specs import patched, shadow


def test_a_shadow_rollout_defaults_to_every_request_and_the_usual_margins() -> None:
    spec = ModelRolloutSpec.model_validate(patched(shadow()))
    assert spec.strategy.type == StrategyType.SHADOW and spec.strategy.shadow is not None
    settings = spec.strategy.shadow
    assert (settings.percentage, settings.min_agreement, settings.max_score_difference) == (100, 0.95, 0.05)
    assert settings.max_duration is None


def test_it_runs_the_mirror_then_one_analysis_as_canary_steps() -> None:
    spec = ModelRolloutSpec.model_validate(
        patched(shadow(percentage=25, maxDuration="5m", minAgreement=0.99, maxScoreDifference=0.02))
    )
    assert spec.strategy.run_steps() == [
        CanaryStep(set_mirror_route=SetMirrorRoute(name="shadow", percentage=25)),
        CanaryStep(analysis=StepAnalysis(max_duration="5m")),
    ]
    assert spec.strategy.analysis_at(1) == StepAnalysis(max_duration="5m")
    assert spec.strategy.analysis_at(0) is None


@pytest.mark.parametrize(
    ("traffic", "named"),
    [
        (None, "replicas"),
        ({"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "public"}}, "gatewayAPI"),
        ({"provider": "istio", "istio": {"virtualService": "public"}}, "istio"),
    ],
)
def test_a_provider_that_cannot_compare_predictions_is_refused_by_name(
    traffic: dict[str, Any] | None, named: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        ModelRolloutSpec.model_validate(patched(shadow(traffic=traffic)))
    message = rules.SHADOW_NEEDS_ROUTER[TrafficProvider(named)].message
    assert message in str(raised.value)
    assert f"needs traffic.provider router, not {named}:" in message


def test_the_crd_carries_the_rules_where_the_apiserver_reads_them() -> None:
    schema = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    strategy_rules = [
        entry["message"] for entry in schema["properties"]["strategy"]["x-kubernetes-validations"]
    ]
    spec_rules = [entry["message"] for entry in schema["x-kubernetes-validations"]]
    assert {rule.message for rule in rules.SHADOW_STRATEGY_RULES} <= set(strategy_rules)
    assert {rule.message for rule in rules.SHADOW_SPEC_RULES} <= set(spec_rules)
    shadow_block = schema["properties"]["strategy"]["properties"]["shadow"]["properties"]
    assert shadow_block["percentage"]["default"] == 100 and shadow_block["minAgreement"]["default"] == 0.95
    assert shadow_block["maxScoreDifference"]["maximum"] == 1


def test_no_other_strategy_is_held_to_the_shadow_rules() -> None:
    canary = patched({"strategy": {"traffic": {"provider": "router"}}})
    assert ModelRolloutSpec.model_validate(canary).strategy.shadow is None
