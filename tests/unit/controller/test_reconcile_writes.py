"""What a rollout costs the apiserver while nothing happens: writes only on change.

A rollout sitting in an analysis step whose metrics are all dryRun hears an Inconclusive verdict
every interval. Each interval changes its status (the run counted), so one status PATCH is due;
nothing else is: the verdict repeated every interval is one Event whose `count` grows (written
on a transition, or every `EventSeriesSettings.flush_seconds`), never staged in the outbox
annotation, and a reconcile between two intervals decides nothing and writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from modelrollout.api.v1alpha1 import KIND, Verdict
from modelrollout.controller.event_series import EventSeriesSettings

from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, rollout_spec

READS = frozenset({"get_rollout", "list_rollouts", "list_deployments", "service_exists", "read_secret"})
"""Every other `KubeClient` call the reconcile makes is a write."""


def _dry_run_spec(interval: str = "5s", max_duration: str = "10m") -> dict[str, Any]:
    spec = rollout_spec([{"setWeight": 25}, {"analysis": {}}, {"setWeight": 50}])
    analysis = spec["analysis"]
    metrics = [{**metric, "dryRun": True} for metric in analysis["metrics"]]
    return {
        **spec,
        "analysis": {**analysis, "interval": interval, "maxDuration": max_duration, "metrics": metrics},
    }


def _analysing(interval: str = "5s", max_duration: str = "10m") -> FakeCluster:
    cluster = FakeCluster.with_rollout(_dry_run_spec(interval, max_duration))
    cluster.run_until(at("Progressing", 1))
    return cluster


def _writes(cluster: FakeCluster, since: int) -> list[str]:
    return [call.method for call in cluster.client.calls[since:] if call.method not in READS]


def _inconclusive_events(cluster: FakeCluster) -> list[dict[str, Any]]:
    return [e for e in cluster.client.events(NAMESPACE) if e["reason"] == "AnalysisInconclusive"]


def _runs(cluster: FakeCluster) -> int:
    return int((cluster.status().get("analysis") or {}).get("runs", 0))


def _interval(cluster: FakeCluster, seconds: float, looks: int = 5) -> None:
    """Reconciles `looks` times an interval until the next verdict is taken (the ones between
    decide nothing)."""
    runs = _runs(cluster)
    for _ in range(2 * looks + 2):
        cluster.step(Verdict.INCONCLUSIVE, seconds=seconds / looks)
        if _runs(cluster) > runs:
            return
    raise AssertionError(f"no verdict taken in {seconds}s: {cluster.status()}")


def test_an_inconclusive_verdict_every_interval_costs_one_status_patch_and_one_event() -> None:
    cluster = _analysing()
    calls, events = len(cluster.client.calls), len(cluster.client.events())

    for _ in range(10):
        _interval(cluster, 5)

    assert _runs(cluster) == 10
    writes = _writes(cluster, calls)
    assert writes.count("patch_rollout_status") == 10, writes
    assert writes.count("create_event") == 1, "the first verdict of the series, posted at once"
    assert len(writes) == 11, f"no annotation round-trip, no Event patch before a transition: {writes}"
    assert len(cluster.client.events()) == events + 1
    (series,) = _inconclusive_events(cluster)
    assert "interval" not in series["message"], "the message groups a series: no run count in it"
    assert cluster.reconciler.event_series.count(NAMESPACE, NAME) == 10


def test_a_reconcile_that_decides_nothing_writes_nothing() -> None:
    cluster = _analysing(interval="30s")
    _interval(cluster, 30)
    calls = len(cluster.client.calls)

    for _ in range(5):  # within the interval: no verdict due
        cluster.step(Verdict.INCONCLUSIVE, seconds=1.0)

    assert _writes(cluster, calls) == []


def test_the_count_is_written_on_the_transition_that_ends_the_series_and_the_transition_once() -> None:
    cluster = _analysing()
    for _ in range(10):
        _interval(cluster, 5)
    calls = len(cluster.client.calls)

    status = cluster.run_until(lambda s: s.get("currentStep") == 2, Verdict.PASS)

    assert status["analysis"]["verdict"] == "Pass"
    (series,) = _inconclusive_events(cluster)
    assert series["count"] == 10
    made = cluster.client.calls[calls:]
    assert [call.method for call in made].count("patch_event") == 1, "the count, once"
    reasons = [reason for _, reason in cluster.events()]
    assert reasons.count("AnalysisPassed") == 1 and reasons[-1] == "StepCompleted", reasons
    staged = [call for call in made if call.method == "patch_rollout"]
    assert len(staged) == 2, "the transition staged in the outbox, then cleared"
    assert "modelrollout.io/pending-events" not in (cluster.rollout()["metadata"].get("annotations") or {})
    assert cluster.reconciler.event_series.count(NAMESPACE, NAME) == 0


def test_a_long_series_writes_its_count_every_thirty_minutes_of_its_clock() -> None:
    assert EventSeriesSettings().flush_seconds == 1800.0
    cluster = _analysing(interval="60s", max_duration="2h")

    for _ in range(65):
        _interval(cluster, 60, looks=1)

    patches = cluster.client.calls_to("patch_event")
    assert len(patches) == 2, "at about 30 and 60 minutes, not every interval"
    (series,) = _inconclusive_events(cluster)
    assert series["count"] == patches[-1].args["patch"]["count"] >= 60


def test_the_scale_fields_ride_in_the_one_status_write_when_the_apply_changes_nothing() -> None:
    cluster = _analysing()
    _interval(cluster, 5)
    replicas, runs = cluster.status()["replicas"], _runs(cluster)
    cluster.client.patch_rollout_status(NAMESPACE, NAME, {"replicas": None})  # an older operator's status
    cluster.now += timedelta(seconds=5)  # the next verdict is due
    calls = len(cluster.client.calls)

    cluster.reconcile(Verdict.INCONCLUSIVE)

    assert _runs(cluster) == runs + 1
    assert _writes(cluster, calls) == ["patch_rollout_status"]
    (write,) = cluster.client.calls_to("patch_rollout_status")[-1:]
    assert write.args["status"]["replicas"] == replicas and "analysis" in write.args["status"]


def test_a_forgotten_rollout_leaves_no_series_behind() -> None:
    cluster = _analysing()
    _interval(cluster, 5)
    _interval(cluster, 5)
    assert cluster.reconciler.event_series.count(NAMESPACE, NAME) == 2

    cluster.client.delete(KIND, NAMESPACE, NAME)
    cluster.reconciler.forget(NAMESPACE, NAME)

    assert len(cluster.reconciler.event_series) == 0


def test_a_lost_series_starts_again_after_a_restart() -> None:
    """A count bump lost with the process is the accepted cost; the next verdict posts a new
    Event (the transitions themselves stay exactly once, through the outbox)."""
    cluster = _analysing()
    _interval(cluster, 5)
    _interval(cluster, 5)

    cluster.reconciler = type(cluster.reconciler)(cluster.client)  # a restarted operator
    cluster.now += timedelta(seconds=5)
    _interval(cluster, 5)

    assert [event["count"] for event in _inconclusive_events(cluster)] == [1, 1]
