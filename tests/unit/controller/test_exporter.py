"""The operator's own `/metrics`: a deleted rollout's gauges go with it (a dashboard or an alert
on `modelrollout_phase` would otherwise show it forever, frozen in its last phase)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from modelrollout.api.v1alpha1 import ModelRolloutStatus, Phase
from modelrollout.controller.exporter import export_status

from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, rollout_spec


def _series(namespace: str, rollout: str) -> set[str]:
    return {
        sample.name
        for family in REGISTRY.collect()
        if family.name.startswith("modelrollout_")
        for sample in family.samples
        if sample.labels.get("namespace") == namespace and sample.labels.get("rollout") == rollout
    }


def test_the_gauges_of_a_deleted_rollout_disappear_and_the_others_stay() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}, {"pause": {}}]))
    cluster.run_until(at("Paused", 1))
    export_status("elsewhere", NAME, "fraud-scorer", ModelRolloutStatus(phase=Phase.PROMOTED))
    assert {"modelrollout_phase", "modelrollout_candidate_weight_percent"} <= _series(NAMESPACE, NAME)

    cluster.finalize()

    assert _series(NAMESPACE, NAME) == set()
    assert "modelrollout_phase" in _series("elsewhere", NAME), (
        "another namespace's rollout of that name stays"
    )
