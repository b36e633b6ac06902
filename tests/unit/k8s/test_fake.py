"""The in-memory apiserver behaves like the real one where the operator depends on it:
resourceVersions and generations, merge patches, the status subresource, conflicts, dry runs,
label selectors, Secrets, Events, and the seams a test uses (recorded calls, injected failures,
the Deployment controller)."""

from __future__ import annotations

import re
from typing import Any

import pytest

import modelrollout.k8s as k8s
from modelrollout.k8s import (
    FakeKubeClient,
    KubeCall,
    KubeError,
    NotFound,
    deployment_state,
    with_conflict_retry,
)

NS = "team"


def _deployment(
    name: str, labels: dict[str, str], replicas: int = 0, image: str | None = "m:1"
) -> dict[str, Any]:
    container = {"name": "model", **({"image": image} if image else {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def _version(obj: dict[str, Any]) -> tuple[int, int]:
    """(resourceVersion, generation)."""
    return int(obj["metadata"]["resourceVersion"]), int(obj["metadata"].get("generation", 0))


def test_the_public_names_are_pinned() -> None:
    assert set(k8s.__all__) == {
        "ApiKubeClient",
        "ApiWatchSource",
        "KindNotServed",
        "CachedKubeClient",
        "ChangeListener",
        "FakeKubeClient",
        "Informer",
        "InformerTiming",
        "ObjectStore",
        "WatchSource",
        "WatchSources",
        "canonical_selector",
        "KubeCall",
        "KubeClient",
        "KubeError",
        "NotFound",
        "Secret",
        "deployment_state",
        "kubeconfig_client",
        "label_selector",
        "owner_reference",
        "with_conflict_retry",
    }
    assert all(hasattr(k8s, name) for name in k8s.__all__)


def test_writes_move_the_resource_version_and_spec_changes_the_generation() -> None:
    client = FakeKubeClient()
    created = client.add_rollout(NS, "r", {"model": "m", "replicas": 1})
    assert "status" not in created and _version(created)[1] == 1
    rv = _version(created)[0]

    annotated = client.patch_rollout(NS, "r", {"metadata": {"annotations": {"a": "1"}}})
    assert _version(annotated) == (rv + 1, 1), "metadata is not the spec: the generation stays"
    with_status = client.patch_rollout_status(NS, "r", {"phase": "Pending"})
    assert _version(with_status) == (rv + 2, 1), "status is not the spec either"
    respecced = client.patch_rollout(NS, "r", {"spec": {"replicas": 2}})
    assert _version(respecced) == (rv + 3, 2)
    again = client.patch_rollout(NS, "r", {"spec": {"replicas": 2}})
    assert _version(again) == (rv + 3, 2), "a write that changes nothing stores nothing"


def test_status_and_main_resource_are_written_apart() -> None:
    client = FakeKubeClient()
    client.add_rollout(NS, "r", {"model": "m"})
    client.patch_rollout_status(NS, "r", {"phase": "Pending"})

    client.patch_rollout(NS, "r", {"spec": {"model": "n"}, "status": {"phase": "Promoted"}})
    stored = client.get_rollout(NS, "r")
    assert stored["spec"]["model"] == "n" and stored["status"] == {"phase": "Pending"}


def test_patches_merge_objects_delete_on_none_and_replace_lists() -> None:
    client = FakeKubeClient()
    client.add_rollout(NS, "r", {"model": "m"}, annotations={"keep": "1", "drop": "2"})
    client.patch_rollout_status(NS, "r", {"weights": {"v1": 75, "v2": 25}, "lineage": [1, 2]})

    client.patch_rollout(NS, "r", {"metadata": {"annotations": {"drop": None, "new": "3"}}})
    client.patch_rollout_status(NS, "r", {"weights": {"v1": None, "v2": 100}, "lineage": [3]})

    stored = client.get_rollout(NS, "r")
    assert stored["metadata"]["annotations"] == {"keep": "1", "new": "3"}
    assert stored["status"] == {"weights": {"v2": 100}, "lineage": [3]}


def test_a_patch_with_a_stale_resource_version_is_a_conflict() -> None:
    client = FakeKubeClient()
    read = client.add(_deployment("d", {"app": "a"}))
    client.edit("Deployment", NS, "d", {"spec": {"replicas": 2}})  # someone else writes meanwhile

    stale = {"metadata": {"resourceVersion": read["metadata"]["resourceVersion"]}, "spec": {"replicas": 5}}
    with pytest.raises(KubeError) as conflict:
        client.patch_deployment(NS, "d", stale)
    assert conflict.value.status == 409 and conflict.value.reason == "Conflict"
    assert client.get("Deployment", NS, "d")["spec"]["replicas"] == 2

    current = client.get("Deployment", NS, "d")["metadata"]["resourceVersion"]
    fresh = {"metadata": {"resourceVersion": current}, "spec": {"replicas": 5}}
    assert client.patch_deployment(NS, "d", fresh)["spec"]["replicas"] == 5


def test_creating_an_existing_name_is_a_conflict_and_a_dry_run_stores_nothing() -> None:
    client = FakeKubeClient()
    body = _deployment("d", {"app": "a"})

    dry = client.create_deployment(NS, body, dry_run=True)
    assert dry["metadata"]["name"] == "d" and client.objects("Deployment") == []
    created = client.create_deployment(NS, body)
    assert created["metadata"]["uid"] and _version(created)[1] == 1
    for dry_run in (True, False):
        with pytest.raises(KubeError) as exists:
            client.create_deployment(NS, body, dry_run=dry_run)
        assert (exists.value.status, exists.value.reason) == (409, "AlreadyExists")


def test_a_dry_run_validates_the_template() -> None:
    client = FakeKubeClient()
    with pytest.raises(KubeError) as invalid:
        client.create_deployment(NS, _deployment("d", {"app": "a"}, image=None), dry_run=True)
    assert invalid.value.status == 422 and "containers[0].image" in invalid.value.message
    mismatched = _deployment("e", {"app": "a"})
    mismatched["spec"]["selector"]["matchLabels"] = {"app": "b"}
    with pytest.raises(KubeError, match="selector"):
        client.create_deployment(NS, mismatched, dry_run=True)


def test_deployments_are_listed_by_label_selector() -> None:
    client = FakeKubeClient()
    client.add(_deployment("a1", {"rollout": "a", "version": "v1"}))
    client.add(_deployment("a2", {"rollout": "a", "version": "v2"}))
    client.add(_deployment("b1", {"rollout": "b"}))

    def names(selector: str) -> list[str]:
        return [d["metadata"]["name"] for d in client.list_deployments(NS, selector)]

    assert names("rollout=a") == ["a1", "a2"]
    assert names("rollout==a,version!=v1") == ["a2"]
    assert names("version") == ["a1", "a2"]
    assert names("!version") == ["b1"]
    assert names("") == ["a1", "a2", "b1"]
    assert client.list_deployments("elsewhere", "rollout=a") == []


def test_a_missing_object_is_not_found_and_deleting_it_is_no_error() -> None:
    client = FakeKubeClient()
    with pytest.raises(NotFound, match=re.escape('modelrollouts.modelrollout.io "r" not found')):
        client.get_rollout(NS, "r")
    with pytest.raises(NotFound):
        client.patch_rollout_status(NS, "r", {"phase": "Pending"})
    with pytest.raises(NotFound):
        client.scale_deployment(NS, "d", 3)
    client.delete_deployment(NS, "d")
    assert not client.service_exists(NS, "svc")
    client.add_service(NS, "svc")
    assert client.service_exists(NS, "svc")


def test_secrets_are_read_decoded_with_their_labels() -> None:
    client = FakeKubeClient()
    client.add_secret(NS, "prom", {"token": "s3cret"}, labels={"team": "a"})
    secret = client.read_secret(NS, "prom")
    assert (secret.data, secret.labels) == ({"token": "s3cret"}, {"team": "a"})
    assert "s3cret" not in repr(secret)
    with pytest.raises(NotFound):
        client.read_secret(NS, "other")


def test_a_named_event_is_posted_once_and_unnamed_ones_every_time() -> None:
    client = FakeKubeClient()
    rollout = client.add_rollout(NS, "r", {"model": "m"})

    client.create_event(rollout, "Normal", "Promoted", "v2 promoted", name="r.abc.0")
    with pytest.raises(KubeError) as twice:
        client.create_event(rollout, "Normal", "Promoted", "v2 promoted", name="r.abc.0")
    client.create_event(rollout, "Warning", "ApplyFailed", "quota")
    client.create_event(rollout, "Warning", "ApplyFailed", "quota")

    assert twice.value.status == 409
    events = client.events(NS)
    assert [(e["type"], e["reason"]) for e in events] == [
        ("Normal", "Promoted"),
        ("Warning", "ApplyFailed"),
        ("Warning", "ApplyFailed"),
    ]
    assert events[0]["involvedObject"]["uid"] == rollout["metadata"]["uid"]


def test_calls_are_recorded_with_copies_of_their_arguments() -> None:
    client = FakeKubeClient()
    client.add(_deployment("d", {"app": "a"}))
    client.add_rollout(NS, "r", {"model": "m"})
    status: dict[str, Any] = {"phase": "Pending"}

    client.scale_deployment(NS, "d", 2)
    client.patch_rollout_status(NS, "r", status)
    status["phase"] = "changed afterwards"

    assert client.calls == [
        KubeCall("scale_deployment", {"namespace": NS, "name": "d", "replicas": 2}),
        KubeCall(
            "patch_rollout_status",
            {"namespace": NS, "name": "r", "status": {"phase": "Pending"}, "resource_version": None},
        ),
    ], "the test's own hands (add, edit, get) are not recorded"
    assert [call.method for call in client.calls_to("scale_deployment")] == ["scale_deployment"]


def test_an_injected_failure_hits_the_calls_it_names_as_often_as_asked() -> None:
    client = FakeKubeClient()
    body = _deployment("d", {"app": "a"})
    quota = KubeError(403, "Forbidden", "exceeded quota")
    client.fail("create_deployment", quota, times=2, where=lambda call: not call.args["dry_run"])

    client.create_deployment(NS, body, dry_run=True)  # not a call the failure names
    for _ in range(2):
        with pytest.raises(KubeError, match="exceeded quota"):
            client.create_deployment(NS, body)
    client.create_deployment(NS, body)

    assert [call.args["dry_run"] for call in client.calls_to("create_deployment")] == [
        True,
        False,
        False,
        False,
    ]
    client.fail("service_exists", KubeError(500, "InternalError", "etcd"), times=None)
    for _ in range(3):
        with pytest.raises(KubeError):
            client.service_exists(NS, "svc")
    client.heal("service_exists")
    assert client.service_exists(NS, "svc") is False
    with pytest.raises(ValueError):
        client.fail("get_pods", quota)


def test_a_status_write_from_a_stale_read_is_a_409_and_stores_nothing() -> None:
    client = FakeKubeClient()
    read = client.add_rollout(NS, "r", {"model": "m"})
    newer = client.patch_rollout_status(NS, "r", {"phase": "Progressing"})

    with pytest.raises(KubeError) as refused:
        client.patch_rollout_status(NS, "r", {"phase": "Pending"}, resource_version=_rv(read))

    assert refused.value.status == 409
    assert client.get_rollout(NS, "r") == newer
    current = client.patch_rollout_status(NS, "r", {"phase": "Paused"}, resource_version=_rv(newer))
    assert current["status"] == {"phase": "Paused"}


def _rv(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["resourceVersion"])


def test_a_conflict_injected_once_is_retried_away() -> None:
    client = FakeKubeClient()
    client.add_rollout(NS, "r", {"model": "m"})
    client.fail("patch_rollout_status", KubeError(409, "Conflict", "modified"), times=1)

    written = with_conflict_retry(lambda: client.patch_rollout_status(NS, "r", {"phase": "Pending"}), delay=0)

    assert written["status"] == {"phase": "Pending"}
    assert len(client.calls_to("patch_rollout_status")) == 2


def test_settling_plays_the_deployment_controller() -> None:
    client = FakeKubeClient()
    client.add(_deployment("d", {"app": "a"}, replicas=0))
    client.scale_deployment(NS, "d", 3)
    assert deployment_state(client.get("Deployment", NS, "d"))["current"] is False

    client.settle_deployments()
    settled = deployment_state(client.get("Deployment", NS, "d"))
    assert settled == {"replicas": 3, "ready": 3, "available": 3, "updated": 3, "total": 3, "current": True}

    client.scale_deployment(NS, "d", 0)
    client.settle_deployments()
    assert client.get("Deployment", NS, "d")["status"] == {"observedGeneration": 3}


def test_a_json_patch_applies_only_while_its_test_holds() -> None:
    client = FakeKubeClient()
    client.add_rollout(
        NS, "r", {"model": "m"}, annotations={"modelrollout.io/action": "abort:2", "keep": "1"}
    )
    client.patch_rollout_status(NS, "r", {"phase": "Paused"})
    path = "/metadata/annotations/modelrollout.io~1action"
    rv = _version(client.get_rollout(NS, "r"))[0]

    for read in ("promote:1", "abort:2"):  # a stale read, then the current value
        clear = [{"op": "test", "path": path, "value": read}, {"op": "remove", "path": path}]
        if read == "promote:1":
            with pytest.raises(KubeError) as refused:  # as the apiserver answers: 422, nothing written
                client.patch_rollout_json(NS, "r", clear)
            assert refused.value.status == 422
            assert refused.value.message == "the server rejected our request due to an error in our request"
            assert _version(client.get_rollout(NS, "r"))[0] == rv
        else:
            cleared = client.patch_rollout_json(NS, "r", clear)
            assert cleared["metadata"]["annotations"] == {"keep": "1"} and _version(cleared) == (rv + 1, 1)
            assert cleared["status"] == {"phase": "Paused"}, "the main resource's write leaves status alone"

    with pytest.raises(KubeError) as gone:
        client.patch_rollout_json(NS, "r", [{"op": "remove", "path": path}])
    assert gone.value.status == 422, "removing what is not there is refused too"
    added = client.patch_rollout_json(NS, "r", [{"op": "add", "path": path, "value": "pause:3"}])
    assert added["metadata"]["annotations"]["modelrollout.io/action"] == "pause:3"
