"""Carry out `rollout.decide`'s actions against the apiserver. Each action is safe to repeat."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..api.v1alpha1 import LineageEntry, ModelRolloutSpec, ModelRolloutStatus, RoutesStatus, Weight
from ..k8s import KubeClient, KubeError, owner_reference, with_conflict_retry
from ..lineage import VersionLineage
from ..rollout import (
    Action,
    ApplyWeights,
    EmitEvent,
    EnsureVersion,
    PruneVersions,
    RecordLineage,
    RetireVersion,
    RolloutOutcome,
)
from .ownership import name_taken
from .routes import Routes
from .workloads import build_deployment, listed_name

log = logging.getLogger("modelrollout.apply")


class ApplyError(RuntimeError):
    """An action the apiserver refused; reported as a Degraded condition and a Warning event."""


@dataclass
class Applier:
    client: KubeClient
    body: dict[str, Any]
    spec: ModelRolloutSpec
    deployments: dict[str, dict[str, Any]]
    kept_on_delete: frozenset[str] = frozenset()
    """Versions created without an ownerReference (`ownership.versions_kept_on_delete`)."""
    routes: Routes | None = None
    """The traffic provider's routes; None while it cannot route (a problem `decide` holds on)."""
    served_weights: Mapping[str, Weight] = field(default_factory=dict)
    """`status.weights` as decided: the routes are kept at them on every reconcile."""
    served_routes: RoutesStatus | None = None
    """`status.routes` as decided: the header routes and mirrors the routes hold besides."""
    events: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return str(self.body["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    def apply(self, actions: tuple[Action, ...]) -> None:
        """Change the cluster as the actions say, in order (Events are `announce`'s).

        The caller has written status (lineage merged) before this: a crash here leaves a status
        that the next `decide` converges on again, never one that replays a step."""
        handlers: dict[type, Callable[[Any], None]] = {
            EnsureVersion: self._ensure,
            ApplyWeights: self._weights,
            RetireVersion: self._retire,
            PruneVersions: self._prune,
        }
        for action in actions:
            if type(action) in handlers:
                handlers[type(action)](action)
        routed = any(isinstance(action, ApplyWeights) for action in actions)
        if self.routes is not None and not routed:
            self.routes.set(self.served_weights, self.served_routes)  # writes only what differs

    def announce(self, events: Sequence[tuple[str, EmitEvent]]) -> None:
        """Post the Events of a transition the status already records, each under its own name:
        one already posted is a conflict, ignored (see `outbox`)."""
        for name, event in events:
            self._event(event, name)

    def _ensure(self, action: EnsureVersion) -> None:
        if action.version in self.deployments:
            return
        if action.template is None:
            raise ApplyError(f"version {action.version} has no Deployment and no template to create it from")
        body = build_deployment(
            rollout_name=self.name,
            namespace=self.namespace,
            model=self.spec.model,
            version=action.version,
            template=dict(action.template),
            owner=None if action.version in self.kept_on_delete else owner_reference(self.body),
        )
        try:
            self.deployments[action.version] = self.client.create_deployment(self.namespace, body)
        except KubeError as error:
            name = body["metadata"]["name"]
            if error.status == 409:
                raise ApplyError(
                    name_taken(self.client, self.namespace, name, self.name, action.version)
                ) from error
            raise ApplyError(f"creating Deployment {name}: {error.message}") from error

    def _scale(self, version: str, replicas: int) -> None:
        current = self.deployments.get(version)
        if current is None:
            return
        if int(current.get("spec", {}).get("replicas", 0) or 0) == replicas:
            return
        name = listed_name(current)
        with_conflict_retry(lambda: self.client.scale_deployment(self.namespace, name, replicas))
        current.setdefault("spec", {})["replicas"] = replicas

    def _weights(self, action: ApplyWeights) -> None:
        """The sizes `decide` staged (it waits for Available pods between stages). Growing
        before shrinking is only a safety net for a partial apply: a crash after the first
        scale leaves more capacity, never less."""
        if self.routes is not None:  # a version leaves the routes before it loses pods
            self.routes.set(action.weights, self.served_routes)
        ordered = sorted(action.replicas.items(), key=lambda item: item[1] <= self._current(item[0]))
        for version, replicas in ordered:
            self._scale(version, replicas)

    def _current(self, version: str) -> int:
        deployment = self.deployments.get(version) or {}
        return int(deployment.get("spec", {}).get("replicas", 0) or 0)

    def _retire(self, action: RetireVersion) -> None:
        self._scale(action.version, 0)

    def _prune(self, action: PruneVersions) -> None:
        for version in list(self.deployments):
            if version not in action.keep:
                name = listed_name(self.deployments[version])
                self.client.delete_deployment(self.namespace, name)
                del self.deployments[version]

    def _event(self, action: EmitEvent, name: str) -> None:
        log.info("%s/%s %s %s: %s", self.namespace, self.name, action.type, action.reason, action.message)
        self.events.append((action.type, str(action.reason), action.message))
        try:
            self.client.create_event(self.body, action.type, str(action.reason), action.message, name=name)
        except KubeError:
            pass  # posted before (409), or best effort: status carries the same facts


def with_lineage(status: ModelRolloutStatus, actions: tuple[Action, ...]) -> ModelRolloutStatus:
    """`status` with the decision's lineage facts merged into `status.lineage`, and the lineage's
    answers (the stable's path from the first version, the last and previous good versions)."""
    facts = [a for a in actions if isinstance(a, RecordLineage)]
    entries = merge_lineage(status.lineage, facts) if facts else status.lineage
    lineage = VersionLineage.from_status(entries)
    stable = lineage.stable
    return status.model_copy(
        update={
            "lineage": entries,
            "stable_path": lineage.path_from_root(stable) if stable is not None else [],
            "last_good_version": lineage.last_good(),
            "previous_good_version": lineage.last_good(before=stable) if stable is not None else None,
        }
    )


def merge_lineage(entries: list[LineageEntry], facts: list[RecordLineage]) -> list[LineageEntry]:
    lineage = VersionLineage.from_status(entries)
    for fact in facts:
        metrics = list(fact.metrics) if fact.metrics is not None else None
        if fact.outcome is RolloutOutcome.STABLE:
            lineage.record_stable(fact.version, dict(fact.parameters or {}) or None, fact.at)
        elif fact.outcome is RolloutOutcome.PROGRESSING:
            lineage.record_candidate(fact.version, fact.parent, dict(fact.parameters or {}) or None, fact.at)
        elif fact.outcome is RolloutOutcome.PROMOTED:
            lineage.record_promoted(fact.version, fact.at, metrics)
        elif fact.outcome is RolloutOutcome.ROLLED_BACK:
            lineage.record_rolled_back(fact.version, fact.at, fact.reason, metrics)
        elif fact.outcome is RolloutOutcome.ABORTED:
            lineage.record_aborted(fact.version, fact.at, fact.reason, metrics)
        elif fact.outcome is RolloutOutcome.SUPERSEDED:
            lineage.record_superseded(fact.version, fact.at, fact.reason)
    return lineage.to_status()
