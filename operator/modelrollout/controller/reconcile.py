"""One reconcile of one ModelRollout: load -> observe -> decide -> apply -> write status.

No kopf here: `handlers.py` calls this from a per-object daemon. Every step is idempotent, so a
reconcile interrupted anywhere (SIGKILL included) is simply run again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

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
from ..k8s import KubeClient, KubeError, NotFound, with_conflict_retry
from ..rollout import (
    AnalysisObservation,
    ConditionStatus,
    Decision,
    EmitEvent,
    decide,
    put_condition,
)
from ..traffic import new_provider
from .apply import Applier, ApplyError, with_lineage
from .exporter import export_status
from .observe import Loaded, load, observe
from .outbox import ANNOTATION_PENDING_EVENTS, StagedEvents, due_events, staged_events, status_digest
from .scale import with_scale_status
from .status_patch import merge_patch

log = logging.getLogger("modelrollout.reconcile")

APPLY_RETRY_MAX_SECONDS = 60.0
"""Longest wait between two attempts at a change the apiserver keeps refusing."""

REFUSED_STATUS_CODES = frozenset({400, 413, 422})
"""A status write answered with one of these will be refused again as it is (bad request, too
large, invalid: a schema or size limit); a retry cannot help, a person must be told."""
ETCD_TOO_LARGE = "request is too large"
"""etcd's words for an object past its limit, which the apiserver passes on as a 500."""
STATUS_RETRY_SECONDS = 30.0
"""When to try again after a refused status write (the decision may change meanwhile)."""


class StatusRefused(RuntimeError):
    """The apiserver refused a status write; reported, and this reconcile stops before the apply."""


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class Reconciler:
    client: KubeClient
    failed_action_notes: dict[str, str] = field(default_factory=dict)
    refused_status_notes: dict[str, str] = field(default_factory=dict)
    """Per rollout: the refusal of its last status write, while it stands (announced once)."""
    apply_failures: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Per rollout: the message of an apply failure that still stands, and how many reconciles
    in a row hit it (for backoff)."""

    def load(self, namespace: str, name: str) -> Loaded | None:
        try:
            return load(self.client.get_rollout(namespace, name))
        except NotFound:
            return None

    def reconcile(
        self, loaded: Loaded, analysis: AnalysisObservation | None, now: datetime | None = None
    ) -> float | None:
        """Returns seconds until the next look is needed regardless of changes (None: on change)."""
        now = now or now_utc()
        if loaded.spec is None:
            try:
                self._write_invalid(loaded, loaded.spec_error or "invalid spec", now)
            except StatusRefused:
                return STATUS_RETRY_SECONDS
            return None
        spec = loaded.spec
        self._post_staged_events(loaded)
        provider = new_provider(spec.strategy.traffic.provider)
        observed = observe(self.client, loaded, provider, analysis)
        if observed.action_problem:
            self._reject_action(loaded, observed.action_problem)
        decision = decide(spec, loaded.status, observed.observations, now)
        applier = Applier(self.client, loaded.body, spec, observed.deployments)
        try:
            status, requeue_after = self._apply(loaded, decision, applier, now)
        except StatusRefused:
            return STATUS_RETRY_SECONDS
        action = observed.action
        if action is not None and status.last_action is not None and status.last_action.nonce == action.nonce:
            self._clear_action(loaded)
        export_status(loaded.namespace, loaded.name, spec.model, status)
        return requeue_after

    def _apply(
        self, loaded: Loaded, decision: Decision, applier: Applier, now: datetime
    ) -> tuple[ModelRolloutStatus, float | None]:
        """Write the decided status (lineage merged, Events staged), change the cluster, announce:
        in that order (see `rollout`). An apply the apiserver refuses becomes a Degraded
        ApplyFailed condition and one Warning Event, retried with backoff. Returns the status
        written and when to look again."""
        status = bounded_status(with_lineage(decision.status, decision.actions))
        key = f"{loaded.namespace}/{loaded.name}"
        failing = self.apply_failures.get(key)
        if failing is not None:
            # Keep the Degraded condition of a failure that still stands in the one status write,
            # instead of clearing it (decide does not know) and setting it again every tick.
            status = _with_condition(
                status, ConditionType.DEGRADED, "True", Reason.APPLY_FAILED, failing[0], now
            )
        events = [action for action in decision.actions if isinstance(action, EmitEvent)]
        self._stage_events(loaded, status, events)
        self._write_status(loaded, status, now=now)
        requeue_after = decision.requeue_after
        try:
            applier.apply(decision.actions)
        except (ApplyError, KubeError) as error:
            message = str(error)
            attempts = failing[1] + 1 if failing is not None and failing[0] == message else 1
            self.apply_failures[key] = (message, attempts)
            if attempts == 1:  # announce a failure once, not on every retry
                log.warning("%s/%s: %s", loaded.namespace, loaded.name, message)
                failed = _with_condition(
                    status, ConditionType.DEGRADED, "True", Reason.APPLY_FAILED, message, now
                )
                self._write_status(loaded, failed, previous=status, now=now)
                self._event(loaded, "Warning", Reason.APPLY_FAILED, message)
            requeue_after = min(APPLY_RETRY_MAX_SECONDS, 2.0**attempts)
        else:
            if self.apply_failures.pop(key, None) is not None:
                requeue_after = 1.0  # the next reconcile writes status without the stale ApplyFailed
            # The scale subresource's side, from the Deployments as this apply left them.
            scaled = with_scale_status(status, applier.deployments, loaded.name)
            self._write_status(loaded, scaled, previous=status, now=now)
            status = scaled
        if events:
            applier.announce(StagedEvents(status_digest(status), tuple(events)).named(loaded.name))
            self._set_annotation(loaded, ANNOTATION_PENDING_EVENTS, None)
        return status, requeue_after

    # -- writing ------------------------------------------------------------------------------
    def _write_status(
        self,
        loaded: Loaded,
        status: ModelRolloutStatus,
        previous: ModelRolloutStatus | None = None,
        now: datetime | None = None,
    ) -> None:
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
            with_conflict_retry(
                lambda: self.client.patch_rollout_status(loaded.namespace, loaded.name, patch)
            )
        except KubeError as error:
            if error.status not in REFUSED_STATUS_CODES and ETCD_TOO_LARGE not in error.message:
                raise
            self._report_refused_status(loaded, error, now or now_utc())
            raise StatusRefused(str(error)) from error
        self.refused_status_notes.pop(key, None)

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
        self._event(loaded, "Warning", Reason.STATUS_WRITE_REJECTED, message)
        degraded = _with_condition(
            loaded.status, ConditionType.DEGRADED, "True", Reason.STATUS_WRITE_REJECTED, message, now
        )
        conditions = [
            c.model_dump(by_alias=True, exclude_none=True, mode="json") for c in degraded.conditions
        ]
        try:
            self.client.patch_rollout_status(loaded.namespace, loaded.name, {"conditions": conditions})
        except KubeError as refused:
            log.warning("%s: the Degraded condition was refused too: %s", key, refused)

    def _write_invalid(self, loaded: Loaded, message: str, now: datetime) -> None:
        """A stored spec that no longer parses: say so, touch nothing (traffic stays as it is)."""
        status = _with_condition(
            loaded.status, ConditionType.DEGRADED, "True", Reason.INVALID_SPEC, message, now
        ).model_copy(update={"message": message, "observed_generation": loaded.generation})
        if loaded.status.phase is Phase.PENDING and loaded.status.stable_version is None:
            status = status.model_copy(update={"phase": Phase.FAILED})
        self._write_status(loaded, status, now=now)

    def _clear_action(self, loaded: Loaded) -> None:
        self._set_annotation(loaded, ANNOTATION_ACTION, None)

    def _set_annotation(self, loaded: Loaded, key: str, value: str | None) -> None:
        patch = {"metadata": {"annotations": {key: value}}}
        try:
            self.client.patch_rollout(loaded.namespace, loaded.name, patch)
        except NotFound:
            pass

    def _stage_events(self, loaded: Loaded, status: ModelRolloutStatus, events: list[EmitEvent]) -> None:
        """Before the status write, so a crash after it still gets the Events out (`outbox`)."""
        if events:
            self._set_annotation(loaded, ANNOTATION_PENDING_EVENTS, staged_events(status, events))

    def _post_staged_events(self, loaded: Loaded) -> None:
        """Events staged by a reconcile that died after writing its status; see `outbox`."""
        staged = (loaded.body["metadata"].get("annotations") or {}).get(ANNOTATION_PENDING_EVENTS)
        if staged is None:
            return
        for name, event in due_events(staged, loaded.status).named(loaded.name):
            self._event(loaded, event.type, event.reason, event.message, name=name)
        self._set_annotation(loaded, ANNOTATION_PENDING_EVENTS, None)

    def _reject_action(self, loaded: Loaded, message: str) -> None:
        key = f"{loaded.namespace}/{loaded.name}"
        if self.failed_action_notes.get(key) != message:
            self.failed_action_notes[key] = message
            self._event(loaded, "Warning", Reason.INVALID_ACTION, message)
        self._clear_action(loaded)

    def _event(
        self, loaded: Loaded, kind: str, reason: Reason, message: str, name: str | None = None
    ) -> None:
        try:
            self.client.create_event(loaded.body, kind, str(reason), message, name=name)
        except KubeError:
            pass


def _with_condition(
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
