"""The pydantic validators say what the CRD's CEL rules say, rule by rule, with the same words."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from modelrollout.api.v1alpha1 import (
    CanaryStrategy,
    MetricType,
    ModelRolloutSpec,
    StrategySpec,
    StrategyType,
)
from modelrollout.api.v1alpha1 import crd_rules as rules

BASE: dict[str, Any] = {
    "model": "fraud-scorer",
    "service": "fraud-scorer",
    "stable": {"version": "v7"},
    "candidate": {"version": "v8", "parameters": {"learningRate": 0.1}},
    "strategy": {
        "canary": {
            "steps": [
                {"setWeight": 5},
                {"analysis": {}},
                {"pause": {"duration": "5m"}},
                {"setWeight": 50},
                {"analysis": {"metrics": ["latency"], "maxDuration": "10m"}},
            ]
        }
    },
    "analysis": {
        "interval": "30s",
        "prometheus": {"address": "http://prometheus.monitoring:9090"},
        "metrics": [
            {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.1},
            {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.005},
            {"name": "drift", "type": "drift", "statistic": "psi", "max": 0.2},
            {"name": "business", "type": "custom", "query": "sum(x)", "thresholdRange": {"min": 0.9}},
        ],
    },
    "dependsOn": [{"model": "feature-encoder", "criticality": 0.9}],
}


def patched(patch: dict[str, Any]) -> dict[str, Any]:
    """BASE with a JSON merge patch (RFC 7386) applied: None deletes, lists are replaced."""

    def merge(target: Any, change: Any) -> Any:
        if not isinstance(change, dict):
            return copy.deepcopy(change)
        merged = dict(target) if isinstance(target, dict) else {}
        for key, value in change.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge(merged.get(key), value)
        return merged

    result: dict[str, Any] = merge(copy.deepcopy(BASE), patch)
    return result


def metric(**fields: Any) -> dict[str, Any]:
    return {"analysis": {"metrics": [{"name": "latency", **fields}]}}


def steps(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"strategy": {"canary": {"steps": list(entries)}}}


BROKEN: list[tuple[rules.CelRule, dict[str, Any]]] = [
    (rules.CANDIDATE_DIFFERS, {"candidate": {"version": "v7"}}),
    (rules.STRATEGY_BLOCKS_REQUIRED[0], {"strategy": {"canary": None}}),
    (rules.DEPENDS_ON_NOT_SELF, {"dependsOn": [{"model": "fraud-scorer"}]}),
    (rules.DEPENDS_ON_UNIQUE, {"dependsOn": [{"model": "a"}, {"model": "a", "criticality": 0.5}]}),
    (rules.STEP_METRICS_EXIST, steps({"analysis": {"metrics": ["latency", "throughput"]}})),
    (rules.ANALYSIS_STEP_NEEDS_METRICS, {"analysis": {"metrics": [], "prometheus": None}}),
    (rules.STEP_MAX_DURATION_COVERS_INTERVAL, steps({"analysis": {"maxDuration": "10s"}})),
    (rules.STEP_EXACTLY_ONE, steps({"setWeight": 5, "pause": {}})),
    (rules.STEP_EXACTLY_ONE, steps({})),
    (rules.INTERVAL_BOUNDS, {"analysis": {"interval": "4s"}}),
    (rules.INTERVAL_BOUNDS, {"analysis": {"interval": "1h1s", "maxDuration": "2h"}}),
    (rules.MAX_DURATION_COVERS_INTERVAL, {"analysis": {"interval": "1m", "maxDuration": "30s"}}),
    (
        rules.METRIC_NAMES_UNIQUE,
        {"analysis": {"metrics": [*BASE["analysis"]["metrics"], {"name": "errors", "type": "errorPattern"}]}},
    ),
    (rules.PROMETHEUS_FOR_METRICS, {"analysis": {"prometheus": None}}),
    (rules.CUSTOM_NEEDS_QUERY, metric(type="custom", thresholdRange={"max": 1})),
    (rules.CUSTOM_NEEDS_THRESHOLD_RANGE, metric(type="custom", query="sum(x)")),
    (rules.DRIFT_NEEDS_STATISTIC, metric(type="drift", max=0.2)),
    (rules.DRIFT_NEEDS_MAX, metric(type="drift", statistic="ks")),
    (rules.STATISTIC_ONLY_FOR_DRIFT, metric(type="latency", maxRelativeIncrease=0.1, statistic="psi")),
    (rules.RESOURCE_NEEDS_BOUND, metric(type="resource")),
    (rules.MARGIN_REQUIRED, metric(type="latency")),
    (rules.MARGIN_REQUIRED, metric(type="errorRate")),
    (rules.ONE_MARGIN, metric(type="latency", maxRelativeIncrease=0.1, maxAbsoluteIncrease=0.01)),
    (rules.THRESHOLD_RANGE_BOUNDED, metric(type="custom", query="sum(x)", thresholdRange={})),
    (rules.THRESHOLD_RANGE_ORDERED, metric(type="custom", query="q", thresholdRange={"min": 2, "max": 1})),
    (
        rules.BASIC_AUTH_PAIRED,
        {"analysis": {"prometheus": {"auth": {"username": {"name": "s", "key": "u"}}}}},
    ),
    (
        rules.BASIC_AUTH_PAIRED,
        {"analysis": {"prometheus": {"auth": {"password": {"name": "s", "key": "p"}}}}},
    ),
    (
        rules.ONE_AUTH_KIND,
        {
            "analysis": {
                "prometheus": {
                    "auth": {
                        "bearerToken": {"name": "s", "key": "t"},
                        "username": {"name": "s", "key": "u"},
                        "password": {"name": "s", "key": "p"},
                    }
                }
            }
        },
    ),
]
"""Each rule broken by a small patch of BASE (some rules more than one way)."""

UNBREAKABLE_TODAY = set(rules.STRATEGY_BLOCKS_FOR_TYPE) if len(StrategyType) == 1 else set()
"""With one strategy type, no block can be set for another type."""


def test_the_base_spec_is_valid() -> None:
    spec = ModelRolloutSpec.model_validate(BASE)
    assert spec.candidate is not None and spec.candidate.version == "v8"
    assert [m.type for m in spec.analysis.metrics] == [
        MetricType.LATENCY,
        MetricType.ERROR_RATE,
        MetricType.DRIFT,
        MetricType.CUSTOM,
    ]


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"model": "m", "service": "s", "stable": {"version": "v1"}}, id="stable-only"),
        pytest.param(patched({"strategy": {"canary": {"steps": [{"setWeight": 100}]}}}), id="no-analysis"),
        pytest.param(patched({"analysis": {"interval": "5s", "maxDuration": "5s"}}), id="shortest-interval"),
        pytest.param(
            patched({"analysis": {"interval": "1h", "maxDuration": "1h"}, **steps({"analysis": {}})}),
            id="longest-interval",
        ),
        pytest.param(patched(metric(type="resource", max=0.8)), id="resource-max"),
        pytest.param(patched(metric(type="resource", thresholdRange={"max": 2})), id="resource-range"),
        pytest.param(patched(metric(type="errorPattern")), id="error-pattern"),
        pytest.param(patched({"strategy": {"canary": None}, "candidate": None}), id="no-candidate-no-steps"),
        pytest.param(
            patched(
                {
                    "analysis": {
                        "prometheus": {
                            "auth": {
                                "username": {"name": "s", "key": "u"},
                                "password": {"name": "s", "key": "p"},
                            }
                        }
                    }
                }
            ),
            id="basic-auth",
        ),
    ],
)
def test_valid_specs_parse(spec: dict[str, Any]) -> None:
    ModelRolloutSpec.model_validate(spec)


@pytest.mark.parametrize(
    ("rule", "patch"),
    BROKEN,
    ids=[f"{i}-{rule.message[:40]}" for i, (rule, _) in enumerate(BROKEN)],
)
def test_a_broken_rule_is_rejected_with_the_cel_message(rule: rules.CelRule, patch: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as raised:
        ModelRolloutSpec.model_validate(patched(patch))
    assert rule.message in str(raised.value)


def test_every_rule_is_exercised() -> None:
    every = {rule for group in rules.RULES.values() for rule in group}
    assert every - UNBREAKABLE_TODAY == {rule for rule, _ in BROKEN}


def test_a_default_strategy_is_valid_without_a_candidate() -> None:
    """`StrategySpec()` is the field's default: it must construct, or every stable-only spec fails."""
    assert StrategySpec().canary is None
    assert StrategySpec().block(StrategyType.CANARY) is None
    strategy = StrategySpec(canary=CanaryStrategy.model_validate({"steps": [{"setWeight": 10}]}))
    assert strategy.block(StrategyType.CANARY) is strategy.canary


def test_a_step_names_each_metric_once() -> None:
    with pytest.raises(ValidationError, match="each metric once"):
        ModelRolloutSpec.model_validate(patched(steps({"analysis": {"metrics": ["latency", "latency"]}})))


def test_durations_in_other_units_compare_by_length() -> None:
    ModelRolloutSpec.model_validate(patched({"analysis": {"interval": "0.5m", "maxDuration": "1h30m"}}))
    ModelRolloutSpec.model_validate(patched({"analysis": {"interval": "5000ms", "maxDuration": "5s"}}))
    with pytest.raises(ValidationError, match=rules.INTERVAL_BOUNDS.message):
        ModelRolloutSpec.model_validate(patched({"analysis": {"interval": "4999ms"}}))


def test_the_strategy_block_follows_the_type_name() -> None:
    assert rules.strategy_block(StrategyType.CANARY) == "canary"
    assert {rule.field_path for rule in rules.STRATEGY_BLOCKS_REQUIRED} == {
        f".strategy.{rules.strategy_block(t)}" for t in StrategyType
    }
