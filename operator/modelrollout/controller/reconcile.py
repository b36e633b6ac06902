"""One reconcile of one ModelRollout: load -> observe -> decide -> apply -> write status.

No kopf here: `handlers.py` calls this from a per-object daemon. Every step is idempotent, so a
reconcile interrupted anywhere (SIGKILL included) is simply run again. The writes themselves,
each made only when it changes something, are `writes`'s; repeated announcements are folded
into Event series by `event_series`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..api.v1alpha1 import ConditionType, ModelRolloutStatus, Reason, bounded_status
from ..k8s import KubeClient, KubeError, NotFound
from ..rollout import AnalysisObservation, Decision, EmitEvent, decide
from ..traffic import new_provider
from .apply import Applier, ApplyError, with_lineage
from .event_series import EventSeries, EventSeriesSettings
from .exporter import export_status
from .instruments import RECONCILE_DURATION
from .notify import NotificationOutbox
from .notify_sender import Notifier
from .observe import Loaded, load, observe, pending_action
from .outbox import StagedEvents, status_digest
from .ownership import CLAIM_RECHECK_SECONDS, earlier_claimant, free_kept_versions, versions_kept_on_delete
from .routes import with_effective_weights
from .scale import leaves_deployments_as_they_are, with_scale_status
from .writes import RolloutWriter, StaleRead, StatusRefused
from .writes import with_condition as _with_condition

__all__ = ["STATUS_RETRY_SECONDS", "Reconciler", "StaleRead", "StatusRefused", "now_utc"]

log = logging.getLogger("modelrollout.reconcile")

APPLY_RETRY_MAX_SECONDS = 60.0
"""Longest wait between two attempts at a change the apiserver keeps refusing."""

STALE_READ_ATTEMPTS = 3
"""How many times one reconcile reloads and decides again after a write is refused because the
rollout changed since it was read; then the next tick tries."""

STATUS_RETRY_SECONDS = 30.0
"""When to try again after a refused status write (the decision may change meanwhile)."""


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class Reconciler:
    client: KubeClient
    event_settings: EventSeriesSettings = field(default_factory=EventSeriesSettings)
    notifier: Notifier | None = None
    """Sends the transitions' notifications (None: none are made)."""
    failed_action_notes: dict[str, str] = field(default_factory=dict)
    apply_failures: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Per rollout: the message of an apply failure that still stands, and how many reconciles
    in a row hit it (for backoff)."""
    writes: RolloutWriter = field(init=False)

    def __post_init__(self) -> None:
        outbox = NotificationOutbox(self.notifier) if self.notifier is not None else None
        self.writes = RolloutWriter(
            self.client, EventSeries(self.client, self.event_settings), notifications=outbox
        )

    @property
    def event_series(self) -> EventSeries:
        return self.writes.event_series

    def forget(self, namespace: str, name: str) -> None:
        """The rollout is gone: drop what this reconciler holds for it (its Event series, its
        notes), so memory stays bounded by the rollouts that exist."""
        key = f"{namespace}/{name}"
        self.writes.event_series.forget(namespace, name)
        self.writes.refused_status_notes.pop(key, None)
        self.failed_action_notes.pop(key, None)
        self.apply_failures.pop(key, None)

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
        with RECONCILE_DURATION.time():
            return self._reconcile_fresh(loaded, analysis, now)

    def _reconcile_fresh(
        self, loaded: Loaded, analysis: AnalysisObservation | None, now: datetime
    ) -> float | None:
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
            message = loaded.spec_error or "invalid spec"
            self.writes.degrade(
                loaded, Reason.INVALID_SPEC, message, now, announce=False, fail_unstarted=True
            )
            return None
        spec = loaded.spec
        others = self.client.list_rollouts(loaded.namespace, spec.model, excluding=loaded.name)
        claimant = earlier_claimant(loaded.body, others)
        if claimant is not None:
            message = (
                f"spec.model {spec.model!r} is rolled out by ModelRollout {claimant}, created first: "
                f"this one creates and scales nothing until {claimant} is deleted or names another "
                "model (the Service selects pods by model, so both would serve behind it)"
            )
            self.writes.degrade(loaded, Reason.MODEL_CLAIMED, message, now)
            return CLAIM_RECHECK_SECONDS
        self.writes.post_staged_events(loaded)
        self.writes.sync_notifications(loaded)
        provider = new_provider(spec.strategy.traffic.provider)
        observed = observe(self.client, loaded, provider, analysis)
        if observed.action_problem:
            self._reject_action(loaded, observed.action_problem)
        decision = decide(spec, loaded.status, observed.observations, now)
        decision = with_effective_weights(decision, provider, spec.replicas, loaded.status.weights)
        kept = versions_kept_on_delete(decision.status)
        routes = observed.routes if observed.observations.route_problem is None else None
        applier = Applier(
            self.client, loaded.body, spec, observed.deployments, kept_on_delete=kept, routes=routes,
            served_weights=decision.status.weights, served_routes=decision.status.routes,
        )  # fmt: skip
        status, requeue_after = self._apply(loaded, decision, applier, now)
        action = observed.action
        taken = status.last_action
        if (
            action is not None
            and taken is not None
            and (taken.verb, taken.nonce) == (action.verb.value, action.nonce)
        ):
            repeated = taken == loaded.status.last_action  # the record stands: nothing was applied
            if self.writes.clear_action(loaded) and repeated:
                message = (
                    f"action {pending_action(loaded.body)!r} ignored: already applied at {taken.at} "
                    f"({taken.result}); write a new nonce to repeat it"
                )
                self.writes.event(loaded, "Warning", Reason.ACTION_IGNORED, message)
        self.writes.event_series.flush_due(loaded.body, now)
        export_status(loaded.namespace, loaded.name, spec.model, status)
        return requeue_after

    def _apply(
        self, loaded: Loaded, decision: Decision, applier: Applier, now: datetime
    ) -> tuple[ModelRolloutStatus, float | None]:
        """Write the decided status (lineage merged, transitions staged), change the cluster,
        announce: in that order (see `rollout`). An apply the apiserver refuses becomes a
        Degraded ApplyFailed condition and one Warning Event, retried with backoff. Returns the
        status written and when to look again."""
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
        transitions = [event for event in events if not event.repeats]
        scaled_before = leaves_deployments_as_they_are(decision.actions, applier.deployments)
        if scaled_before:  # the scale fields ride in the one status write
            status = with_scale_status(status, applier.deployments, loaded.name)
        # Before the status that names a version stable (or promoting): garbage collection must
        # never find an owner to follow to the Deployment that serves (`ownership`).
        free_kept_versions(self.client, loaded.body, applier.deployments, applier.kept_on_delete)
        self.writes.stage_events(loaded, status, transitions)
        self.writes.status(loaded, status, now)
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
                self.writes.status(loaded, failed, now, previous=status)
                self.writes.event(loaded, "Warning", Reason.APPLY_FAILED, message)
            requeue_after = min(APPLY_RETRY_MAX_SECONDS, 2.0**attempts)
        else:
            if self.apply_failures.pop(key, None) is not None:
                requeue_after = 1.0  # the next reconcile writes status without the stale ApplyFailed
            if not scaled_before:  # the scale subresource's side, from the Deployments as left
                scaled = with_scale_status(status, applier.deployments, loaded.name)
                self.writes.status(loaded, scaled, now, previous=status)
                status = scaled
        if transitions:
            self.writes.event_series.end(loaded.body)
            digest = status_digest(status)
            applier.announce(StagedEvents(digest, tuple(transitions)).named(loaded.name))
            self.writes.clear_staged_events(loaded, status, digest, transitions)
        for event in events:
            if event.repeats:
                self.writes.event_series.repeat(loaded.body, event, now)
        return status, requeue_after

    def _reject_action(self, loaded: Loaded, message: str) -> None:
        """One Warning per invalid action written: the note only keeps a clear that keeps failing
        from warning on every tick, and is dropped once the annotation is gone."""
        key = f"{loaded.namespace}/{loaded.name}"
        if self.failed_action_notes.get(key) != message:
            self.failed_action_notes[key] = message
            self.writes.event(loaded, "Warning", Reason.INVALID_ACTION, message)
        if self.writes.clear_action(loaded):
            self.failed_action_notes.pop(key, None)
