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
from ..k8s import KubeClient, KubeError, NotFound
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
from .observe import Loaded, load, observe, pending_action
from .outbox import ANNOTATION_PENDING_EVENTS, StagedEvents, due_events, staged_events, status_digest
from .ownership import CLAIM_RECHECK_SECONDS, earlier_claimant, free_kept_versions, versions_kept_on_delete
from .scale import with_scale_status
from .status_patch import merge_patch

log = logging.getLogger("modelrollout.reconcile")

APPLY_RETRY_MAX_SECONDS = 60.0
"""Longest wait between two attempts at a change the apiserver keeps refusing."""

STALE_READ_ATTEMPTS = 3
"""How many times one reconcile reloads and decides again after a write is refused because the
rollout changed since it was read; then the next tick tries."""


class StaleRead(Exception):
    """A write refused with 409: the rollout moved on after this reconcile read it, so what it
    computed is stale and must be computed again from a fresh read, never sent without the
    precondition."""


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
        """Returns seconds until the next look is needed regardless of changes (None: on change).

        Every write to the ModelRollout carries the resourceVersion of the read it was computed
        from (followed through the reconcile's own writes). A 409 means someone else wrote in
        between: reload and decide again, dropping the analysis observation (it was requested
        for the old status; the next tick asks again)."""
        now = now or now_utc()
        for attempt in range(1, STALE_READ_ATTEMPTS + 1):
            try:
                return self._reconcile(loaded, analysis, now)
            except StatusRefused:  # reported as an Event and a condition: a retry cannot help now
                return STATUS_RETRY_SECONDS
            except StaleRead:
                log.info("%s/%s changed since it was read (%d)", loaded.namespace, loaded.name, attempt)
            if attempt < STALE_READ_ATTEMPTS:
                reloaded = self.load(loaded.namespace, loaded.name)
                if reloaded is None:
                    return None
                loaded, analysis = reloaded, None
        return 0.0  # the next tick reads it again

    def _reconcile(self, loaded: Loaded, analysis: AnalysisObservation | None, now: datetime) -> float | None:
        if loaded.spec is None:
            self._write_invalid(loaded, loaded.spec_error or "invalid spec", now)
            return None
        spec = loaded.spec
        claimant = earlier_claimant(loaded.body, self.client.list_rollouts(loaded.namespace))
        if claimant is not None:
            message = (
                f"spec.model {spec.model!r} is rolled out by ModelRollout {claimant}, created first: "
                f"this one creates and scales nothing until {claimant} is deleted or names another "
                "model (the Service selects pods by model, so both would serve behind it)"
            )
            self._refuse(loaded, Reason.MODEL_CLAIMED, message, now)
            return CLAIM_RECHECK_SECONDS
        self._post_staged_events(loaded)
        provider = new_provider(spec.strategy.traffic.provider)
        observed = observe(self.client, loaded, provider, analysis)
        if observed.action_problem:
            self._reject_action(loaded, observed.action_problem)
        decision = decide(spec, loaded.status, observed.observations, now)
        kept = versions_kept_on_delete(decision.status)
        applier = Applier(self.client, loaded.body, spec, observed.deployments, kept_on_delete=kept)
        status, requeue_after = self._apply(loaded, decision, applier, now)
        action = observed.action
        taken = status.last_action
        if (
            action is not None
            and taken is not None
            and (taken.verb, taken.nonce) == (action.verb.value, action.nonce)
        ):
            repeated = taken == loaded.status.last_action  # the record stands: nothing was applied
            if self._clear_action(loaded) and repeated:
                message = (
                    f"action {pending_action(loaded.body)!r} ignored: already applied at {taken.at} "
                    f"({taken.result}); write a new nonce to repeat it"
                )
                self._event(loaded, "Warning", Reason.ACTION_IGNORED, message)
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
        # Before the status that names a version stable (or promoting): garbage collection must
        # never find an owner to follow to the Deployment that serves (`ownership`).
        free_kept_versions(self.client, loaded.body, applier.deployments, applier.kept_on_delete)
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
            written = self.client.patch_rollout_status(
                loaded.namespace, loaded.name, patch, resource_version=_read_version(loaded)
            )
        except KubeError as error:
            if error.status not in REFUSED_STATUS_CODES and ETCD_TOO_LARGE not in error.message:
                raise _stale_or(error) from None
            self._report_refused_status(loaded, error, now or now_utc())
            raise StatusRefused(str(error)) from error
        self.refused_status_notes.pop(key, None)
        _follow_own_write(loaded, written)

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
            self.client.patch_rollout_status(
                loaded.namespace,
                loaded.name,
                {"conditions": conditions},
                resource_version=_read_version(loaded),
            )
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

    def _refuse(self, loaded: Loaded, reason: Reason, message: str, now: datetime) -> None:
        """Degraded with `reason`, announced by one Warning Event when it appears; nothing else
        written, nothing in the cluster touched."""
        previous = next((c for c in loaded.status.conditions if c.type == ConditionType.DEGRADED), None)
        status = _with_condition(loaded.status, ConditionType.DEGRADED, "True", reason, message, now)
        update = {"message": message, "observed_generation": loaded.generation}
        self._write_status(loaded, status.model_copy(update=update))
        if previous is None or (previous.status, previous.reason) != ("True", reason.value):
            self._event(loaded, "Warning", reason, message)

    def _clear_action(self, loaded: Loaded) -> bool:
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

    def _set_annotation(self, loaded: Loaded, key: str, value: str | None) -> None:
        patch = {"metadata": {"annotations": {key: value}, "resourceVersion": _read_version(loaded)}}
        try:
            written = self.client.patch_rollout(loaded.namespace, loaded.name, patch)
        except NotFound:
            return
        except KubeError as error:
            raise _stale_or(error) from None
        _follow_own_write(loaded, written)

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
        """One Warning per invalid action written: the note only keeps a clear that keeps failing
        from warning on every tick, and is dropped once the annotation is gone."""
        key = f"{loaded.namespace}/{loaded.name}"
        if self.failed_action_notes.get(key) != message:
            self.failed_action_notes[key] = message
            self._event(loaded, "Warning", Reason.INVALID_ACTION, message)
        if self._clear_action(loaded):
            self.failed_action_notes.pop(key, None)

    def _event(
        self, loaded: Loaded, kind: str, reason: Reason, message: str, name: str | None = None
    ) -> None:
        try:
            self.client.create_event(loaded.body, kind, str(reason), message, name=name)
        except KubeError:
            pass


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
