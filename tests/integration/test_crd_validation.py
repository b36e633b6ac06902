"""The committed CRD on a real apiserver: bad specs are refused at `kubectl apply` with a message that
names the field and the problem, a good one is stored and defaulted exactly as pydantic reads it,
`kubectl explain` has text, and `kubectl get` shows the printer columns.

Every invalid spec is a small JSON merge patch of one valid spec (`tests/fixtures/specs.py`),
applied server-side by the real kubectl; `tests/unit/api/test_spec_rules.py` puts the same patches
through pydantic, so the operator and `kubectl apply` give the same answer.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelrollout.api.v1alpha1 import ModelRolloutSpec, ModelRolloutStatus
from modelrollout_dev import LocalCluster

from ..fixtures.specs import BASE_SPEC, DECIMAL_WEIGHTS, INVALID, Invalid, merge_patch

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = REPO / "crds" / "modelrollout.io_modelrollouts.yaml"
CRD_NAME = "modelrollouts.modelrollout.io"


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
    cluster.wait_established(CRD_NAME, timeout=60)
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
def test_weights_in_tenths_of_a_percent_are_accepted_and_kept_as_written(
    rollouts: tuple[LocalCluster, str],
) -> None:
    """The CEL rule's float slack: 0.3, 0.7 and 33.3 are not exact binary fractions, and a
    `multipleOf: 0.1` would refuse some of them; whole numbers stay valid as before."""
    cluster, namespace = rollouts
    steps = [{"setWeight": weight} for weight in DECIMAL_WEIGHTS]
    spec = merge_patch(BASE_SPEC, {"strategy": {"canary": {"steps": steps}}})
    cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest(spec, "tenths", namespace))
    stored = json.loads(cluster.kubectl("get", "mro", "tenths", "-n", namespace, "-o", "json").stdout)
    assert [step["setWeight"] for step in stored["spec"]["strategy"]["canary"]["steps"]] == list(
        DECIMAL_WEIGHTS
    )
    assert ModelRolloutSpec.model_validate(stored["spec"]) == ModelRolloutSpec.model_validate(spec)


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
            "replicas": 4,
            "selector": "modelrollout.io/rollout=columns",
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
    assert wide[0].split()[-4:] == ["SERVICE", "STRATEGY", "REPLICAS", "MESSAGE"]
    assert wide[1].split()[-6:] == ["fraud-scorer", "Canary", "4", "analysing", "step", "2"]


@pytest.mark.cluster
def test_a_weight_of_half_a_percent_is_kept_and_shown_as_written(rollouts: tuple[LocalCluster, str]) -> None:
    cluster, namespace = rollouts
    cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest(BASE_SPEC, "half", namespace))
    status = {**written_status(), "candidateWeight": 0.5, "weights": {"v7": 99.5, "v8": 0.5}}
    cluster.kubectl(
        "patch", "mro", "half", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )  # fmt: skip
    stored = json.loads(cluster.kubectl("get", "mro", "half", "-n", namespace, "-o", "json").stdout)
    assert (stored["status"]["candidateWeight"], stored["status"]["weights"]) == (
        0.5,
        {"v7": 99.5, "v8": 0.5},
    )
    assert ModelRolloutStatus.model_validate(stored["status"]).model_dump(by_alias=True, mode="json")["weights"] == {
        "v7": 99.5, "v8": 0.5,
    }  # fmt: skip
    table = cluster.kubectl("get", "mro", "half", "-n", namespace).stdout.splitlines()
    assert table[1].split()[5] == "0.5"


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
