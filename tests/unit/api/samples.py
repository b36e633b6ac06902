"""One valid ModelRollout spec and small patches of it, shared by the unit and integration tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from modelrollout.api.v1alpha1 import crd_rules as rules

BASE_SPEC: dict[str, Any] = {
    "model": "fraud-scorer",
    "service": "fraud-scorer",
    "stable": {"version": "v7"},
    "candidate": {
        "version": "v8",
        "template": {"spec": {"containers": [{"name": "model", "image": "scorer:v8"}]}},
        "parameters": {"learningRate": 0.1, "artefact": "s3://models/fraud-scorer/v8"},
    },
    "strategy": {
        "canary": {
            "steps": [
                {"setWeight": 5},
                {"analysis": {}},
                {"setWeight": 25},
                {"pause": {"duration": "5m"}},
                {"setWeight": 50},
                {"analysis": {"metrics": ["latency", "errors"], "maxDuration": "10m"}},
            ]
        }
    },
    "analysis": {
        "interval": "30s",
        "prometheus": {"address": "http://prometheus.monitoring:9090"},
        "metrics": [
            {"name": "latency", "type": "latency", "maxRelativeIncrease": 0.1},
            {"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.005},
            {"name": "prediction-drift", "type": "drift", "statistic": "psi", "max": 0.2},
            {
                "name": "business",
                "type": "custom",
                "query": 'sum(rate(conversions_total{version="{{version}}"}[{{interval}}]))',
                "thresholdRange": {"min": 0.9},
            },
        ],
    },
    "dependsOn": [{"model": "feature-encoder", "criticality": 0.9}],
}
"""Stable v7, candidate v8, a canary with two analysis steps and one metric of each main type."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, None deletes, everything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def only_metric(**fields: Any) -> dict[str, Any]:
    """Replace the metrics by one named `latency` (the base's steps still name it)."""
    return {
        "analysis": {"metrics": [{"name": "latency", **fields}]},
        "strategy": {"canary": {"steps": [{"setWeight": 5}, {"analysis": {}}]}},
    }


def fixed_metric(**fields: Any) -> dict[str, Any]:
    """`only_metric` with `analysis.method: fixed`, where a metric may choose its `fixedTest`."""
    patch = only_metric(**fields)
    patch["analysis"]["method"] = "fixed"
    return patch


def one_step(step: dict[str, Any]) -> dict[str, Any]:
    return {"strategy": {"canary": {"steps": [step]}}}


def auth(**refs: str) -> dict[str, Any]:
    return {
        "analysis": {
            "prometheus": {"auth": {kind: {"name": "prom", "key": key} for kind, key in refs.items()}}
        }
    }


def patched(patch: dict[str, Any]) -> dict[str, Any]:
    """BASE_SPEC with `patch` merged in."""
    spec: dict[str, Any] = merge_patch(BASE_SPEC, patch)
    return spec


@dataclass(frozen=True)
class Invalid:
    """A patch of BASE_SPEC the apiserver must refuse, and what its message must contain."""

    id: str
    patch: dict[str, Any]
    field: str
    """The field path the apiserver names."""
    text: str
    """The words of the problem."""
    pydantic: bool = True
    """Whether `ModelRolloutSpec` refuses it too (unknown fields and metadata are the apiserver's)."""
    name: str = ""
    """Override of `metadata.name`."""


def cel(id: str, patch: dict[str, Any], field_name: str, rule: rules.CelRule) -> Invalid:
    return Invalid(id, patch, field_name, rule.message)


INVALID = [
    cel(
        "candidate-equals-stable",
        {"candidate": {"version": "v7"}},
        "spec.candidate.version",
        rules.CANDIDATE_DIFFERS,
    ),
    cel(
        "canary-block-missing",
        {"strategy": {"canary": None}},
        "spec.strategy.canary",
        rules.STRATEGY_BLOCKS_REQUIRED[0],
    ),
    Invalid(
        "strategy-not-implemented",
        {"strategy": {"type": "BlueGreen"}},
        "spec.strategy.type",
        'Unsupported value: "BlueGreen"',
    ),
    Invalid(
        "provider-not-implemented",
        {"strategy": {"traffic": {"provider": "istio"}}},
        "spec.strategy.traffic.provider",
        'Unsupported value: "istio"',
    ),
    Invalid(
        "no-steps", {"strategy": {"canary": {"steps": []}}}, "spec.strategy.canary.steps", "at least 1 items"
    ),
    cel(
        "step-with-two-actions",
        one_step({"setWeight": 5, "pause": {}}),
        "spec.strategy.canary.steps[0]",
        rules.STEP_EXACTLY_ONE,
    ),
    cel("step-with-no-action", one_step({}), "spec.strategy.canary.steps[0]", rules.STEP_EXACTLY_ONE),
    Invalid(
        "weight-above-100",
        one_step({"setWeight": 101}),
        "spec.strategy.canary.steps[0].setWeight",
        "less than or equal to 100",
    ),
    Invalid(
        "weight-negative",
        one_step({"setWeight": -1}),
        "spec.strategy.canary.steps[0].setWeight",
        "greater than or equal to 0",
    ),
    Invalid(
        "pause-not-a-duration",
        one_step({"pause": {"duration": "5 minutes"}}),
        "spec.strategy.canary.steps[0].pause.duration",
        "should match",
    ),
    cel(
        "step-names-unknown-metric",
        one_step({"analysis": {"metrics": ["throughput"]}}),
        "spec.strategy.canary.steps",
        rules.STEP_METRICS_EXIST,
    ),
    Invalid(
        "step-names-metric-twice",
        one_step({"analysis": {"metrics": ["latency", "latency"]}}),
        ".spec.strategy.canary.steps[0].analysis.metrics",
        "duplicate entries",
    ),
    cel(
        "step-shorter-than-interval",
        one_step({"analysis": {"maxDuration": "10s"}}),
        "spec.strategy.canary.steps",
        rules.STEP_MAX_DURATION_COVERS_INTERVAL,
    ),
    cel(
        "analysis-step-without-metrics",
        {"analysis": {"metrics": [], "prometheus": None}},
        "spec.analysis.metrics",
        rules.ANALYSIS_STEP_NEEDS_METRICS,
    ),
    cel(
        "score-thresholds-reversed",
        {"analysis": {"scoreThresholds": {"pass": 70, "marginal": 80}}},
        "spec.analysis.scoreThresholds.marginal",
        rules.SCORE_THRESHOLDS_ORDERED,
    ),
    cel(
        "score-marginal-above-default-pass",
        {"analysis": {"scoreThresholds": {"marginal": 60, "pass": 50}}},
        "spec.analysis.scoreThresholds.marginal",
        rules.SCORE_THRESHOLDS_ORDERED,
    ),
    Invalid(
        "score-pass-zero-would-pass-on-no-data",
        {"analysis": {"scoreThresholds": {"pass": 0}}},
        "spec.analysis.scoreThresholds.pass",
        "1",
    ),
    Invalid(
        "score-threshold-above-100",
        {"analysis": {"scoreThresholds": {"pass": 101, "marginal": 75}}},
        "spec.analysis.scoreThresholds.pass",
        "100",
    ),
    cel(
        "interval-too-short",
        {"analysis": {"interval": "2s"}},
        "spec.analysis.interval",
        rules.INTERVAL_BOUNDS,
    ),
    cel(
        "interval-too-long",
        {"analysis": {"interval": "90m", "maxDuration": "3h"}},
        "spec.analysis.interval",
        rules.INTERVAL_BOUNDS,
    ),
    Invalid(
        "interval-overflows",
        {"analysis": {"interval": "99999999999h"}},
        "spec.analysis",
        rules.INTERVAL_BOUNDS.message,
    ),
    Invalid(
        "interval-without-unit", {"analysis": {"interval": "30"}}, "spec.analysis.interval", "should match"
    ),
    cel(
        "max-duration-below-interval",
        {"analysis": {"interval": "1m", "maxDuration": "30s"}},
        "spec.analysis.maxDuration",
        rules.MAX_DURATION_COVERS_INTERVAL,
    ),
    Invalid("alpha-zero", {"analysis": {"alpha": 0}}, "spec.analysis.alpha", "greater than 0"),
    Invalid("alpha-half", {"analysis": {"alpha": 0.5}}, "spec.analysis.alpha", "less than 0.5"),
    Invalid(
        "unknown-inconclusive-policy",
        {"analysis": {"onInconclusive": "ignore"}},
        "spec.analysis.onInconclusive",
        'Unsupported value: "ignore"',
    ),
    cel(
        "metrics-without-prometheus",
        {"analysis": {"prometheus": None}},
        "spec.analysis.prometheus",
        rules.PROMETHEUS_FOR_METRICS,
    ),
    Invalid(
        "prometheus-address-not-http",
        {"analysis": {"prometheus": {"address": "prometheus:9090"}}},
        "spec.analysis.prometheus.address",
        "should match",
    ),
    cel(
        "password-without-username",
        auth(password="pass"),
        "spec.analysis.prometheus.auth.password",
        rules.BASIC_AUTH_PAIRED,
    ),
    cel(
        "username-without-password",
        auth(username="user"),
        "spec.analysis.prometheus.auth.password",
        rules.BASIC_AUTH_PAIRED,
    ),
    cel(
        "bearer-and-basic-auth",
        auth(bearerToken="token", username="user", password="pass"),
        "spec.analysis.prometheus.auth.bearerToken",
        rules.ONE_AUTH_KIND,
    ),
    cel(
        "duplicate-metric-names",
        {
            "analysis": {
                "metrics": [*BASE_SPEC["analysis"]["metrics"], {"name": "errors", "type": "errorPattern"}]
            }
        },
        "spec.analysis.metrics",
        rules.METRIC_NAMES_UNIQUE,
    ),
    Invalid(
        "metric-type-unknown",
        only_metric(type="accuracy"),
        "spec.analysis.metrics[0].type",
        'Unsupported value: "accuracy"',
    ),
    Invalid(
        "metric-name-not-dns",
        {"analysis": {"metrics": [{"name": "Latency_P99", "type": "latency", "maxRelativeIncrease": 0.1}]}},
        "spec.analysis.metrics[0].name",
        "should match",
    ),
    cel(
        "patterns-on-latency",
        only_metric(type="latency", maxRelativeIncrease=0.1, patterns=["OOM"]),
        "spec.analysis.metrics[0].patterns",
        rules.PATTERNS_ONLY_FOR_ERROR_PATTERN,
    ),
    cel(
        "patterns-with-query",
        only_metric(type="errorPattern", query="sum(x)", patterns=["OOM"]),
        "spec.analysis.metrics[0].patterns",
        rules.PATTERNS_NOT_WITH_QUERY,
    ),
    Invalid(
        "patterns-empty",
        only_metric(type="errorPattern", patterns=[]),
        "spec.analysis.metrics[0].patterns",
        "1",
    ),
    cel(
        "custom-without-query",
        only_metric(type="custom", thresholdRange={"max": 1}),
        "spec.analysis.metrics[0].query",
        rules.CUSTOM_NEEDS_QUERY,
    ),
    cel(
        "custom-without-range",
        only_metric(type="custom", query="sum(up)"),
        "spec.analysis.metrics[0].thresholdRange",
        rules.CUSTOM_NEEDS_THRESHOLD_RANGE,
    ),
    cel(
        "range-without-bounds",
        only_metric(type="custom", query="sum(up)", thresholdRange={}),
        "spec.analysis.metrics[0].thresholdRange",
        rules.THRESHOLD_RANGE_BOUNDED,
    ),
    cel(
        "range-upside-down",
        only_metric(type="custom", query="sum(up)", thresholdRange={"min": 2, "max": 1}),
        "spec.analysis.metrics[0].thresholdRange.min",
        rules.THRESHOLD_RANGE_ORDERED,
    ),
    cel(
        "drift-without-statistic",
        only_metric(type="drift", max=0.2),
        "spec.analysis.metrics[0].statistic",
        rules.DRIFT_NEEDS_STATISTIC,
    ),
    cel(
        "drift-without-max",
        only_metric(type="drift", statistic="ks"),
        "spec.analysis.metrics[0].max",
        rules.DRIFT_NEEDS_MAX,
    ),
    cel(
        "statistic-on-latency",
        only_metric(type="latency", maxRelativeIncrease=0.1, statistic="psi"),
        "spec.analysis.metrics[0].statistic",
        rules.STATISTIC_ONLY_FOR_DRIFT,
    ),
    cel(
        "resource-without-bound",
        only_metric(type="resource"),
        "spec.analysis.metrics[0].max",
        rules.RESOURCE_NEEDS_BOUND,
    ),
    cel(
        "latency-without-margin",
        only_metric(type="latency"),
        "spec.analysis.metrics[0].maxRelativeIncrease",
        rules.MARGIN_REQUIRED,
    ),
    cel(
        "error-rate-without-margin",
        only_metric(type="errorRate"),
        "spec.analysis.metrics[0].maxRelativeIncrease",
        rules.MARGIN_REQUIRED,
    ),
    cel(
        "two-margins",
        only_metric(type="errorRate", maxRelativeIncrease=0.1, maxAbsoluteIncrease=0.01),
        "spec.analysis.metrics[0].maxAbsoluteIncrease",
        rules.ONE_MARGIN,
    ),
    Invalid(
        "margin-negative",
        only_metric(type="latency", maxRelativeIncrease=-0.1),
        "spec.analysis.metrics[0].maxRelativeIncrease",
        "greater than or equal to 0",
    ),
    cel(
        "mann-whitney-on-error-rate",
        fixed_metric(type="errorRate", maxAbsoluteIncrease=0.005, fixedTest="mannWhitney"),
        "spec.analysis.metrics[0].fixedTest",
        rules.FIXED_TEST_FITS_TYPE,
    ),
    cel(
        "g-test-on-latency",
        fixed_metric(type="latency", maxRelativeIncrease=0.1, fixedTest="gTest"),
        "spec.analysis.metrics[0].fixedTest",
        rules.FIXED_TEST_FITS_TYPE,
    ),
    cel(
        "fixed-test-on-drift",
        fixed_metric(type="drift", statistic="psi", max=0.2, fixedTest="chiSquare"),
        "spec.analysis.metrics[0].fixedTest",
        rules.FIXED_TEST_FITS_TYPE,
    ),
    Invalid(
        "fixed-test-unknown",
        fixed_metric(type="latency", maxRelativeIncrease=0.1, fixedTest="studentT"),
        "spec.analysis.metrics[0].fixedTest",
        'Unsupported value: "studentT"',
    ),
    cel(
        "fixed-test-with-sequential-method",
        only_metric(type="latency", maxRelativeIncrease=0.1, fixedTest="mannWhitney"),
        "spec.analysis.metrics",
        rules.FIXED_TEST_NEEDS_FIXED_METHOD,
    ),
    cel(
        "depends-on-itself",
        {"dependsOn": [{"model": "fraud-scorer"}]},
        "spec.dependsOn",
        rules.DEPENDS_ON_NOT_SELF,
    ),
    cel(
        "depends-on-twice",
        {"dependsOn": [{"model": "encoder"}, {"model": "encoder", "criticality": 0.2}]},
        "spec.dependsOn",
        rules.DEPENDS_ON_UNIQUE,
    ),
    Invalid(
        "criticality-above-one",
        {"dependsOn": [{"model": "encoder", "criticality": 1.5}]},
        "spec.dependsOn[0].criticality",
        "less than or equal to 1",
    ),
    Invalid("no-stable", {"stable": None}, "spec.stable", "Required value"),
    Invalid("model-not-dns", {"model": "Fraud_Scorer"}, "spec.model", "should match"),
    Invalid("version-too-long", {"candidate": {"version": "v" * 41}}, "spec.candidate.version", "Too long"),
    Invalid("no-replicas", {"replicas": 0}, "spec.replicas", "greater than or equal to 1"),
    Invalid(
        "typo-in-field-name",
        {"analysis": {"intervall": "30s"}},
        ".spec.analysis.intervall",
        "field not declared in schema",
        pydantic=False,
    ),
    Invalid(
        "name-too-long-for-a-label",
        {},
        "ModelRollout",
        rules.NAME_FITS_LABEL.message,
        pydantic=False,
        name="x" * 64,
    ),
]
"""More than thirty ways to get a ModelRollout wrong, each refused at `kubectl apply`."""
