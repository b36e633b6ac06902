"""What a notification says, and in which message format.

A notification is made from a transition the status already records (the Events the reconcile
announces), so everything in it comes from the written status and the transition's own Event:
made again after a restart, it is the same. Its id names the rollout (uid), the version, the
event, the step and the status written (its digest), so it is unique per transition and stable;
the payload is stored beside the id until every receiver has it (`notify`), and each receiver
gets, under one id, always the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..api.v1alpha1 import (
    PENDING_EVENT_MESSAGE_MAX_LENGTH,
    ModelRolloutStatus,
    NotificationEvent,
    NotificationFormat,
    Reason,
    cut,
    percent_json,
)
from ..rollout import EmitEvent

KINDS: dict[Reason, NotificationEvent] = {
    Reason.ROLLOUT_STARTED: NotificationEvent.STARTED,
    Reason.STEP_COMPLETED: NotificationEvent.STEP_COMPLETED,
    Reason.PAUSED_BY_STEP: NotificationEvent.PAUSED,
    Reason.PAUSED_BY_USER: NotificationEvent.PAUSED,
    Reason.PAUSED_INCONCLUSIVE: NotificationEvent.PAUSED,
    Reason.PAUSED_ON_FAILURE: NotificationEvent.PAUSED,
    Reason.PROMOTED: NotificationEvent.PROMOTED,
    Reason.ROLLED_BACK: NotificationEvent.ROLLED_BACK,
    Reason.ABORTED: NotificationEvent.ROLLED_BACK,
    Reason.PROGRESS_DEADLINE_EXCEEDED: NotificationEvent.FAILED,
    Reason.UPSTREAM_FAILED: NotificationEvent.FAILED,
    Reason.INVALID_TEMPLATE: NotificationEvent.FAILED,
}
"""The transitions notified, by the reason of their Event; the others (a verdict, a resume)
are told by Events only."""

HEADER_ID = "X-ModelRollout-Notification-Id"
"""The header carrying the id, in every format (a Slack or Teams body has no room for it)."""


@dataclass(frozen=True)
class Notification:
    id: str
    event: NotificationEvent
    payload: str
    """The facts as canonical JSON (the webhook format's body): stored, and re-sent as is."""

    def facts(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.payload)
        return parsed


def notifications(
    body: dict[str, Any], status: ModelRolloutStatus, digest: str, events: Sequence[EmitEvent]
) -> list[Notification]:
    """The notifications of one transition: `events` as announced for `status` (whose
    `status_digest` is `digest`) on the ModelRollout `body`."""
    meta = body["metadata"]
    model = (body.get("spec") or {}).get("model")
    version = status.candidate_version or _last_candidate(status) or status.stable_version or "-"
    at = _when(status)
    made = []
    for index, event in enumerate(events):
        kind = KINDS.get(event.reason)
        if kind is None:
            continue
        step = "-" if status.current_step is None else str(status.current_step)
        identity = f"{meta.get('uid', '')}/{version}/{kind.value}/{step}/{digest[:12]}-{index}"
        facts = {
            "id": identity,
            "event": kind.value,
            "reason": str(event.reason),
            "severity": "warning" if event.type == "Warning" else "info",
            "message": cut(event.message, PENDING_EVENT_MESSAGE_MAX_LENGTH),
            "namespace": meta["namespace"],
            "rollout": meta["name"],
            "uid": meta.get("uid"),
            "model": model,
            "version": version,
            "stable": status.stable_version,
            "phase": status.phase.value,
            "step": status.current_step,
            "weights": {version: percent_json(weight) for version, weight in status.weights.items()},
            "at": at,
        }
        payload = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        made.append(Notification(identity, kind, payload))
    return made


def _last_candidate(status: ModelRolloutStatus) -> str | None:
    """After a promotion or rollback the candidate field is empty: the version the transition
    was about is the last one in history."""
    return status.history[-1].candidate if status.history else None


def _when(status: ModelRolloutStatus) -> str | None:
    """A time the written status holds for the transition (never the clock at sending)."""
    if status.candidate_version is None and status.history:
        return status.history[-1].finished_at
    return status.step_started_at or status.rollout_started_at


def render(notification: Notification, form: NotificationFormat) -> bytes:
    """The request body for a receiver of `form`: the same bytes every time for one id."""
    if form is NotificationFormat.WEBHOOK:
        return notification.payload.encode()
    facts = notification.facts()
    title = f"{facts['namespace']}/{facts['rollout']}: {facts['event']} ({facts['version']})"
    warning = facts["severity"] == "warning"
    if form is NotificationFormat.SLACK:
        icon = ":warning:" if warning else ":information_source:"
        message: dict[str, Any] = {
            "text": f"{icon} {title}: {facts['message']}",
            "blocks": [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"{icon} *{title}*\n{facts['message']}"},
                },
                {"type": "context", "elements": [{"type": "mrkdwn", "text": _context(facts)}]},
            ],
        }
    else:
        message = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": title,
            "themeColor": "D93F0B" if warning else "2EB886",
            "title": title,
            "text": facts["message"],
            "sections": [{"facts": [{"name": name, "value": value} for name, value in _facts(facts)]}],
        }
    return json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _facts(facts: dict[str, Any]) -> list[tuple[str, str]]:
    weights = ", ".join(f"{version} {weight}%" for version, weight in sorted(facts["weights"].items()))
    return [
        ("Model", str(facts["model"])),
        ("Stable", str(facts["stable"])),
        ("Phase", facts["phase"]),
        ("Step", "-" if facts["step"] is None else str(facts["step"])),
        ("Weights", weights or "-"),
        ("At", str(facts["at"])),
        ("Id", facts["id"]),
    ]


def _context(facts: dict[str, Any]) -> str:
    return " | ".join(f"{name}: {value}" for name, value in _facts(facts))
