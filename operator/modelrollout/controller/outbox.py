"""Events of a transition survive a crash between the status write and their posting.

The status is written before anything else, so a SIGKILL right after it used to lose the
transition's Events for good: the next `decide` sees the transition done and, rightly, does not
announce it again. Now the Events are staged first in an annotation on the ModelRollout, with a
digest of the status they belong to, and the annotation is cleared once they are posted. On the
next reconcile a staged set is posted only if the status in the apiserver is the one it was
staged for: the write happened, the announcement did not. Any other status means the write never
happened, and the transition (if it still holds) is decided and announced again.

Each staged Event is posted under a name made of the status digest and its place in the
batch, so posting it again (a crash after the POST, before the annotation was cleared) is a
conflict rather than a second Event: every transition is announced exactly once.

The annotation is bounded: at most `PENDING_EVENTS_MAX` Events, each message cut to
`PENDING_EVENT_MESSAGE_MAX_LENGTH` characters, so a transition quoting a huge error can never
push the object towards etcd's limit (or the apiserver's 256 KiB for all annotations). What this
costs is small and only after a crash between the status write and the posting: the Events of
that one transition past the first eight are not posted (one transition emits two or three),
and the recovered ones carry the start of their message. The newest are the ones left out, so
the staged ones keep their place in the batch and the names they are posted under.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..api.v1alpha1 import (
    PENDING_EVENT_MESSAGE_MAX_LENGTH,
    PENDING_EVENTS_MAX,
    ModelRolloutStatus,
    Reason,
    cut,
)
from ..rollout import EmitEvent

__all__ = ["ANNOTATION_PENDING_EVENTS", "StagedEvents", "due_events", "staged_events", "status_digest"]

ANNOTATION_PENDING_EVENTS = "modelrollout.io/pending-events"
"""`{"status": <digest>, "events": [[type, reason, message], ...]}` while Events wait to be posted."""


def status_digest(status: ModelRolloutStatus) -> str:
    """The same for a status as written and as read back (both pass through the pydantic model,
    which fills the same defaults and normalises numbers). `status.kopf` is kopf's, changed
    behind our back, and `replicas`/`selector` are written after the apply (`controller.scale`),
    so all three are left out: a crash between the two writes still finds the Events due."""
    dumped = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    for later in ("kopf", "replicas", "selector"):
        dumped.pop(later, None)
    canonical = json.dumps(dumped, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def staged_events(status: ModelRolloutStatus, events: Sequence[EmitEvent]) -> str:
    """The annotation value staging `events` for the status about to be written: the first
    `PENDING_EVENTS_MAX`, messages cut (see the module docstring)."""
    rows = [
        [event.type, str(event.reason), cut(event.message, PENDING_EVENT_MESSAGE_MAX_LENGTH)]
        for event in events[:PENDING_EVENTS_MAX]
    ]
    staged = {"status": status_digest(status), "events": rows}
    return json.dumps(staged, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class StagedEvents:
    """The Events of one transition and the names they are posted under."""

    digest: str
    """`status_digest` of the status the transition wrote."""
    events: tuple[EmitEvent, ...]

    def named(self, rollout_name: str) -> list[tuple[str, EmitEvent]]:
        return [
            (f"{rollout_name}.{self.digest[:20]}.{index}", event) for index, event in enumerate(self.events)
        ]


def due_events(annotation: str | None, status: ModelRolloutStatus) -> StagedEvents:
    """The staged Events still to post: those staged for exactly this status. A value that does
    not parse is treated as nothing staged (it is cleared either way)."""
    digest = status_digest(status)
    nothing = StagedEvents(digest, ())
    if not annotation:
        return nothing
    try:
        staged: Any = json.loads(annotation)
        if staged.get("status") != digest:
            return nothing
        return StagedEvents(digest, tuple(_event(row) for row in staged.get("events") or []))
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return nothing


def _event(row: Sequence[str]) -> EmitEvent:
    kind, reason, message = row[0], row[1], row[2]
    if kind not in ("Normal", "Warning"):
        raise ValueError(f"event type {kind!r}")
    return EmitEvent(
        type="Warning" if kind == "Warning" else "Normal", reason=Reason(reason), message=message
    )
