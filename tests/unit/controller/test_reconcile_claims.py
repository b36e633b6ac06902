"""Two ModelRollouts that would fight over one thing: the same `spec.model` (the user's Service
selects pods by `modelrollout.io/model`, so both would serve behind it), or the same Deployment
name (`a` + version `b-c` and `a-b` + version `c` both give `a-b-c`). The later claimant is
Degraded with a message naming the other and touches nothing.

The real Reconciler against the in-memory apiserver, each rollout loaded and reconciled as the
daemon does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from modelrollout.api.v1alpha1 import KIND

from ...fixtures.fake_cluster import NAME, NAMESPACE, STABLE, FakeCluster, at, rollout_spec

EARLIER, LATER = "2029-12-31T00:00:00Z", "2030-01-01T00:00:00Z"
WRITES = frozenset({"create_deployment", "scale_deployment", "patch_deployment", "delete_deployment"})


def _reconcile(cluster: FakeCluster, name: str) -> list[str]:
    """One reconcile of rollout `name`; the methods it called that write Deployments (dry-runs
    left out)."""
    calls = len(cluster.client.calls)
    loaded = cluster.reconciler.load(NAMESPACE, name)
    assert loaded is not None
    cluster.reconciler.reconcile(loaded, None, cluster.now)
    made = cluster.client.calls[calls:]
    return [c.method for c in made if c.method in WRITES and not c.args.get("dry_run")]


def _status(cluster: FakeCluster, name: str) -> dict[str, Any]:
    return dict(cluster.client.get(KIND, NAMESPACE, name).get("status") or {})


def _degraded(cluster: FakeCluster, name: str) -> dict[str, Any]:
    return next(c for c in _status(cluster, name)["conditions"] if c["type"] == "Degraded")


def test_a_later_rollout_of_a_model_already_rolled_out_is_degraded_and_touches_nothing() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}, {"pause": {}}]))
    cluster.client.edit(KIND, NAMESPACE, NAME, {"metadata": {"creationTimestamp": EARLIER}})
    cluster.run_until(at("Paused", 1))
    before = cluster.replicas()
    cluster.client.add_rollout(
        NAMESPACE, "fraud-scorer-b", rollout_spec([{"setWeight": 10}]), creationTimestamp=LATER
    )

    made = _reconcile(cluster, "fraud-scorer-b")

    assert made == [], "no Deployment created, scaled or deleted"
    assert cluster.replicas() == before
    degraded = _degraded(cluster, "fraud-scorer-b")
    assert (degraded["status"], degraded["reason"]) == ("True", "ModelClaimed")
    assert "ModelRollout fraud-scorer" in degraded["message"] and "fraud-scorer" in degraded["message"]
    assert _reconcile(cluster, "fraud-scorer-b") == []
    warnings = [e for e in cluster.client.events() if e["involvedObject"]["name"] == "fraud-scorer-b"]
    assert [(e["type"], e["reason"]) for e in warnings] == [("Warning", "ModelClaimed")], "announced once"

    # The first one is not disturbed by the second.
    cluster.action("resume:n1")
    assert cluster.run_until(at("Promoted"))["stableVersion"] == "v2"

    # Once the first is gone, the second goes ahead.
    cluster.client.delete(KIND, NAMESPACE, NAME)
    cluster.now += timedelta(seconds=30)
    assert "create_deployment" in _reconcile(cluster, "fraud-scorer-b")
    assert _degraded(cluster, "fraud-scorer-b")["reason"] != "ModelClaimed"


def test_rollouts_created_in_the_same_second_are_ordered_by_name() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}]))
    cluster.client.edit(KIND, NAMESPACE, NAME, {"metadata": {"creationTimestamp": LATER}})
    cluster.client.add_rollout(
        NAMESPACE, "a-first", rollout_spec([{"setWeight": 50}]), creationTimestamp=LATER
    )

    assert _reconcile(cluster, "a-first") != []
    assert _reconcile(cluster, NAME) == []
    assert "ModelRollout a-first" in _degraded(cluster, NAME)["message"]


def _other_model(stable: str) -> dict[str, Any]:
    spec = rollout_spec([{"setWeight": 50}], candidate=None)
    spec["model"] = spec["service"] = "other"
    spec["stable"]["version"] = stable
    return spec


def test_a_deployment_name_taken_by_another_rollout_is_refused_with_the_owner_named() -> None:
    """`fraud-scorer` + `v1-a` and `fraud-scorer-v1` + `a` both give `fraud-scorer-v1-a`."""
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}], candidate=None))
    cluster.client.add_service(NAMESPACE, "other")
    cluster.client.add_rollout(NAMESPACE, "fraud-scorer-v1", _other_model("a"), creationTimestamp=EARLIER)
    _reconcile(cluster, "fraud-scorer-v1")
    taken = cluster.client.get("Deployment", NAMESPACE, "fraud-scorer-v1-a")
    cluster.client.edit(KIND, NAMESPACE, NAME, {"spec": {"stable": {"version": "v1-a"}}})

    made = _reconcile(cluster, NAME)

    assert cluster.client.get("Deployment", NAMESPACE, "fraud-scorer-v1-a") == taken, (
        "never adopted or scaled"
    )
    assert "scale_deployment" not in made and "delete_deployment" not in made
    degraded = _degraded(cluster, NAME)
    assert degraded["status"] == "True"
    assert "ModelRollout fraud-scorer-v1" in degraded["message"] and "version a" in degraded["message"]
    assert STABLE not in cluster.replicas()
