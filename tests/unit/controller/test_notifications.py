"""Notifications: every transition reaches each receiver in its format, under an id stable per
transition; re-sent after a restart under the same id with the same bytes; a receiver that is
down is retried, then given up with a Warning Event, and the rollout goes on; a Secret or URL
the operator will not use is refused with a Warning Event and nothing is sent. The receivers are
real HTTP servers; the cluster is the fake one."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from modelrollout.controller.notify import ANNOTATION_PENDING_NOTIFICATIONS
from modelrollout.controller.notify_sender import NOTIFICATION_LABEL, NotificationSettings, Notifier
from modelrollout.controller.reconcile import Reconciler

from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, rollout_spec
from ...fixtures.receiver import Receiver, closed_port_url

LABELS = dict([NOTIFICATION_LABEL])
STEPS = [{"setWeight": 50}, {"pause": {"duration": "5s"}}]


def wait_until(check: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def cluster_with(
    notifications: list[dict[str, Any]] | None, urls: dict[str, str], *, labels: dict[str, str] | None = LABELS,
    allowed: tuple[str, ...] = (), **settings: Any,
) -> tuple[FakeCluster, Notifier]:  # fmt: skip
    spec = rollout_spec(STEPS)
    if notifications is not None:
        spec["notifications"] = notifications
    cluster = FakeCluster.with_rollout(spec)
    cluster.client.add_secret(NAMESPACE, "hooks", urls, labels=labels)
    notifier = Notifier(
        cluster.client, NotificationSettings(allowed_url_prefixes=allowed, backoff_seconds=0.01, **settings)
    ).start()
    cluster.reconciler = Reconciler(cluster.client, notifier=notifier)
    return cluster, notifier


def receivers(*formats: str) -> list[dict[str, Any]]:
    return [{"name": f, "format": f, "urlSecret": {"name": "hooks", "key": f}} for f in formats]


def test_each_transition_reaches_every_receiver_in_its_format(receiver: Receiver) -> None:
    urls = {f: f"{receiver.url}/{f}" for f in ("webhook", "slack", "teams")}
    cluster, notifier = cluster_with(receivers("webhook", "slack", "teams"), urls, allowed=(receiver.url,))

    cluster.run_until(at("Promoted"))
    wait_until(lambda: len(receiver.on("/teams")) == 6, "six notifications at each receiver")
    ids = {r.id for r in receiver.on("/teams")}
    # a receiver has the request before the sender has its answer: wait for the sender's record
    # (None: finished and already forgotten, a reconcile having dropped it from the rollout)
    wait_until(
        lambda: all(notifier.finished(identity) is not False for identity in ids), "every delivery finished"
    )
    cluster.step()  # the next reconcile drops what was sent from the annotation

    by_event = {r.json()["event"]: r for r in receiver.on("/webhook")}
    events = sorted(r.json()["event"] for r in receiver.on("/webhook"))
    assert events == ["Paused", "Promoted", "Started", "StepCompleted", "StepCompleted", "StepCompleted"], (
        events
    )
    promoted = by_event["Promoted"].json()
    assert promoted["rollout"] == NAME and promoted["version"] == "v2" and promoted["stable"] == "v2"
    assert promoted["id"] == by_event["Promoted"].id and promoted["id"].startswith("uid-")
    ids = {r.id for r in receiver.on("/webhook")}
    assert len(ids) == 6, "one id per transition"
    assert {r.id for r in receiver.on("/slack")} == ids == {r.id for r in receiver.on("/teams")}
    slack = next(r.json() for r in receiver.on("/slack") if r.id == promoted["id"])
    assert "Promoted (v2)" in slack["text"] and slack["blocks"][0]["type"] == "section"
    teams = next(r.json() for r in receiver.on("/teams") if r.id == promoted["id"])
    assert (
        teams["@type"] == "MessageCard" and {"name": "Stable", "value": "v2"} in teams["sections"][0]["facts"]
    )
    annotations = cluster.rollout()["metadata"].get("annotations") or {}
    assert ANNOTATION_PENDING_NOTIFICATIONS not in annotations, "nothing is left pending once sent"
    notifier.stop()


def test_after_a_restart_pending_notifications_are_sent_again_with_the_same_bytes(receiver: Receiver) -> None:
    cluster, first = cluster_with(
        receivers("webhook"), {"webhook": f"{receiver.url}/hook"}, allowed=(receiver.url,)
    )
    first.stop()  # this process "dies" before its sender sent anything
    cluster.run_until(at("Paused"))
    pending = cluster.rollout()["metadata"]["annotations"][ANNOTATION_PENDING_NOTIFICATIONS]
    assert receiver.received == []

    restarted = Notifier(cluster.client, NotificationSettings(allowed_url_prefixes=(receiver.url,))).start()
    cluster.reconciler = Reconciler(cluster.client, notifier=restarted)
    cluster.reconcile()
    stored = {row[0]: row[2].encode() for row in json.loads(pending)}
    assert len(stored) == 3, "Started, StepCompleted, Paused"
    wait_until(lambda: stored.keys() <= {r.id for r in receiver.received}, "the pending ones, sent again")

    sent = {r.id: r.body for r in receiver.received}
    assert {key: sent[key] for key in stored} == stored, "same id, same bytes"
    restarted.stop()


def test_a_receiver_that_is_down_is_retried_then_given_up_and_the_rollout_goes_on(receiver: Receiver) -> None:
    down = closed_port_url()
    urls = {"webhook": down, "slack": f"{receiver.url}/up"}
    cluster, notifier = cluster_with(
        receivers("webhook", "slack"), urls, allowed=(down, receiver.url), attempts=3
    )

    status = cluster.run_until(at("Promoted"))
    wait_until(lambda: len([e for e in cluster.client.events() if e["reason"] == "NotificationFailed"]) == 6,
               "six given up", timeout=3)  # fmt: skip
    # The sixth delivery to the receiver that is up may still be under way when the sixth to the
    # one that is down has been given up (5 of 6 seen at that moment on a loaded machine).
    wait_until(lambda: len(receiver.on("/up")) >= 6, "six delivered to the other receiver", timeout=3)

    assert status["phase"] == "Promoted"
    failed = [e["message"] for e in cluster.client.events() if e["reason"] == "NotificationFailed"]
    assert all("given up after 3 tries: unreachable" in m and "127.0.0.1" not in m for m in failed), failed
    assert len(receiver.on("/up")) == 6, "the other receiver got everything"
    notifier.stop()


@pytest.mark.parametrize(
    ("labels", "url", "allowed", "said"),
    [
        (
            None,
            "https://hooks.example/x",
            (),
            'is not labelled modelrollout.io/notification-credentials: "true"',
        ),
        (LABELS, "http://hooks.example/x", (), "is not https"),
        (LABELS, "https://169.254.169.254/x", (), "link-local or cloud metadata"),
        (
            None,
            "https://elsewhere.example/x",
            ("https://hooks.example",),
            "not under an address the operator allows",
        ),
    ],
)
def test_a_receiver_the_operator_will_not_call_is_refused_with_a_warning(
    receiver: Receiver, labels: dict[str, str] | None, url: str, allowed: tuple[str, ...], said: str
) -> None:
    cluster, notifier = cluster_with(receivers("webhook"), {"webhook": url}, labels=labels, allowed=allowed)

    cluster.run_until(at("Paused"))
    refused = wait_until(
        lambda: [e["message"] for e in cluster.client.events() if e["reason"] == "NotificationRefused"],
        "a NotificationRefused Warning",
    )

    assert said in refused[0], refused
    assert url not in refused[0], "the URL is a credential: never shown"
    notifier.stop()


def test_the_operator_s_default_receivers_serve_rollouts_that_name_none(receiver: Receiver) -> None:
    from modelrollout.api.v1alpha1 import NotificationFormat
    from modelrollout.controller.notify_sender import Receiver as Target

    default = Target("default", NotificationFormat.WEBHOOK, "ops", "team-hook", "url")
    cluster, notifier = cluster_with(None, {}, allowed=(receiver.url,), defaults=(default,))
    cluster.client.add_secret("ops", "team-hook", {"url": f"{receiver.url}/ops"})

    cluster.run_until(at("Paused"))

    wait_until(
        lambda: len(receiver.on("/ops")) == 3, "Started, StepCompleted, Paused at the default receiver"
    )
    notifier.stop()
