"""The reconcile loop against the in-memory apiserver, phase by phase: what the operator writes
(Deployments and their replicas, status, Events) at each point of a rollout with the
`replicas` provider, as the e2e tests see it on a real control plane, in milliseconds.

Each reconcile is `Reconciler.load` + `Reconciler.reconcile`, as the kopf daemon calls them;
between two, the test lets the Deployments catch up and moves the clock."""

from __future__ import annotations

from typing import Any

from modelrollout.api.v1alpha1 import KIND, Verdict

from ...fixtures.fake_cluster import CANDIDATE, NAME, NAMESPACE, STABLE, FakeCluster, at, rollout_spec


def _lineage(status: dict[str, Any]) -> dict[str, str]:
    return {entry["version"]: entry["outcome"] for entry in status["lineage"]}


def test_a_good_canary_goes_from_pending_through_its_steps_to_promoted() -> None:
    steps = [{"setWeight": 25}, {"analysis": {}}, {"setWeight": 50}, {"pause": {"duration": "10s"}}]
    cluster = FakeCluster.with_rollout(rollout_spec(steps))

    pending = cluster.step(Verdict.PASS)
    assert (pending["phase"], pending["weights"], pending["observedGeneration"]) == (
        "Pending",
        {"v1": 100},
        1,
    )
    assert cluster.replicas() == {STABLE: 4}, "the stable first, at full size; no candidate yet"
    stable = cluster.client.get("Deployment", NAMESPACE, STABLE)["metadata"]
    assert "ownerReferences" not in stable, "no owner GC could follow to the stable (ownership)"
    assert cluster.events() == []

    started = cluster.step(Verdict.PASS)
    assert (started["phase"], started["currentStep"], started["candidateWeight"]) == ("Progressing", 0, 0)
    assert cluster.replicas() == {STABLE: 4, CANDIDATE: 1}, "surge first: v1 keeps 4 until v2 is Available"
    assert cluster.events() == [("Normal", "RolloutStarted")]
    assert _lineage(started) == {"v1": "Stable", "v2": "Progressing"}

    analysing = cluster.step(Verdict.PASS)
    assert (analysing["phase"], analysing["currentStep"], analysing["candidateWeight"]) == (
        "Progressing",
        1,
        25,
    )
    assert cluster.replicas() == {STABLE: 3, CANDIDATE: 1}, "v2's pod is Available: v1 gives one up"
    assert cluster.condition("Progressing")["reason"] == "AnalysisInconclusive", "collecting evidence"

    passed = cluster.step(Verdict.PASS)
    assert (passed["currentStep"], passed["candidateWeight"], passed["analysis"]["verdict"]) == (
        2,
        25,
        "Pass",
    )
    assert cluster.replicas() == {STABLE: 3, CANDIDATE: 2}, "moving to 50%: the candidate surges first"
    assert cluster.events()[-2:] == [("Normal", "AnalysisPassed"), ("Normal", "StepCompleted")]

    paused = cluster.step(Verdict.PASS)
    assert (paused["phase"], paused["currentStep"], paused["pausedReason"]) == ("Paused", 3, "PausedByStep")
    assert (paused["candidateWeight"], cluster.replicas()) == (50, {STABLE: 2, CANDIDATE: 2})
    assert cluster.requeues[-1] == 10.0, "the next look when the pause ends"
    assert cluster.step(Verdict.PASS)["phase"] == "Paused", "5 of its 10 seconds"

    promoting = cluster.step(Verdict.PASS)
    assert (promoting["phase"], promoting["weights"]) == ("Promoting", {"v1": 50, "v2": 50})
    assert cluster.replicas() == {STABLE: 2, CANDIDATE: 3}, "surge first: the stable is held meanwhile"
    cluster.step(Verdict.PASS)
    assert cluster.replicas() == {STABLE: 1, CANDIDATE: 4}, "one stable pod per candidate pod Available"

    promoted = cluster.step(Verdict.PASS)
    assert (promoted["phase"], promoted["stableVersion"], promoted["weights"]) == (
        "Promoted",
        "v2",
        {"v2": 100},
    )
    assert "candidateVersion" not in promoted
    assert cluster.replicas() == {CANDIDATE: 4, STABLE: 0}, "the old stable kept at zero for a quick revert"
    assert _lineage(promoted) == {"v1": "Stable", "v2": "Promoted"}
    assert promoted["stablePath"] == ["v1", "v2"] and promoted["previousGoodVersion"] == "v1"
    assert [(h["candidate"], h["outcome"]) for h in promoted["history"]] == [("v2", "Promoted")]
    assert cluster.condition("Progressing")["reason"] == "Promoted"
    assert cluster.condition("Degraded")["status"] == "False"

    writes = len(cluster.client.calls_to("patch_rollout_status"))
    cluster.step(Verdict.PASS)
    assert len(cluster.client.calls_to("patch_rollout_status")) == writes, "at rest nothing is written"
    reasons = [reason for _, reason in cluster.events()]
    assert reasons == [
        "RolloutStarted",
        "StepCompleted",
        "AnalysisPassed",
        "StepCompleted",
        "StepCompleted",
        "PausedByStep",
        "StepCompleted",
        "StepCompleted",
        "Promoted",
    ], "every transition announced once"
    assert "modelrollout.io/pending-events" not in (cluster.rollout()["metadata"].get("annotations") or {})


def test_a_fail_verdict_rolls_the_candidate_back() -> None:
    cluster = FakeCluster.with_rollout(
        rollout_spec([{"setWeight": 50}, {"analysis": {}}, {"setWeight": 100}])
    )
    cluster.run_until(at("Progressing", 1), Verdict.FAIL)

    rolling_back = cluster.step(Verdict.FAIL)
    assert (rolling_back["phase"], rolling_back["candidateWeight"]) == ("RollingBack", 0)
    assert cluster.replicas() == {STABLE: 4, CANDIDATE: 0}
    rolled_back = cluster.step(Verdict.FAIL)

    assert (rolled_back["phase"], rolled_back["stableVersion"]) == ("RolledBack", "v1")
    assert rolled_back["analysis"]["verdict"] == "Fail"
    assert _lineage(rolled_back) == {"v1": "Stable", "v2": "RolledBack"}
    assert cluster.condition("Degraded")["reason"] == "RolledBack"
    assert cluster.events()[-3:] == [
        ("Warning", "AnalysisFailed"),
        ("Warning", "AnalysisFailed"),
        ("Warning", "RolledBack"),
    ]
    assert cluster.requeues[-1] is None, "final: nothing to look at until something changes"


def test_abort_rolls_back_and_keeps_the_candidate_at_zero_when_scaled_by_hand() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}, {"pause": {}}]))
    cluster.run_until(at("Paused", 1))
    assert cluster.replicas() == {STABLE: 2, CANDIDATE: 2}

    cluster.action("abort:n1")
    rolling_back = cluster.step()
    assert rolling_back["lastAction"] == {
        "verb": "abort",
        "nonce": "n1",
        "at": "2030-01-01T00:00:20Z",  # one more reconcile for the move: surge, then shrink
        "result": "aborted",
    }
    assert "modelrollout.io/action" not in cluster.rollout()["metadata"]["annotations"], "consumed once"
    aborted = cluster.step()

    assert (aborted["phase"], aborted["candidateWeight"]) == ("RolledBack", 0)
    assert cluster.condition("Progressing")["status"] == "False"
    assert cluster.condition("Progressing")["reason"] == "Aborted"
    assert cluster.replicas() == {STABLE: 4, CANDIDATE: 0}
    assert _lineage(aborted) == {"v1": "Stable", "v2": "Aborted"}
    assert aborted["history"][-1]["outcome"] == "Aborted"
    assert ("Warning", "Aborted") in cluster.events()

    cluster.client.edit("Deployment", NAMESPACE, CANDIDATE, {"spec": {"replicas": 3}})  # as an HPA would
    cluster.step()
    assert cluster.replicas() == {STABLE: 4, CANDIDATE: 0}


def test_an_invalid_action_is_warned_about_once_and_removed_unapplied() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 25}, {"pause": {}}]))
    cluster.run_until(at("Paused", 1))

    cluster.action("explode:1234")
    status = cluster.step()

    assert "modelrollout.io/action" not in cluster.rollout()["metadata"]["annotations"]
    (warning,) = [e for e in cluster.client.events() if e["reason"] == "InvalidAction"]
    assert warning["type"] == "Warning" and "explode" in warning["message"]
    assert (status["phase"], status["currentStep"], status.get("lastAction")) == ("Paused", 1, None)
    assert cluster.replicas() == {STABLE: 3, CANDIDATE: 1}, "nothing moved"


def test_a_stored_spec_that_does_not_parse_fails_a_new_rollout_and_touches_nothing() -> None:
    cluster = FakeCluster.with_rollout({**rollout_spec([{"setWeight": 50}]), "model": "Bad Name"})

    assert cluster.reconcile() is None
    status = cluster.status()

    assert status["phase"] == "Failed" and status["message"].startswith("spec.model: ")
    degraded = cluster.condition("Degraded")
    assert (degraded["status"], degraded["reason"], degraded["message"]) == (
        "True",
        "InvalidSpec",
        status["message"],
    )
    assert [call.method for call in cluster.client.calls] == ["get_rollout", "patch_rollout_status"]
    assert cluster.replicas() == {} and cluster.events() == []


def test_a_stored_spec_that_stops_parsing_is_degraded_with_traffic_left_as_it_is() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}], candidate=None))
    cluster.run_until(at("Promoted"))
    cluster.client.edit(KIND, NAMESPACE, NAME, {"spec": {"replicas": 0}})  # past a rule added later
    calls = len(cluster.client.calls)

    status = cluster.step()

    assert (status["phase"], status["observedGeneration"]) == ("Promoted", 2)
    assert cluster.condition("Degraded")["reason"] == "InvalidSpec"
    assert "spec.replicas" in status["message"]
    assert [call.method for call in cluster.client.calls[calls:]] == ["get_rollout", "patch_rollout_status"]
    assert cluster.replicas() == {STABLE: 4}
