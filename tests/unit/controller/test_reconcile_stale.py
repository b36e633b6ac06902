"""A reconcile computed from an old read must not overwrite what was written since: its writes
carry the resourceVersion it read, the apiserver answers 409, and it reloads and decides again
instead of sending its stale status anyway (a deposed leader, a second replica, a slow tick)."""

from __future__ import annotations

from modelrollout.controller.reconcile import STALE_READ_ATTEMPTS, Reconciler
from modelrollout.k8s import KubeError

from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, rollout_spec

STEPS = [{"setWeight": 25}, {"pause": {}}]


def test_a_stale_writer_gets_a_409_and_does_not_overwrite_the_newer_status() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cluster.step()  # Pending: the stable at full size
    stale = Reconciler(cluster.client)  # a second replica that read the rollout here
    stale_read = stale.load(NAMESPACE, NAME)
    assert stale_read is not None
    cluster.run_until(at("Paused", 1))  # the leader carried on meanwhile
    paused = cluster.step()  # and is at rest: a fresh reconcile has nothing to write
    replicas, calls = cluster.replicas(), len(cluster.client.calls)

    stale.reconcile(stale_read, None, cluster.now)

    assert cluster.status() == paused, "nothing the stale reconcile computed landed"
    made = cluster.client.calls[calls:]
    writes = [call for call in made if call.method in ("patch_rollout", "patch_rollout_status")]
    first = writes[0]
    sent_version = first.args.get("resource_version") or first.args["patch"]["metadata"]["resourceVersion"]
    assert sent_version == stale_read.body["metadata"]["resourceVersion"], "its first write was conditional"
    assert made[made.index(first) + 1].method == "get_rollout", "refused, so it reloaded"
    assert writes == [first], "and found nothing to write, instead of sending its stale status anyway"
    assert cluster.replicas() == replicas


def test_a_rollout_that_changes_under_every_write_is_not_applied_and_looked_at_again_soon() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cluster.step()
    conflict = KubeError(409, "Conflict", "the object has been modified")
    cluster.client.fail("patch_rollout_status", conflict, times=None)
    before, calls = cluster.status(), len(cluster.client.calls)

    requeue = cluster.reconcile()

    assert requeue == 0.0, "the next tick comes at once (the daemon's minimum delay)"
    loads = [call for call in cluster.client.calls[calls:] if call.method == "get_rollout"]
    assert len(loads) == STALE_READ_ATTEMPTS, "one read per attempt, a bounded number of attempts"
    assert cluster.status() == before
    assert cluster.client.calls_to("create_deployment")[-1].args["dry_run"] is True, "nothing applied"
