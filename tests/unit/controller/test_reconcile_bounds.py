"""Status stays small whatever the evidence says, and a status the apiserver refuses is reported
where people look. Against the in-memory apiserver, with the operator's own Reconciler."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import KIND, MetricResult, Verdict
from modelrollout.k8s import KubeError
from modelrollout.rollout import AnalysisObservation

from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, rollout_spec

STATUS_BOUND = 96 * 1024
"""`STATUS_MAX_BYTES`, the bound the README states."""
HUGE = "<" * 200_000
"""A 200 KB error body quoted into an explanation (`<` is six bytes in the apiserver's JSON)."""
STEPS = [{"setWeight": 25}, {"analysis": {}}, {"setWeight": 50}]


def size(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":")).encode())


def evidence(name: str) -> MetricResult:
    return MetricResult(
        name=name, verdict=Verdict.INCONCLUSIVE, stable=0.1, candidate=0.2, effect=0.1,
        samples_stable=10**9, samples_candidate=10**9, explanation=HUGE,
    )  # fmt: skip


def analysed(cluster: FakeCluster) -> None:
    """One reconcile given an analysis whose every metric quotes a 200 KB error body."""
    loaded = cluster.reconciler.load(NAMESPACE, NAME)
    assert loaded is not None and loaded.spec is not None
    metrics = tuple(evidence(metric.name) for metric in loaded.spec.analysis.metrics)
    observation = AnalysisObservation(
        verdict=Verdict.INCONCLUSIVE, evaluated_at=cluster.now, metrics=metrics, message=HUGE
    )
    cluster.reconciler.reconcile(loaded, observation, cluster.now)


def many_metrics() -> list[dict[str, Any]]:
    return [
        {"name": f"errors-{index:02d}", "type": "errorRate", "maxAbsoluteIncrease": 0.01}
        for index in range(32)
    ]


def test_a_huge_error_body_in_every_metric_leaves_status_under_its_bound() -> None:
    spec = rollout_spec(STEPS)
    spec["analysis"]["metrics"] = many_metrics()
    cluster = FakeCluster.with_rollout(spec)
    cluster.run_until(at("Progressing", 1))

    analysed(cluster)

    status = cluster.status()
    assert size(status) <= STATUS_BOUND, size(status)
    metrics = status["analysis"]["metrics"]
    assert len(metrics) == 32 and all(metric["explanation"].startswith("<<<") for metric in metrics)
    assert status["analysis"]["message"].endswith("…"), "cut, and visibly so"


def old_version(index: int) -> dict[str, Any]:
    """A finished version of an old rollout: the most a lineage entry can hold."""
    return {
        "version": f"v{index:03d}-" + "x" * 35, "parent": "v0", "outcome": "RolledBack",
        "parameters": {f"key-{key:02d}-{'k' * 50}": "v" * 256 for key in range(32)},
        "reason": "r" * 5000, "metrics": [evidence(f"m{m}").model_dump(by_alias=True) for m in range(32)],
    }  # fmt: skip


def test_a_long_lineage_sheds_the_oldest_evidence_first_and_keeps_the_stable() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cluster.run_until(at("Progressing", 1))
    rollout = cluster.rollout()
    lineage = [old_version(index) for index in range(48)] + rollout["status"]["lineage"]
    cluster.client.add({**rollout, "metadata": {**rollout["metadata"], "name": "crowded"}})
    cluster.client.delete(KIND, NAMESPACE, NAME)
    cluster.client.add({**rollout, "status": {**rollout["status"], "lineage": lineage}})

    analysed(cluster)

    status = cluster.status()
    assert size(status) <= STATUS_BOUND, size(status)
    entries = {entry["version"]: entry for entry in status["lineage"]}
    assert len(entries) == 50, "every version is still listed"
    assert entries["v2"]["parameters"] == {"learningRate": 0.01}, "the candidate's parameters kept"
    newest_old = entries[old_version(47)["version"]]
    oldest = entries[old_version(0)["version"]]
    assert "metrics" not in oldest, "the oldest evidence goes first"
    assert len(newest_old.get("metrics") or []) >= len(oldest.get("metrics") or [])


def test_a_refused_status_write_becomes_a_warning_and_a_degraded_condition() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cluster.run_until(at("Progressing", 1))
    writes_before = len(cluster.client.calls_to("patch_rollout_status"))
    refusal = 'ModelRollout.modelrollout.io "fraud-scorer" is invalid: status.message: ' + "Too long " * 5000
    cluster.client.fail("patch_rollout_status", KubeError(422, "Invalid", refusal), times=1)

    cluster.step(Verdict.INCONCLUSIVE)

    events = [e for e in cluster.client.events() if e["reason"] == "StatusWriteRejected"]
    assert [e["type"] for e in events] == ["Warning"]
    assert "422" in events[0]["message"] and len(events[0]["message"]) <= 1024
    degraded = cluster.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "StatusWriteRejected")
    assert "status.message" in degraded["message"] and len(degraded["message"]) <= 1024
    refused, minimal = cluster.client.calls_to("patch_rollout_status")[writes_before:][:2]
    assert "analysis" in refused.args["status"], "the decided status was the one refused"
    assert set(minimal.args["status"]) == {"conditions"}, "only the condition, so it fits"


@pytest.mark.parametrize(
    "refused",
    [
        KubeError(413, "RequestEntityTooLarge", "request entity too large"),
        KubeError(500, "InternalError", "etcdserver: request is too large"),
    ],
    ids=["apiserver-413", "etcd-limit"],
)
def test_a_status_write_refused_again_is_warned_about_once(refused: KubeError) -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cluster.run_until(at("Progressing", 1))
    cluster.client.fail(
        "patch_rollout_status",
        refused,
        times=None,
        where=lambda call: "conditions" not in call.args["status"],
    )

    for _ in range(3):
        cluster.step(Verdict.INCONCLUSIVE)

    assert [e["reason"] for e in cluster.client.events()].count("StatusWriteRejected") == 1
    cluster.client.heal()
    cluster.step(Verdict.INCONCLUSIVE)
    assert cluster.condition("Degraded")["reason"] != "StatusWriteRejected", "cleared once a write succeeds"
