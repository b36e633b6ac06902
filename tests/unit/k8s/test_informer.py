"""The watch caches against the in-memory apiserver: an informer lists, then follows a watch
(BOOKMARKs included) and lists again after 410 Gone; its store never lets an older version of an
object replace a newer one, nor brings a deleted object back."""

from __future__ import annotations

import time
from typing import Any

from modelrollout.k8s import FakeKubeClient, Informer, InformerTiming, ObjectStore

from .test_fake import NS, _deployment

PUMP = InformerTiming(watch_timeout_seconds=0.0)
"""A watch that delivers what is there and ends: the test drives the informer step by step."""


def _obj(name: str, version: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": NS, "resourceVersion": version},
        **extra,
    }


def _informer(fake: FakeKubeClient, kind: str = "Deployment", selector: str | None = None) -> Informer:
    store = ObjectStore(kind, {"rollout": lambda o: [o["metadata"].get("labels", {}).get("r", "")]})
    return Informer(fake.watch_source(kind), store, NS, selector, PUMP)


def test_an_informer_lists_then_follows_the_watch_with_the_servers_label_selector() -> None:
    fake = FakeKubeClient()
    fake.add(_deployment("a-v1", {"r": "a"}))
    fake.add(_deployment("other", {"x": "y"}))
    informer = _informer(fake, selector="r")
    seen: list[tuple[str, str]] = []
    informer.store.listen(lambda event, obj: seen.append((event, obj["metadata"]["name"])))

    informer.run_once()
    assert informer.synced.is_set() and informer.relists == 1
    assert [d["metadata"]["name"] for d in informer.store.in_namespace(NS)] == ["a-v1"]

    fake.add(_deployment("b-v1", {"r": "b"}))
    fake.edit("Deployment", NS, "a-v1", {"spec": {"replicas": 3}})
    fake.delete("Deployment", NS, "b-v1")
    fake.add(_deployment("ignored", {"x": "z"}))
    informer.run_once()

    assert seen == [("ADDED", "a-v1"), ("ADDED", "b-v1"), ("MODIFIED", "a-v1"), ("DELETED", "b-v1")]
    assert informer.store.get(NS, "a-v1")["spec"]["replicas"] == 3  # type: ignore[index]
    assert [d["metadata"]["name"] for d in informer.store.indexed("rollout", NS, "a")] == ["a-v1"]
    assert informer.store.indexed("rollout", NS, "b") == []
    assert informer.relists == 1, "the watch continued from its resourceVersion"


def test_a_watch_expired_410_is_answered_by_a_new_list_that_catches_up() -> None:
    fake = FakeKubeClient()
    fake.add(_deployment("a-v1", {"r": "a"}))
    fake.add(_deployment("a-v2", {"r": "a"}))
    informer = _informer(fake)
    informer.run_once()
    seen: list[tuple[str, str]] = []
    informer.store.listen(lambda event, obj: seen.append((event, obj["metadata"]["name"])))

    # changes the informer misses: etcd compacted their events before it watched again
    fake.delete("Deployment", NS, "a-v2")
    fake.edit("Deployment", NS, "a-v1", {"spec": {"replicas": 2}})
    fake.watches.compact()
    informer.run_once()  # 410 Gone
    informer.run_once()  # the LIST

    assert informer.relists == 2
    assert seen == [("MODIFIED", "a-v1"), ("DELETED", "a-v2")]
    assert [d["spec"]["replicas"] for d in informer.store.in_namespace(NS)] == [2]


def test_a_bookmark_moves_the_resource_version_so_compaction_before_it_needs_no_list() -> None:
    fake = FakeKubeClient()
    informer = _informer(fake)
    informer.run_once()
    fake.add_service(NS, "elsewhere")  # another kind: not this informer's, but it moves the revision
    fake.watches.bookmark(int(fake.get("Service", NS, "elsewhere")["metadata"]["resourceVersion"]))
    informer.run_once()
    fake.watches.compact()
    fake.add(_deployment("a-v1", {"r": "a"}))

    informer.run_once()

    assert informer.relists == 1
    assert informer.store.get(NS, "a-v1") is not None


def test_an_older_version_never_replaces_a_newer_one_and_a_deletion_is_not_undone() -> None:
    store = ObjectStore("Service")
    assert store.put(_obj("s", "10", spec={"v": "written"}))  # a write's answer
    assert not store.put(_obj("s", "9", spec={"v": "late event"}), "MODIFIED")
    assert store.get(NS, "s")["spec"] == {"v": "written"}  # type: ignore[index]

    assert store.remove(_obj("s", "11"))
    assert not store.put(_obj("s", "10", spec={"v": "write answered after the deletion"}))
    assert store.get(NS, "s") is None and store.tombstones() == 1
    assert store.put(_obj("s", "12", spec={"v": "created again"}), "ADDED")
    assert store.tombstones() == 0


def test_a_relist_keeps_what_a_write_stored_after_the_lists_snapshot() -> None:
    store = ObjectStore("Service")
    store.put(_obj("old", "3"))
    store.put(_obj("written-after", "8"))

    store.replace([_obj("kept", "4")], "5", NS)

    assert [o["metadata"]["name"] for o in store.in_namespace(NS)] == ["kept", "written-after"]


def test_managed_fields_are_not_kept() -> None:
    store = ObjectStore("Service")
    obj = _obj("s", "1")
    obj["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    store.put(obj)
    assert "managedFields" not in store.get(NS, "s")["metadata"]  # type: ignore[index]


def test_an_informer_on_its_thread_sees_changes_at_once_and_stops() -> None:
    fake = FakeKubeClient()
    informer = Informer(fake.watch_source("Service"), ObjectStore("Service"), NS, None, InformerTiming(5.0))
    informer.start()
    try:
        assert informer.synced.wait(2.0)
        fake.add_service(NS, "api")
        deadline = time.monotonic() + 1.0
        while informer.store.get(NS, "api") is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert informer.store.get(NS, "api") is not None
    finally:
        started = time.monotonic()
        informer.stop()
    assert time.monotonic() - started < 1.0, "stop ends a watch waiting for events"


def test_each_read_is_the_callers_own_and_an_amend_keeps_version_and_indexes() -> None:
    store = ObjectStore("Deployment", {"rollout": lambda o: [o["metadata"]["labels"]["r"]]})
    store.put(_obj("d", "7", spec={"replicas": 1}) | {"kind": "Deployment"} | {"metadata": {
        "name": "d", "namespace": NS, "resourceVersion": "7", "labels": {"r": "a"}}})  # fmt: skip
    read = store.get(NS, "d")
    assert read is not None
    read["spec"]["replicas"] = 99  # a reader changing what it got changes nothing stored
    assert store.get(NS, "d")["spec"] == {"replicas": 1}  # type: ignore[index]

    assert store.amend(NS, "d", lambda d: {**d, "spec": {"replicas": 3}})
    assert [d["spec"] for d in store.indexed("rollout", NS, "a")] == [{"replicas": 3}]
    assert store.version(NS, "d") == "7" and store.names("rollout", NS, "a") == ["d"]
    assert not store.amend(NS, "absent", lambda d: d)


def test_closing_a_watch_whose_stream_already_ended_is_quiet() -> None:
    """`close` races the stream's own end: a response whose socket is already closed has nothing
    left to unblock (urllib3 raises EBADF from `shutdown`), and the others are still shut down."""
    from modelrollout.k8s._watch import ApiWatchSource

    class Response:
        def __init__(self, closed: bool) -> None:
            self.closed, self.shut = closed, False

        def shutdown(self) -> None:
            if self.closed:
                raise OSError(9, "Bad file descriptor")
            self.shut = True

    source = ApiWatchSource(object(), "Service", 5.0)
    ended, open_ = Response(closed=True), Response(closed=False)
    source._responses.update({ended, open_})
    source.close()
    assert open_.shut
