"""A reconcile through the watch caches (`CachedKubeClient` over the in-memory apiserver) reads
nothing from the apiserver that a cache holds, reads its own writes, and after a stale read asks
the apiserver again. The daemon's wake-ups: a person's change wakes a rollout, our own write to
it does not, a change to its Deployments or Service does, and a stopped daemon leaves nothing."""

from __future__ import annotations

import asyncio
import time

from modelrollout.api.v1alpha1 import ANNOTATION_ACTION, KIND, LABEL_ROLLOUT
from modelrollout.controller.reconcile import Reconciler
from modelrollout.controller.wakeups import Wakeup, Wakeups
from modelrollout.k8s import CachedKubeClient, InformerTiming, KubeError

from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, rollout_spec

STEPS = [{"setWeight": 25}, {"pause": {"duration": "10s"}}, {"setWeight": 50}]
READS = ("get_rollout", "list_rollouts", "list_deployments", "service_exists")
"""The reads the caches answer."""


def _cached(cluster: FakeCluster) -> CachedKubeClient:
    """The cluster's reconciler reading through caches of its namespace, listed once."""
    cached = CachedKubeClient(cluster.client, cluster.client, [NAMESPACE], InformerTiming(0.0))
    _pump(cached)
    cluster.reconciler = Reconciler(cached)
    return cached


def _pump(cached: CachedKubeClient) -> None:
    """Each informer takes in what its watch has (the events a thread would have handled), the
    route kinds' too."""
    for informer in [*cached.informers.values(), *cached.routes.informers.values()]:
        informer.run_once()


def test_a_reconcile_through_synced_caches_makes_no_read_the_caches_answer() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cached = _cached(cluster)
    cluster.client.calls.clear()

    for _ in range(20):
        status = cluster.step()
        _pump(cached)  # the Deployment controller's changes reach the cache
        if at("Promoted")(status):
            break

    reads = [call.method for call in cluster.client.calls if call.method in READS]
    assert reads == [], f"read from the apiserver: {reads}"
    assert status["phase"] == "Promoted" and status["stableVersion"] == "v2"
    assert cluster.replicas() == {"fraud-scorer-v1": 0, "fraud-scorer-v2": 4}  # the old stable kept at 0


def test_before_the_first_list_reads_go_to_the_apiserver() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cached = CachedKubeClient(cluster.client, cluster.client, [NAMESPACE], InformerTiming(0.0))
    cluster.reconciler = Reconciler(cached)

    cluster.step()

    assert {c.method for c in cluster.client.calls} >= {"get_rollout", "list_deployments", "service_exists"}


def test_a_reconcile_reads_its_own_writes_before_their_watch_events() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cached = _cached(cluster)

    cluster.reconcile()  # creates the Deployments, scales, writes status; no watch event taken in

    assert cached.get_rollout(NAMESPACE, NAME)["status"] == cluster.status()
    listed = cached.list_deployments(NAMESPACE, f"{LABEL_ROLLOUT}={NAME}")
    assert [(d["metadata"]["name"], d["spec"]["replicas"]) for d in listed] == [
        (d["metadata"]["name"], d["spec"]["replicas"]) for d in cluster.client.objects("Deployment")
    ]
    assert cluster.replicas() == {"fraud-scorer-v1": 4}


def test_after_a_write_refused_as_stale_the_next_read_asks_the_apiserver() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cached = _cached(cluster)
    old = cached.get_rollout(NAMESPACE, NAME)["metadata"]["resourceVersion"]
    cluster.action("pause:1")  # a person's write the watch has not brought yet
    cluster.client.calls.clear()

    try:
        cached.patch_rollout_status(NAMESPACE, NAME, {"message": "x"}, resource_version=old)
    except KubeError as error:
        assert error.status == 409
    fresh = cached.get_rollout(NAMESPACE, NAME)

    assert fresh["metadata"]["annotations"][ANNOTATION_ACTION] == "pause:1"
    assert [c.method for c in cluster.client.calls] == ["patch_rollout_status", "get_rollout"]
    assert cached.get_rollout(NAMESPACE, NAME) == fresh
    assert len(cluster.client.calls) == 2, "then the cache again"


def _watched() -> tuple[FakeCluster, CachedKubeClient, Wakeups]:
    """A rollout, the caches, and the wake-ups they feed."""
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cached = _cached(cluster)
    return cluster, cached, Wakeups(cached)


def _daemon_starts(wakeups: Wakeups) -> Wakeup:
    """The rollout's daemon registers and begins a reconcile (in the event loop)."""
    wakeup = wakeups.register(NAMESPACE, NAME)
    wakeup.begin()
    return wakeup


def _woken(wakeups: Wakeups, cached: CachedKubeClient, change: object) -> bool:
    """Whether the daemon of the rollout would wake after `change()` and the watch events."""

    async def scenario() -> bool:
        wakeup = _daemon_starts(wakeups)
        change()  # type: ignore[operator]
        _pump(cached)
        await asyncio.sleep(0)  # the informers' calls into the loop run
        return wakeups.due(NAMESPACE, NAME, wakeup)

    return asyncio.run(scenario())


def test_a_persons_change_wakes_the_rollout_and_its_own_status_write_does_not() -> None:
    cluster, cached, wakeups = _watched()

    def write_status() -> None:
        cached.patch_rollout_status(NAMESPACE, NAME, {"message": "written by the reconcile"})

    assert not _woken(wakeups, cached, write_status)
    assert _woken(wakeups, cached, lambda: cluster.action("pause:1"))


def test_its_own_write_whose_answer_comes_after_its_watch_event_wakes_nobody() -> None:
    cluster, cached, wakeups = _watched()

    async def scenario() -> bool:
        wakeup = _daemon_starts(wakeups)
        # the apiserver stores the write and its watch event is handled before the answer is
        cluster.client.patch_rollout_status(NAMESPACE, NAME, {"message": "racing"})
        _pump(cached)
        await asyncio.sleep(0)
        assert wakeup.event.is_set(), "not yet known as our own"
        cached.patch_rollout_status(NAMESPACE, NAME, {"message": "racing"})  # the answer: same version
        return wakeups.due(NAMESPACE, NAME, wakeup)

    assert not asyncio.run(scenario())


def test_a_change_to_its_deployments_or_its_service_wakes_the_rollout_and_others_do_not() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cached = _cached(cluster)
    cluster.reconcile()
    _pump(cached)
    wakeups = Wakeups(cached)

    assert _woken(wakeups, cached, lambda: cluster.client.settle_deployments())
    assert not _woken(wakeups, cached, lambda: cluster.client.add_service(NAMESPACE, "unrelated"))
    assert _woken(wakeups, cached, lambda: cluster.client.delete("Service", NAMESPACE, NAME))
    assert _woken(wakeups, cached, lambda: cluster.client.add_service(NAMESPACE, NAME))


def test_a_sleeping_daemon_wakes_on_a_change_at_once_and_a_stopped_one_leaves_nothing() -> None:
    cluster, cached, wakeups = _watched()

    async def scenario() -> float:
        wakeup = _daemon_starts(wakeups)
        stopping: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        started = time.monotonic()
        sleeping = asyncio.create_task(
            wakeups.sleep(NAMESPACE, NAME, wakeup, started + 30, started, stopping)
        )
        await asyncio.sleep(0.05)
        assert not sleeping.done()
        await asyncio.to_thread(lambda: (cluster.action("abort:1"), _pump(cached)))
        await asyncio.wait_for(sleeping, 2.0)
        wakeups.forget(NAMESPACE, NAME)
        return time.monotonic() - started

    took = asyncio.run(scenario())

    assert took < 1.0
    assert len(wakeups) == 0
    assert not cached.is_own_write(NAMESPACE, NAME, cluster.rollout()["metadata"]["resourceVersion"])


def test_a_rollout_refused_for_a_claim_is_woken_when_the_claimant_goes() -> None:
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    cluster.client.add_rollout(NAMESPACE, "rival", rollout_spec(STEPS))
    cached = _cached(cluster)
    wakeups = Wakeups(cached)

    assert _woken(wakeups, cached, lambda: cluster.client.delete(KIND, NAMESPACE, "rival"))


def test_who_else_claims_the_model_is_answered_from_the_index_by_model() -> None:
    """Every reconcile asks which rollouts roll out its model: from the cache's index by
    `spec.model`, not a scan of the namespace (a thousand rollouts would make it a million)."""
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    other = {**rollout_spec(STEPS), "model": "another-model"}
    cluster.client.add_rollout(NAMESPACE, "other", other)
    cached = _cached(cluster)
    cluster.client.calls.clear()

    mine = cached.list_rollouts(NAMESPACE, rollout_spec(STEPS)["model"])

    assert [r["metadata"]["name"] for r in mine] == [NAME]
    assert [r["metadata"]["name"] for r in cached.list_rollouts(NAMESPACE, "another-model")] == ["other"]
    assert len(cached.list_rollouts(NAMESPACE)) == 2
    assert [c.method for c in cluster.client.calls if c.method == "list_rollouts"] == []


def test_who_else_claims_the_model_leaves_the_asker_out() -> None:
    """The reconcile asks for the other rollouts of its model: alone with it, as nearly every
    rollout is, the answer is empty and the cache decodes nothing for it; a rival is found."""
    cluster = FakeCluster.with_rollout(rollout_spec(STEPS))
    model = rollout_spec(STEPS)["model"]
    cached = _cached(cluster)

    assert cached.list_rollouts(NAMESPACE, model, excluding=NAME) == []

    cluster.client.add_rollout(NAMESPACE, "rival", rollout_spec(STEPS))
    _pump(cached)
    for client in (cached, cluster.client):
        found = client.list_rollouts(NAMESPACE, model, excluding=NAME)
        assert [r["metadata"]["name"] for r in found] == ["rival"]
