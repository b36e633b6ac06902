"""Manual actions are never lost: a second `abort` aborts, an action written while the operator
consumes another is kept, and every action that is not applied says so in a Warning Event.
The real `Reconciler` against the in-memory apiserver; the test is the user with kubectl."""

from __future__ import annotations

from modelrollout.api.v1alpha1 import ANNOTATION_ACTION, KIND

from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, pod_template, rollout_spec

PAUSES = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]


def _written_action(cluster: FakeCluster) -> str | None:
    return (cluster.rollout()["metadata"].get("annotations") or {}).get(ANNOTATION_ACTION)


def _new_candidate(cluster: FakeCluster, version: str) -> None:
    candidate = {"version": version, "template": pod_template(f"registry.local/fraud-scorer:{version}")}
    cluster.client.edit(KIND, NAMESPACE, NAME, {"spec": {"candidate": candidate}})


def _aborted(cluster: FakeCluster) -> FakeCluster:
    """v2 rolled back by a bare `abort` (no nonce), as `kubectl annotate` writes it."""
    cluster.run_until(at("Paused", 1))
    cluster.action("abort")
    cluster.run_until(at("RolledBack"))
    assert cluster.status()["lastAction"]["result"] == "aborted"
    return cluster


def test_a_second_bare_abort_aborts_the_next_candidate() -> None:
    cluster = _aborted(FakeCluster.with_rollout(rollout_spec(PAUSES)))
    _new_candidate(cluster, "v3")
    cluster.run_until(lambda s: s.get("candidateVersion") == "v3" and at("Paused", 1)(s))

    cluster.action("abort")  # the same text as the first abort
    status = cluster.run_until(at("RolledBack"))

    assert status["candidateVersion"] == "v3" and status["candidateWeight"] == 0
    assert [(h["candidate"], h["outcome"]) for h in status["history"]] == [
        ("v2", "Aborted"),
        ("v3", "Aborted"),
    ]
    assert _written_action(cluster) is None


def test_an_abort_written_with_a_new_candidate_keeps_that_candidate_from_starting() -> None:
    cluster = _aborted(FakeCluster.with_rollout(rollout_spec(PAUSES)))

    _new_candidate(cluster, "v3")
    cluster.action("abort:again")
    status = cluster.step()

    assert status["phase"] == "RolledBack" and status["candidateVersion"] == "v3", status
    assert status["lastAction"]["result"] == "aborted before the rollout started"
    assert status["candidateWeight"] == 0 and status["history"][-1]["outcome"] == "Aborted"


def test_an_action_written_between_the_read_and_the_clear_is_kept_and_applied() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(PAUSES))
    cluster.run_until(at("Paused", 1))
    cluster.action("promote:1")
    read = cluster.reconciler.load(NAMESPACE, NAME)
    assert read is not None

    cluster.action("abort:2")  # the user aborts while the operator works on the promote
    cluster.reconciler.reconcile(read, None, cluster.now)

    # The reconcile computed from the promote read is stale (its writes carry the resourceVersion
    # read, so they get a 409): it reads again, and the abort the user wrote last is the one taken.
    status = cluster.run_until(at("RolledBack"))
    assert _written_action(cluster) is None, "the abort was cleared once applied"
    assert status["lastAction"]["verb"] == "abort" and status["lastAction"]["nonce"] == "2"


def test_an_action_that_does_not_fit_the_phase_is_warned_about() -> None:
    cluster = _aborted(FakeCluster.with_rollout(rollout_spec(PAUSES)))

    cluster.action("promote:late")
    status = cluster.step()

    assert status["lastAction"]["result"].startswith("ignored: no rollout is progressing"), status
    assert ("Warning", "ActionIgnored") in cluster.events()
    warning = [e for e in cluster.client.events() if e["reason"] == "ActionIgnored"][-1]
    assert "promote" in warning["message"] and "no rollout is progressing" in warning["message"]
    assert _written_action(cluster) is None


def test_an_action_written_again_with_a_used_nonce_is_warned_about_not_applied_twice() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(PAUSES))
    cluster.run_until(at("Paused", 1))
    cluster.action("promote:1")
    cluster.run_until(at("Paused", 3))

    cluster.action("promote:1")
    status = cluster.step()

    assert status["phase"] == "Paused" and status["currentStep"] == 3, "not promoted a second time"
    warnings = [e for e in cluster.client.events() if e["reason"] == "ActionIgnored"]
    assert len(warnings) == 1 and "already applied" in warnings[0]["message"], warnings
    assert _written_action(cluster) is None


def test_an_invalid_action_written_again_is_warned_about_again() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(PAUSES))
    cluster.run_until(at("Paused", 1))

    for _ in range(2):
        cluster.action("explode:1")
        cluster.step()
        assert _written_action(cluster) is None

    assert [e for e in cluster.events() if e[1] == "InvalidAction"] == [("Warning", "InvalidAction")] * 2
    assert cluster.status().get("lastAction") is None
