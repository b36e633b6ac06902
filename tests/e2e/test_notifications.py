"""Notifications from the operator as users run it: each transition of a real rollout reaches a
real HTTP receiver as a generic webhook and as a Slack message, one payload per id; a receiver
that is down is retried, then given up with a Warning Event, and the rollout is promoted all
the same."""

from __future__ import annotations

from collections import defaultdict

import pytest

from ..fixtures.receiver import Receiver, closed_port_url
from .given import Given
from .specs import base_spec

pytestmark = [pytest.mark.cluster]


def test_transitions_reach_the_receivers_and_one_that_is_down_is_given_up(given: Given) -> None:
    with Receiver() as receiver:
        down = closed_port_url()
        given.operator_flags(
            "--notification-allowed-url", receiver.url, "--notification-allowed-url", down,
            "--notification-attempts", "2", "--notification-backoff-seconds", "0.2",
        )  # fmt: skip
        given.service().secret(
            "hooks", {"hook": f"{receiver.url}/hook", "slack": f"{receiver.url}/slack", "teams": down}
        )
        spec = base_spec(given.env, steps=[{"setWeight": 50}, {"pause": {"duration": "2s"}}])
        spec["notifications"] = [
            {"name": "audit", "format": "webhook", "urlSecret": {"name": "hooks", "key": "hook"}},
            {"name": "team", "format": "slack", "urlSecret": {"name": "hooks", "key": "slack"},
             "events": ["Started", "Promoted", "RolledBack", "Failed"]},
            {"name": "ops", "format": "teams", "urlSecret": {"name": "hooks", "key": "teams"}, "events": ["Promoted"]},
        ]  # fmt: skip

        when = given.rollout(spec).wait_for_phase("Promoted", timeout=90)
        when.wait_until(
            lambda: any(r.json()["event"] == "Promoted" for r in receiver.on("/hook")),
            "Promoted at the webhook",
        ).wait_for_event("NotificationFailed")

        then = when.then()
        then.phase("Promoted").stable_version("v2")
        events = [r.json()["event"] for r in receiver.on("/hook")]
        assert {"Started", "StepCompleted", "Paused", "Promoted"} <= set(events), events
        bodies: dict[str, set[bytes]] = defaultdict(set)
        for received in receiver.on("/hook"):
            bodies[received.id].add(received.body)
        assert all(len(payloads) == 1 for payloads in bodies.values()), "one payload per id"
        slack = {r.id: r.json() for r in receiver.on("/slack")}
        assert {fact["event"] for fact in (r.json() for r in receiver.on("/hook")) if fact["id"] in slack} == {
            "Started", "Promoted",
        }, "the Slack receiver gets only the events it asked for, under the webhook's ids"  # fmt: skip
        assert all("fraud-scorer" in message["text"] for message in slack.values())
        then.event_message(
            "NotificationFailed", "notification Promoted to ops (teams) given up after 2 tries"
        )
