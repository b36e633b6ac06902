"""The reconcile loop when the apiserver says no: a conflict, a refused apply, a template the
dry-run rejects, a missing Service, a ModelRollout that is gone. Against the in-memory
apiserver, each failure injected where the real one would raise it."""

from __future__ import annotations

import pytest

from modelrollout.api.v1alpha1 import KIND
from modelrollout.k8s import KubeError, NotFound

from ...fixtures.fake_cluster import (
    CANDIDATE,
    NAME,
    NAMESPACE,
    STABLE,
    FakeCluster,
    at,
    pod_template,
    rollout_spec,
)

STEPS = [{"setWeight": 25}, {"pause": {}}]
QUOTA = 'deployments.apps "fraud-scorer-v1" is forbidden: exceeded quota: compute'


def test_a_conflict_on_a_write_is_retried_and_the_write_goes_through() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    conflict = KubeError(409, "Conflict", "the object has been modified")
    cluster.client.fail("patch_rollout_status", conflict, times=1)

    pending = cluster.step()

    first, second, sized = cluster.client.calls_to("patch_rollout_status")
    assert first.args == second.args, "the same status patch, sent again"
    scale = {"replicas": 4, "selector": "modelrollout.io/rollout=fraud-scorer"}
    assert sized.args["status"] == scale, "then the size the apply left, for the scale subresource"
    assert pending["phase"] == "Pending" and pending["weights"] == {"v1": 100}
    assert cluster.replicas() == {STABLE: 4}, "and the apply after it went on"

    cluster.client.fail("scale_deployment", conflict, times=1)  # an HPA got there first
    started = cluster.step()

    assert started["phase"] == "Progressing"
    assert cluster.replicas() == {STABLE: 4, CANDIDATE: 1}, "surge first, the stable held"


def test_a_refused_apply_is_degraded_and_warned_about_once_until_it_goes_through() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    refused = KubeError(403, "Forbidden", QUOTA)
    cluster.client.fail("create_deployment", refused, times=2, where=lambda call: not call.args["dry_run"])

    failed = cluster.step()
    degraded = cluster.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "ApplyFailed")
    assert degraded["message"] == f"creating Deployment {STABLE}: {QUOTA}"
    assert failed["phase"] == "Pending" and cluster.replicas() == {}
    assert cluster.events() == [("Warning", "ApplyFailed")]
    assert cluster.requeues[-1] == 2.0, "retried with backoff"

    cluster.step()  # still refused: still Degraded, not announced again
    assert cluster.condition("Degraded")["reason"] == "ApplyFailed"
    assert cluster.events() == [("Warning", "ApplyFailed")]
    assert cluster.requeues[-1] == 4.0

    cluster.step()  # the quota was raised
    assert cluster.replicas() == {STABLE: 4}
    assert cluster.requeues[-1] == 1.0, "soon again, to clear the stale condition"
    recovered = cluster.step()

    assert cluster.condition("Degraded")["status"] == "False"
    assert recovered["phase"] == "Progressing" and cluster.replicas() == {STABLE: 4, CANDIDATE: 1}
    assert [reason for kind, reason in cluster.events() if kind == "Warning"] == ["ApplyFailed"]


def test_a_candidate_template_the_dry_run_rejects_is_degraded_and_creates_nothing() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS, candidate=None))
    cluster.run_until(at("Promoted"))
    imageless = {"spec": {"containers": [{"name": "model"}]}}

    cluster.client.edit(
        KIND, NAMESPACE, NAME, {"spec": {"candidate": {"version": "v2", "template": imageless}}}
    )
    status = cluster.step()

    degraded = cluster.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "InvalidTemplate")
    assert "containers[0].image" in degraded["message"]
    assert (status["stableVersion"], status["candidateWeight"], status.get("candidateVersion")) == (
        "v1",
        0,
        None,
    )
    assert ("Warning", "InvalidTemplate") in cluster.events()
    assert cluster.replicas() == {STABLE: 4}, "no candidate Deployment, the stable at its size"
    dry_runs = [call.args["dry_run"] for call in cluster.client.calls_to("create_deployment")]
    assert dry_runs[-1] is True and dry_runs.count(False) == 1, "only the stable was ever created"

    cluster.client.edit(
        KIND, NAMESPACE, NAME, {"spec": {"candidate": {"template": pod_template("scorer:v2")}}}
    )
    cluster.run_until(at("Paused", 1))
    assert cluster.condition("Degraded")["status"] == "False"
    assert cluster.replicas() == {STABLE: 3, CANDIDATE: 1}


def test_a_missing_service_is_degraded_until_it_is_created() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS), service=False)

    cluster.step()
    assert cluster.condition("Degraded")["reason"] == "ServiceNotFound"
    assert cluster.events() == [("Warning", "ServiceNotFound")] and cluster.replicas() == {}

    cluster.client.add_service(NAMESPACE, NAME)
    cluster.run_until(at("Paused", 1))
    assert cluster.condition("Degraded")["status"] == "False"
    assert cluster.replicas() == {STABLE: 3, CANDIDATE: 1}


def test_a_deleted_rollout_is_not_loaded() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cluster.step()

    cluster.client.delete(KIND, NAMESPACE, NAME)

    assert cluster.reconciler.load(NAMESPACE, NAME) is None


def test_a_rollout_deleted_between_load_and_write_stops_at_the_status_write_with_nothing_applied() -> None:
    """The NotFound goes up to the daemon, which logs it and backs off; its next load finds
    nothing. Status is written before anything is applied, so nothing moved meanwhile."""
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cluster.step()  # Pending: the stable up; the next reconcile would start the candidate
    loaded = cluster.reconciler.load(NAMESPACE, NAME)
    assert loaded is not None
    cluster.client.delete(KIND, NAMESPACE, NAME)
    calls = len(cluster.client.calls)

    with pytest.raises(NotFound):
        cluster.reconciler.reconcile(loaded, None, cluster.now)

    assert cluster.client.calls[-1].method == "patch_rollout_status"
    made = {call.method for call in cluster.client.calls[calls:]}
    assert not made & {"scale_deployment", "create_event", "delete_deployment"}
    assert [call.args["dry_run"] for call in cluster.client.calls_to("create_deployment")][-1] is True
    assert cluster.replicas() == {STABLE: 4}, "no candidate Deployment, the stable untouched"
    assert cluster.reconciler.load(NAMESPACE, NAME) is None
