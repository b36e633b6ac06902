"""The committed CRD on a real apiserver: bad specs are refused at `kubectl apply` with a message that
names the field and the problem, a good one is stored and defaulted exactly as pydantic reads it,
`kubectl explain` has text, and `kubectl get` shows the printer columns.

Every invalid spec is a small JSON merge patch of one valid spec, applied server-side by the real
kubectl. The same patches go through pydantic (no cluster needed) to keep both answers the same.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from modelrollout.api.v1alpha1 import ModelRolloutSpec, ModelRolloutStatus
from modelrollout.api.v1alpha1 import crd_rules as rules
from modelrollout_dev import LocalCluster

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = REPO / "crds" / "modelrollout.io_modelrollouts.yaml"
CRD_NAME = "modelrollouts.modelrollout.io"

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


def one_step(step: dict[str, Any]) -> dict[str, Any]:
    return {"strategy": {"canary": {"steps": [step]}}}


def auth(**refs: str) -> dict[str, Any]:
    return {
        "analysis": {
            "prometheus": {"auth": {kind: {"name": "prom", "key": key} for kind, key in refs.items()}}
        }
    }


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


def manifest(spec: dict[str, Any], name: str, namespace: str) -> str:
    document = {
        "apiVersion": "modelrollout.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    return yaml.safe_dump(document)


@pytest.fixture(scope="module")
def rollouts(cluster: LocalCluster) -> Iterator[tuple[LocalCluster, str]]:
    """The CRD installed and served, and a namespace for this module's ModelRollouts."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD_FILE))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    namespace = f"crd-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", namespace)
    deadline = time.monotonic() + 30
    while cluster.kubectl("get", "modelrollouts", "-n", namespace, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the ModelRollout resource never appeared in discovery")
        time.sleep(0.5)
    try:
        yield cluster, namespace
    finally:
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@pytest.mark.parametrize("case", INVALID, ids=[case.id for case in INVALID])
def test_pydantic_refuses_what_the_apiserver_refuses(case: Invalid) -> None:
    spec = merge_patch(BASE_SPEC, case.patch)
    if not case.pydantic:
        ModelRolloutSpec.model_validate(spec)
        return
    with pytest.raises(ValidationError) as raised:
        ModelRolloutSpec.model_validate(spec)
    if case.text in {rule.message for group in rules.RULES.values() for rule in group}:
        assert case.text in str(raised.value)


def test_the_cases_are_many_and_distinct() -> None:
    assert len(INVALID) >= 30
    assert len({case.id for case in INVALID}) == len(INVALID)
    assert len({json.dumps([case.patch, case.name], sort_keys=True) for case in INVALID}) == len(INVALID)


@pytest.mark.cluster
@pytest.mark.parametrize("case", INVALID, ids=[case.id for case in INVALID])
def test_invalid_spec_is_refused_naming_the_field(rollouts: tuple[LocalCluster, str], case: Invalid) -> None:
    cluster, namespace = rollouts
    name = case.name or f"bad-{case.id}"
    document = manifest(merge_patch(BASE_SPEC, case.patch), name, namespace)
    applied = cluster.kubectl("apply", "--server-side", "-f", "-", input=document, check=False)
    answer = applied.stdout + applied.stderr
    assert applied.returncode != 0, f"accepted: {answer}"
    assert case.field in answer and case.text in answer, answer
    if case.id != "interval-overflows":
        assert "type conversion error" not in answer, f"a CEL rule read a malformed duration: {answer}"
    assert cluster.kubectl("get", "modelrollout", name, "-n", namespace, check=False).returncode != 0


@pytest.mark.cluster
def test_valid_spec_is_stored_with_the_defaults_pydantic_applies(rollouts: tuple[LocalCluster, str]) -> None:
    cluster, namespace = rollouts
    cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest(BASE_SPEC, "fraud-scorer", namespace))
    stored = json.loads(cluster.kubectl("get", "mro", "fraud-scorer", "-n", namespace, "-o", "json").stdout)
    expected = ModelRolloutSpec.model_validate(BASE_SPEC).model_dump(
        by_alias=True, exclude_none=True, mode="json"
    )
    assert stored["spec"] == expected
    assert ModelRolloutSpec.model_validate(stored["spec"]) == ModelRolloutSpec.model_validate(BASE_SPEC)


@pytest.mark.cluster
def test_a_stable_only_rollout_needs_no_strategy(rollouts: tuple[LocalCluster, str]) -> None:
    cluster, namespace = rollouts
    spec = {"model": "encoder", "service": "encoder", "stable": {"version": "v1"}}
    cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest(spec, "encoder", namespace))
    stored = json.loads(cluster.kubectl("get", "mro", "encoder", "-n", namespace, "-o", "json").stdout)
    assert stored["spec"]["strategy"] == {"type": "Canary", "traffic": {"provider": "replicas"}}
    assert stored["spec"]["analysis"]["interval"] == "30s"


def written_status() -> dict[str, Any]:
    status = ModelRolloutStatus.model_validate(
        {
            "phase": "Progressing",
            "message": "analysing step 2",
            "observedGeneration": 1,
            "stableVersion": "v7",
            "candidateVersion": "v8",
            "candidateWeight": 25,
            "weights": {"v7": 75, "v8": 25},
            "currentStep": 2,
            "analysis": {
                "verdict": "Pass",
                "runs": 3,
                "metrics": [{"name": "latency", "verdict": "Pass", "effect": 0.01, "samplesCandidate": 900}],
            },
            "conditions": [
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "StepCompleted",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
            "lineage": [{"version": "v7", "outcome": "Stable", "parameters": {"epochs": 10}}],
            "kopf": {"progress": {"on_update": {"retries": 1}}},
        }
    )
    written: dict[str, Any] = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    return written


@pytest.mark.cluster
def test_status_keeps_what_the_operator_writes_and_feeds_the_columns(
    rollouts: tuple[LocalCluster, str],
) -> None:
    cluster, namespace = rollouts
    cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest(BASE_SPEC, "columns", namespace))
    status = written_status()
    cluster.kubectl(
        "patch", "mro", "columns", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )  # fmt: skip
    stored = json.loads(cluster.kubectl("get", "mro", "columns", "-n", namespace, "-o", "json").stdout)
    assert stored["status"] == status, "the apiserver pruned or changed status fields"

    table = cluster.kubectl("get", "mro", "columns", "-n", namespace).stdout.splitlines()
    assert table[0].split() == [
        "NAME",
        "MODEL",
        "STABLE",
        "CANDIDATE",
        "PHASE",
        "WEIGHT",
        "STEP",
        "VERDICT",
        "AGE",
    ]
    assert table[1].split()[:8] == ["columns", "fraud-scorer", "v7", "v8", "Progressing", "25", "2", "Pass"]

    wide = cluster.kubectl("get", "mro", "columns", "-n", namespace, "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-3:] == ["SERVICE", "STRATEGY", "MESSAGE"]
    assert wide[1].split()[-5:] == ["fraud-scorer", "Canary", "analysing", "step", "2"]


@pytest.mark.cluster
def test_kubectl_explain_describes_the_analysis(rollouts: tuple[LocalCluster, str]) -> None:
    cluster, _ = rollouts
    explained = cluster.kubectl("explain", "modelrollout.spec.analysis").stdout
    assert "How the candidate is judged." in explained
    for field_name, words in [
        ("interval", "How often the metrics are queried"),
        ("maxDuration", "may collect evidence"),
        ("metrics", "The metrics to test"),
        ("onInconclusive", "passes without a verdict"),
    ]:
        assert field_name in explained and words in explained, field_name
    steps = cluster.kubectl("explain", "mro.spec.strategy.canary.steps").stdout
    assert "Exactly one of `setWeight`, `pause` and `analysis`" in steps or "The steps, in order" in steps
    assert "kopf's own bookkeeping" in cluster.kubectl("explain", "mro.status.kopf").stdout
