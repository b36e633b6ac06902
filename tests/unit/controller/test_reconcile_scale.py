"""The scale subresource as the reconcile loop serves it: `status.selector` selects the pods of
every version, `status.replicas` sums the versions' Deployments as the reconcile left them, and a new `spec.replicas` (what an HPA or
`kubectl scale` writes) is split between the versions' Deployments by their weights, without
touching the rollout's progress; an aborted candidate stays at zero."""

from __future__ import annotations

from typing import Any

from modelrollout.api.v1alpha1 import KIND

from ...fixtures.fake_cluster import CANDIDATE, NAME, NAMESPACE, STABLE, FakeCluster, at, rollout_spec

STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]
PROGRESS = ("phase", "currentStep", "stepStartedAt", "rolloutStartedAt", "weights", "history")


def scale(cluster: FakeCluster, replicas: int) -> None:
    """What the apiserver does with a write to `modelrollouts/scale`: `spec.replicas` changes
    (and with it `metadata.generation`)."""
    cluster.client.edit(KIND, NAMESPACE, NAME, {"spec": {"replicas": replicas}})


def progress(status: dict[str, Any]) -> dict[str, Any]:
    return {field: status.get(field) for field in PROGRESS}


def test_status_carries_the_selector_of_every_version_and_their_total_replicas() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    status = cluster.run_until(at("Paused", 1))
    assert cluster.replicas() == {STABLE: 3, CANDIDATE: 1}
    assert status["selector"] == f"modelrollout.io/rollout={NAME}"
    assert status["replicas"] == 4, "both versions"
    for deployment in cluster.client.objects("Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["modelrollout.io/rollout"] == NAME, "the selector selects every version's pods"


def test_a_new_total_is_split_by_the_weights_at_the_same_step() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    before = cluster.run_until(at("Paused", 1))
    events = cluster.events()

    scale(cluster, 8)
    after = cluster.step()
    assert cluster.replicas() == {STABLE: 6, CANDIDATE: 2}
    assert progress(after) == progress(before), "same phase, step, clocks and weights"
    assert after["observedGeneration"] == before["observedGeneration"] + 1
    assert cluster.events() == events, "a new size is not a transition"
    assert after["replicas"] == 8, "written in the reconcile that scaled"


def test_an_aborted_candidate_stays_at_zero_and_the_stable_takes_every_replica() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cluster.run_until(at("Paused", 1))
    cluster.action("abort:1")
    rolled_back = cluster.run_until(at("RolledBack"))
    assert cluster.replicas() == {STABLE: 4, CANDIDATE: 0}

    for replicas in (7, 2):
        scale(cluster, replicas)
        after = cluster.step()
        assert cluster.replicas() == {STABLE: replicas, CANDIDATE: 0}
        assert progress(after) == progress(rolled_back)
        assert after["replicas"] == replicas
