"""Notifications survive a restart: each is kept in an annotation of its ModelRollout until
every receiver has it, and handed to the sender again by a process that does not know it.

A transition's notifications are made when its Events are announced, from the status already
written, and stored (id and payload) in the same write that clears the staged Events
(`outbox`): a crash before that write leaves the Events staged, and the recovery that posts them
makes the same notifications. Each reconcile then looks at what is pending: what the sender
finished (sent, or given up) is removed, what it never saw (the operator restarted) is handed
over again, under the same id with the same payload. So a receiver may see an id twice, never
two payloads under one id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..api.v1alpha1 import ModelRolloutStatus, NotificationEvent, NotificationFormat
from ..rollout import EmitEvent
from .notify_payload import Notification, notifications
from .notify_sender import Notifier, Receiver
from .observe import Loaded

__all__ = ["ANNOTATION_PENDING_NOTIFICATIONS", "NotificationOutbox"]

ANNOTATION_PENDING_NOTIFICATIONS = "modelrollout.io/pending-notifications"
"""`[[id, event, payload], ...]` while notifications wait for their receivers."""
PENDING_NOTIFICATIONS_MAX = 16
"""Notifications kept pending per rollout (each payload is at most ~1.5 KiB); past it, the
oldest are dropped, so a receiver down for long cannot grow the object without bound."""


@dataclass
class NotificationOutbox:
    notifier: Notifier

    def receivers(self, loaded: Loaded) -> list[tuple[Receiver, frozenset[NotificationEvent]]]:
        """The rollout's receivers with the events each wants: `spec.notifications`, or when
        unset the operator's defaults (every event)."""
        spec = loaded.spec
        if spec is None:
            return []
        if spec.notifications is None:
            return [(receiver, frozenset(NotificationEvent)) for receiver in self.notifier.settings.defaults]
        return [
            (
                Receiver(
                    n.name,
                    NotificationFormat(n.format),
                    loaded.namespace,
                    n.url_secret.name,
                    n.url_secret.key,
                ),
                frozenset(n.events),
            )
            for n in spec.notifications
        ]

    def staged(
        self, loaded: Loaded, status: ModelRolloutStatus, digest: str, events: Sequence[EmitEvent]
    ) -> str | None:
        """The pending annotation with this transition's notifications added (the current value
        when there are none to add)."""
        current = _pending(loaded)
        wanted = {event for _, events in self.receivers(loaded) for event in events}
        known = {notification.id for notification in current}
        for notification in notifications(loaded.body, status, digest, events):
            if notification.event in wanted and notification.id not in known:
                current.append(notification)
        return _dumped(current[-PENDING_NOTIFICATIONS_MAX:])

    def sync(self, loaded: Loaded) -> tuple[bool, str | None]:
        """Hands over what the sender does not know, drops what it finished. Returns whether
        the annotation changes, and its new value."""
        pending = _pending(loaded)
        receivers = self.receivers(loaded)
        left = []
        for notification in pending:
            finished = self.notifier.finished(notification.id)
            if finished:
                self.notifier.acknowledge(notification.id)
                continue
            left.append(notification)
            if finished is None:
                chosen = [receiver for receiver, events in receivers if notification.event in events]
                self.notifier.submit(notification, chosen, _involved(loaded))
        if len(left) == len(pending):
            return False, None
        return True, _dumped(left)


def _involved(loaded: Loaded) -> dict[str, object]:
    """What a Warning Event about a notification names: the rollout (its identity only)."""
    meta = loaded.body["metadata"]
    identity = {key: meta.get(key) for key in ("name", "namespace", "uid", "resourceVersion")}
    return {
        "apiVersion": loaded.body.get("apiVersion"),
        "kind": loaded.body.get("kind"),
        "metadata": identity,
    }


def _pending(loaded: Loaded) -> list[Notification]:
    text = (loaded.body["metadata"].get("annotations") or {}).get(ANNOTATION_PENDING_NOTIFICATIONS)
    if not text:
        return []
    try:
        rows = json.loads(text)
        return [Notification(str(row[0]), NotificationEvent(row[1]), str(row[2])) for row in rows]
    except (ValueError, TypeError, IndexError, KeyError):
        return []  # not ours to repair: it is replaced by the next value written


def _dumped(pending: list[Notification]) -> str | None:
    if not pending:
        return None
    rows = [[n.id, n.event.value, n.payload] for n in pending]
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
