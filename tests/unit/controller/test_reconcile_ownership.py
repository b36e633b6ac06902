"""Who owns which Deployment: deleting a ModelRollout in any way (the finalizer, a foreground
cascade, garbage collection after the finalizer was removed by hand) never takes the stable
down, because the stable carries no ownerReference garbage collection could follow; and the
operator never touches a Deployment whose labels say it belongs to another rollout or version.

The reconciler and the finalizer run against the in-memory apiserver; the order of the calls
they make is what proves "freed before the status names it stable"."""

from __future__ import annotations

from typing import Any

from modelrollout.api.v1alpha1 import KIND, LABEL_MODEL, LABEL_ROLLOUT, LABEL_VERSION
from modelrollout.k8s import KubeCall, owner_reference

from ...fixtures.fake_cluster import CANDIDATE, NAME, NAMESPACE, STABLE, FakeCluster, at, rollout_spec


def _owners(cluster: FakeCluster, name: str) -> list[dict[str, Any]]:
    return list(cluster.client.get("Deployment", NAMESPACE, name)["metadata"].get("ownerReferences") or [])


def _frees(name: str) -> Any:
    def matches(call: KubeCall) -> bool:
        if call.method != "patch_deployment" or call.args["name"] != name:
            return False
        return "ownerReferences" in (call.args["patch"].get("metadata") or {})

    return matches


def _writes_status(key: str, value: str) -> Any:
    return lambda call: call.method == "patch_rollout_status" and call.args["status"].get(key) == value


def _first(cluster: FakeCluster, matches: Any) -> int:
    return next(index for index, call in enumerate(cluster.client.calls) if matches(call))


def _version(version: str) -> dict[str, Any]:
    return dict(rollout_spec([], candidate=version)["candidate"])


def test_the_stable_carries_no_owner_reference_and_the_candidate_does() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}, {"pause": {}}]))
    cluster.run_until(at("Paused", 1))

    assert _owners(cluster, STABLE) == [], "garbage collection must have nothing to follow to the stable"
    (owner,) = _owners(cluster, CANDIDATE)
    assert (owner["kind"], owner["name"]) == (KIND, NAME), "GC may clean up the candidate"


def test_a_promoted_candidate_is_freed_before_any_status_names_it_the_stable() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}]))
    promoted = cluster.run_until(at("Promoted"))

    assert promoted["stableVersion"] == "v2"
    assert _owners(cluster, CANDIDATE) == []
    freed = _first(cluster, _frees(CANDIDATE))
    assert freed < _first(cluster, _writes_status("phase", "Promoting")), (
        "freed once promotion starts: from then on the candidate takes the stable's capacity"
    )
    assert freed < _first(cluster, _writes_status("stableVersion", "v2"))


def test_a_stable_owned_by_an_earlier_operator_is_freed_on_the_next_reconcile() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}, {"pause": {}}]))
    cluster.run_until(at("Paused", 1))
    owner = owner_reference(cluster.rollout())
    cluster.client.edit("Deployment", NAMESPACE, STABLE, {"metadata": {"ownerReferences": [owner]}})

    cluster.step()

    assert _owners(cluster, STABLE) == []
    assert cluster.replicas() == {STABLE: 2, CANDIDATE: 2}, "nothing else moved"
    calls = len(cluster.client.calls)
    cluster.step()
    assert not [c for c in cluster.client.calls[calls:] if _frees(STABLE)(c)], "a free stable is left alone"


def test_rollback_and_undo_leave_every_stable_free() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}, {"pause": {}}]))
    cluster.run_until(at("Paused", 1))
    cluster.action("abort:n1")
    cluster.run_until(at("RolledBack"))
    assert _owners(cluster, STABLE) == [] and len(_owners(cluster, CANDIDATE)) == 1

    cluster.client.edit(KIND, NAMESPACE, NAME, {"spec": {"candidate": _version("v3")}})
    cluster.run_until(at("Paused", 1))
    cluster.action("promote-full:n2")
    promoted = cluster.run_until(lambda s: s.get("stableVersion") == "v3")
    assert promoted["phase"] == "Promoted"
    assert _owners(cluster, "fraud-scorer-v3") == []

    # Undo: the old stable v1, kept at zero, rolled out again and promoted back.
    undo = {"stable": _version("v3"), "candidate": _version("v1")}
    cluster.client.edit(KIND, NAMESPACE, NAME, {"spec": undo})
    cluster.run_until(at("Paused", 1))
    cluster.action("promote-full:n3")
    back = cluster.run_until(lambda s: s.get("stableVersion") == "v1")
    assert back["phase"] == "Promoted"
    assert _owners(cluster, STABLE) == []


def _labelled(name: str, rollout: str, version: str, replicas: int) -> dict[str, Any]:
    labels = {LABEL_ROLLOUT: rollout, LABEL_MODEL: rollout, LABEL_VERSION: version}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {}},
    }


def test_the_finalizer_acts_on_the_deployments_it_lists_never_on_a_name_it_computes() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec([{"setWeight": 50}, {"pause": {}}]))
    cluster.run_until(at("Paused", 1))
    # Rollout "fraud-scorer" lists a version "v2-old" whose Deployment was named otherwise, while
    # the name "fraud-scorer-v2-old" belongs to another rollout ("fraud-scorer-v2", version "old").
    cluster.client.add(_labelled("fraud-scorer-v2-kept", NAME, "v2-old", 0))
    cluster.client.add(_labelled("fraud-scorer-v2-old", "fraud-scorer-v2", "old", 3))
    cluster.client.settle_deployments()

    message = cluster.finalize()

    assert "kept" in message
    names = {d["metadata"]["name"] for d in cluster.client.objects("Deployment")}
    assert names == {STABLE, "fraud-scorer-v2-old"}, "its own versions deleted, the other rollout's kept"
    assert cluster.replicas()[STABLE] == 4
