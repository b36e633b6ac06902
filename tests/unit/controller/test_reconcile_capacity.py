"""Surge first through the whole controller, against the in-memory apiserver: a candidate whose
pods never become Ready costs the stable nothing, and `progressDeadline` ends the rollout."""

from __future__ import annotations

from ...fixtures.fake_cluster import CANDIDATE, STABLE, FakeCluster, rollout_spec

STEPS = [{"setWeight": 50}, {"pause": {}}]


def test_a_candidate_that_never_becomes_ready_leaves_the_stable_at_full_size_and_rolls_back() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS, progressDeadline="30s"))
    cluster.unready.add(CANDIDATE)
    stable_sizes = []
    statuses = []
    for _ in range(12):
        statuses.append(cluster.step(seconds=5))
        stable_sizes.append(cluster.replicas().get(STABLE))
        if statuses[-1]["phase"] == "RolledBack":
            break

    assert set(stable_sizes) == {4}, "the stable was never scaled down"
    rolled_back = statuses[-1]
    assert rolled_back["phase"] == "RolledBack" and rolled_back["stableVersion"] == "v1"
    assert cluster.replicas() == {STABLE: 4, CANDIDATE: 0}
    assert [s["candidateWeight"] for s in statuses] == [0] * len(statuses), "no weight was ever served"
    assert rolled_back["history"][-1]["reason"] == "ProgressDeadlineExceeded"
    degraded = cluster.condition("Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "ProgressDeadlineExceeded")
    assert ("Warning", "ProgressDeadlineExceeded") in cluster.events()
    assert len(statuses) <= 9, "ended by the deadline: 30 s at 5 s a reconcile, plus the rollback"


def test_the_stable_shrinks_only_for_available_candidate_pods() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cluster.step()  # the stable at full size
    started = cluster.step()
    assert cluster.replicas() == {STABLE: 4, CANDIDATE: 1}
    assert started["progressStartedAt"] == "2030-01-01T00:00:05Z"
    cluster.step()
    assert cluster.replicas() == {STABLE: 3, CANDIDATE: 2}, "one candidate pod Available: one stable pod goes"
    paused = cluster.step()
    assert cluster.replicas() == {STABLE: 2, CANDIDATE: 2}
    assert (paused["phase"], paused["candidateWeight"]) == ("Paused", 50)
    assert "progressStartedAt" not in paused, "no move under way, no deadline"
