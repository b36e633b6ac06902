"""The reconcile's writes to its ModelRollout: status, annotations, Events.

Each write is made only when it changes something (a status equal to the one read is not sent;
an annotation is touched only when there is something staged to clear or to stage), and each
carries the resourceVersion of the read the reconcile computed it from, followed through the
reconcile's own writes: a 409 is a `StaleRead`, never a write sent without the precondition.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..api.v1alpha1 import (
    ANNOTATION_ACTION,
    MESSAGE_MAX_LENGTH,
    ConditionType,
    ModelRolloutStatus,
    Phase,
    Reason,
    bounded_status,
    cut,
    format_timestamp,
)
from ..k8s import KubeClient, KubeError, NotFound
from ..rollout import ConditionStatus, EmitEvent, put_condition
from .event_series import EventSeries
from .notify import ANNOTATION_PENDING_NOTIFICATIONS, NotificationOutbox
from .observe import Loaded, pending_action
from .outbox import ANNOTATION_PENDING_EVENTS, due_events, staged_events
from .status_patch import merge_patch

__all__ = ["RolloutWriter", "StaleRead", "StatusRefused", "with_condition"]

log = logging.getLogger("modelrollout.reconcile")

REFUSED_STATUS_CODES = frozenset({400, 413, 422})
"""A status write answered with one of these will be refused again as it is (bad request, too
large, invalid: a schema or size limit); a retry cannot help, a person must be told."""
ETCD_TOO_LARGE = "request is too large"
"""etcd's words for an object past its limit, which the apiserver passes on as a 500."""


class StaleRead(Exception):
    """A write refused with 409: the rollout moved on after this reconcile read it, so what it
    computed is stale and must be computed again from a fresh read, never sent without the
    precondition."""


class StatusRefused(RuntimeError):
    """The apiserver refused a status write; reported, and this reconcile stops before the apply."""


@dataclass
class RolloutWriter:
    client: KubeClient
    event_series: EventSeries
    refused_status_notes: dict[str, str] = field(default_factory=dict)
    """Per rollout: the refusal of its last status write, while it stands (announced once)."""
    notifications: NotificationOutbox | None = None
    """Where transitions are kept for the receivers until sent (None: none are made)."""

    def status(
        self,
        loaded: Loaded,
        status: ModelRolloutStatus,
        now: datetime,
        previous: ModelRolloutStatus | None = None,
    ) -> None:
        """A merge patch from `previous` (default: the status read) to `status`; nothing at all
        when they agree."""
        old = (
            previous.model_dump(by_alias=True, exclude_none=True, mode="json")
            if previous is not None
            else loaded.body.get("status") or {}
        )
        new = bounded_status(status).model_dump(by_alias=True, exclude_none=True, mode="json")
        if "kopf" in old:
            new["kopf"] = old["kopf"]
        patch = merge_patch(old, new)
        if not patch:
            return
        key = f"{loaded.namespace}/{loaded.name}"
        try:
            written = self.client.patch_rollout_status(
                loaded.namespace, loaded.name, patch, resource_version=_read_version(loaded)
            )
        except KubeError as error:
            if error.status not in REFUSED_STATUS_CODES and ETCD_TOO_LARGE not in error.message:
                raise _stale_or(error) from None
            self._report_refused_status(loaded, error, now)
            raise StatusRefused(str(error)) from error
        self.refused_status_notes.pop(key, None)
        _follow_own_write(loaded, written)

    def degrade(
        self,
        loaded: Loaded,
        reason: Reason,
        message: str,
        now: datetime,
        *,
        announce: bool = True,
        fail_unstarted: bool = False,
    ) -> None:
        """Degraded with `reason` (the status message saying it too), nothing else written and
        nothing in the cluster touched: a spec that no longer parses (traffic stays as it is),
        a model another rollout claims. `announce`: one Warning Event when the condition
        appears. `fail_unstarted`: a rollout that never started is Failed, not left Pending."""
        previous = next((c for c in loaded.status.conditions if c.type == ConditionType.DEGRADED), None)
        status = with_condition(loaded.status, ConditionType.DEGRADED, "True", reason, message, now)
        status = status.model_copy(update={"message": message, "observed_generation": loaded.generation})
        if fail_unstarted and loaded.status.phase is Phase.PENDING and loaded.status.stable_version is None:
            status = status.model_copy(update={"phase": Phase.FAILED})
        self.status(loaded, status, now)
        if announce and (previous is None or (previous.status, previous.reason) != ("True", reason.value)):
            self.event(loaded, "Warning", reason, message)

    def _report_refused_status(self, loaded: Loaded, error: KubeError, now: datetime) -> None:
        """A refused status write must reach a person, not only the log: a Warning Event (once
        while the same refusal stands) and, in a patch small enough to pass any limit, the
        Degraded condition alone. The condition is best effort: a patch refused even then
        leaves the Event to tell."""
        key = f"{loaded.namespace}/{loaded.name}"
        message = cut(f"the apiserver refused the status write: {error}", MESSAGE_MAX_LENGTH)
        log.warning("%s: %s", key, message)
        if self.refused_status_notes.get(key) == message:
            return
        self.refused_status_notes[key] = message
        self.event(loaded, "Warning", Reason.STATUS_WRITE_REJECTED, message)
        degraded = with_condition(
            loaded.status, ConditionType.DEGRADED, "True", Reason.STATUS_WRITE_REJECTED, message, now
        )
        conditions = [
            c.model_dump(by_alias=True, exclude_none=True, mode="json") for c in degraded.conditions
        ]
        try:
            self.client.patch_rollout_status(
                loaded.namespace,
                loaded.name,
                {"conditions": conditions},
                resource_version=_read_version(loaded),
            )
        except KubeError as refused:
            log.warning("%s: the Degraded condition was refused too: %s", key, refused)

    def clear_action(self, loaded: Loaded) -> bool:
        """Removes the action annotation only while it holds the text this reconcile read: an
        action a person wrote meanwhile stays for the next reconcile (a `test` op makes the
        apiserver check it). False when the annotation changed and was left alone."""
        text = pending_action(loaded.body)
        if text is None:
            return True
        path = "/metadata/annotations/" + ANNOTATION_ACTION.replace("~", "~0").replace("/", "~1")
        operations = [{"op": "test", "path": path, "value": text}, {"op": "remove", "path": path}]
        try:
            self.client.patch_rollout_json(loaded.namespace, loaded.name, operations)
        except NotFound:
            return True
        except KubeError as error:
            if error.status not in (409, 422):
                raise
            log.info(
                "%s/%s: a new action was written meanwhile; it is read next", loaded.namespace, loaded.name
            )
            return False
        return True

    def stage_events(self, loaded: Loaded, status: ModelRolloutStatus, events: list[EmitEvent]) -> None:
        """Before the status write, so a crash after it still gets the Events out (`outbox`).
        Transitions only: with none, no annotation is written."""
        if events:
            self._set_annotations(loaded, {ANNOTATION_PENDING_EVENTS: staged_events(status, events)})

    def clear_staged_events(
        self,
        loaded: Loaded,
        status: ModelRolloutStatus | None = None,
        digest: str = "",
        events: Sequence[EmitEvent] = (),
    ) -> None:
        """The announced transition's Events are posted: unstage them and, in the same write,
        keep its notifications pending for their receivers (`notify`)."""
        annotations: dict[str, str | None] = {ANNOTATION_PENDING_EVENTS: None}
        if self.notifications is not None and status is not None and events:
            annotations[ANNOTATION_PENDING_NOTIFICATIONS] = self.notifications.staged(
                loaded, status, digest, events
            )
        self._set_annotations(loaded, annotations)
        if len(annotations) > 1:
            self.sync_notifications(loaded)  # stored first, then handed over: sent at once

    def post_staged_events(self, loaded: Loaded) -> None:
        """Events staged by a reconcile that died after writing its status; see `outbox`."""
        staged = (loaded.body["metadata"].get("annotations") or {}).get(ANNOTATION_PENDING_EVENTS)
        if staged is None:
            return
        due = due_events(staged, loaded.status)
        for name, event in due.named(loaded.name):
            self.event(loaded, event.type, event.reason, event.message, name=name)
        self.clear_staged_events(loaded, loaded.status, due.digest, due.events)

    def sync_notifications(self, loaded: Loaded) -> None:
        """Pending notifications handed to the sender (again, after a restart), finished ones
        removed from the annotation."""
        if self.notifications is None:
            return
        changed, value = self.notifications.sync(loaded)
        if changed:
            self._set_annotations(loaded, {ANNOTATION_PENDING_NOTIFICATIONS: value})

    def event(self, loaded: Loaded, kind: str, reason: Reason, message: str, name: str | None = None) -> None:
        """One Event, best effort (the status carries the same facts); it ends the rollout's
        repeated announcement, if one is in progress (`event_series`)."""
        self.event_series.end(loaded.body)
        try:
            self.client.create_event(loaded.body, kind, str(reason), message, name=name)
        except KubeError:
            pass

    def _set_annotations(self, loaded: Loaded, annotations: dict[str, str | None]) -> None:
        patch = {"metadata": {"annotations": annotations, "resourceVersion": _read_version(loaded)}}
        try:
            written = self.client.patch_rollout(loaded.namespace, loaded.name, patch)
        except NotFound:
            return
        except KubeError as error:
            raise _stale_or(error) from None
        _follow_own_write(loaded, written)
        held = loaded.body["metadata"].setdefault("annotations", {})
        for key, value in annotations.items():  # our view follows our own write
            if value is None:
                held.pop(key, None)
            else:
                held[key] = value


def _read_version(loaded: Loaded) -> str | None:
    """The precondition of the next write: the resourceVersion this reconcile's view is from."""
    version = loaded.body["metadata"].get("resourceVersion")
    return None if version is None else str(version)


def _stale_or(error: KubeError) -> Exception:
    return StaleRead(str(error)) if error.status == 409 else error


def _follow_own_write(loaded: Loaded, written: dict[str, object]) -> None:
    """After a write of our own, the object's new resourceVersion is still our view (nothing but
    our write came between), so the reconcile's next write is checked against it."""
    metadata = written.get("metadata")
    if isinstance(metadata, dict) and metadata.get("resourceVersion") is not None:
        loaded.body["metadata"]["resourceVersion"] = metadata["resourceVersion"]


def with_condition(
    status: ModelRolloutStatus,
    kind: ConditionType,
    value: ConditionStatus,
    reason: Reason,
    message: str,
    now: datetime,
) -> ModelRolloutStatus:
    """A copy of `status` with one condition set by the state machine's own rule (the transition
    time moves only when the condition's status does)."""
    conditions = [condition.model_copy() for condition in status.conditions]
    at = format_timestamp(now, whole_seconds=True)
    message = cut(message, MESSAGE_MAX_LENGTH)
    put_condition(conditions, kind, value, reason, message, at, status.observed_generation or 0)
    return status.model_copy(update={"conditions": conditions})
