"""The calls the operator makes to the apiserver, as a Protocol, and the errors they raise.

Two implementations: `ApiKubeClient` (the kubernetes client, for the operator and the
integration tests) and `FakeKubeClient` (in memory, for unit tests). Everything crosses as
plain dicts, the JSON the apiserver speaks.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Obj = dict[str, Any]


class KubeError(RuntimeError):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


class NotFound(KubeError):
    pass


class KindNotServed(KubeError):
    """The apiserver does not serve this apiVersion and kind (its CRDs are not installed)."""

    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(404, "KindNotServed", f"the cluster serves no {kind} in {api_version}")
        self.api_version = api_version
        self.kind = kind


@dataclass(frozen=True)
class Secret:
    """A Secret's labels and its keys decoded; the values never printed (repr hides them)."""

    labels: Mapping[str, str]
    """Who may use it: the operator sends Prometheus only Secrets labelled for that purpose."""
    data: Mapping[str, str] = field(repr=False)


def decoded_secret(labels: Mapping[str, str] | None, data: Mapping[str, str] | None) -> Secret:
    """A `Secret` from the apiserver's labels and base64 `data`."""
    values = {key: base64.b64decode(value).decode() for key, value in (data or {}).items()}
    return Secret(labels=dict(labels or {}), data=values)


def with_conflict_retry(fn: Callable[[], T], attempts: int = 5, delay: float = 0.2) -> T:
    """Retry on 409 Conflict: another writer (an HPA, a person, our previous run) got there first."""
    for attempt in range(attempts):
        try:
            return fn()
        except KubeError as error:
            if error.status != 409 or attempt == attempts - 1:
                raise
            time.sleep(delay * (attempt + 1))
    raise AssertionError("unreachable")


class KubeClient(Protocol):
    """Synchronous; the controller calls it from a worker thread. Every failure is a `KubeError`
    (`NotFound` for a 404), never an exception of the kubernetes client."""

    # -- ModelRollouts --------------------------------------------------------------------
    def get_rollout(self, namespace: str, name: str) -> Obj:
        """Each reconcile starts from a fresh read, not kopf's cached body, so it decides on the
        status the previous reconcile wrote."""
        ...

    def list_rollouts(
        self, namespace: str, model: str | None = None, excluding: str | None = None
    ) -> list[Obj]:
        """The namespace's ModelRollouts: the `dependsOn` graph spans them. With `model`, only
        those whose `spec.model` it is (who else claims a model: every reconcile asks, so the
        watch cache answers it from an index instead of scanning the namespace). `excluding`
        leaves one out by name: the asker itself, which the cache then need not decode."""
        ...

    def patch_rollout_status(
        self, namespace: str, name: str, status: Obj, resource_version: str | None = None
    ) -> Obj:
        """A JSON merge patch of the status subresource: the reconcile's one write of what it
        decided (None removes a key). With `resource_version` (the one the status was computed
        from) the write is refused with a 409 once anyone else has written since, so a stale
        writer (a deposed leader, a slow tick) cannot overwrite a newer status."""
        ...

    def patch_rollout(self, namespace: str, name: str, patch: Obj) -> Obj:
        """A JSON merge patch of the main resource: the operator only touches its annotations
        (a consumed manual action, Events staged across a crash). A `metadata.resourceVersion`
        in the patch is a precondition: a 409 if the object has moved on."""
        ...

    def patch_rollout_json(self, namespace: str, name: str, operations: list[Obj]) -> Obj:
        """A JSON patch (RFC 6902) of the main resource. Its `test` operations make the write
        conditional: a value changed since it was read is a 422 and nothing is written, so
        clearing the action annotation removes only the action that was read."""
        ...

    # -- Deployments ------------------------------------------------------------------------
    def list_deployments(self, namespace: str, label_selector: str) -> list[Obj]:
        """The Deployments of one rollout's versions, found by label, not by name: a version's
        Deployment is whatever carries its labels."""
        ...

    def create_deployment(self, namespace: str, body: Obj, dry_run: bool = False) -> Obj:
        """A version's Deployment; with `dry_run` the apiserver validates (and admission checks)
        a candidate's template without storing anything, so a bad template is reported before
        any traffic moves. An existing name is a 409."""
        ...

    def patch_deployment(self, namespace: str, name: str, patch: Obj) -> Obj:
        """Frees a Deployment from its owner: the stable (and a candidate being promoted) on any
        reconcile that finds it owned, and on deletion of a ModelRollout the stable, set to full
        size too, so garbage collection keeps it serving."""
        ...

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        """Through the scale subresource, the same door an HPA uses: how the `replicas` traffic
        provider sets weights."""
        ...

    def delete_deployment(self, namespace: str, name: str) -> None:
        """Prunes a version the rollout no longer needs; one already gone is no error."""
        ...

    # -- Leases (leader election) ---------------------------------------------------------------
    def get_lease(self, namespace: str, name: str, timeout: float | None = None) -> Obj:
        """The coordination.k8s.io/v1 Lease replicas elect their leader with; `NotFound` before
        the first replica creates it. `timeout` (seconds) bounds the call, so a leader whose
        renewal hangs still notices its renew deadline."""
        ...

    def create_lease(self, namespace: str, body: Obj, timeout: float | None = None) -> Obj:
        """The first replica to find no Lease creates it; a rival that created it first is a 409."""
        ...

    def replace_lease(self, namespace: str, name: str, body: Obj, timeout: float | None = None) -> Obj:
        """A whole-object update conditional on the body's `metadata.resourceVersion`: a 409 if
        another replica wrote the Lease since it was read (it won)."""
        ...

    # -- Services, Secrets, Events --------------------------------------------------------
    def service_exists(self, namespace: str, name: str) -> bool:
        """The Service the spec names: without it no version gets traffic, so a rollout waits."""
        ...

    def read_secret(self, namespace: str, name: str) -> Secret:
        """A Secret, its keys decoded: Prometheus credentials, read at evaluation time so a
        rotated token is picked up, with their labels. A missing Secret is `NotFound`."""
        ...

    def create_event(
        self,
        involved: Obj,
        event_type: str,
        reason: str,
        message: str,
        component: str = "modelrollout-operator",
        name: str | None = None,
    ) -> None:
        """A core/v1 Event on the object, as `kubectl describe` and `kubectl get events` show it.
        With `name`, posting the same Event twice is a 409 (KubeError) instead of a second Event,
        which is how a transition is announced exactly once across crashes."""
        ...

    def patch_event(self, namespace: str, name: str, patch: Obj) -> Obj:
        """A JSON merge patch of an Event posted before: the `count`, `lastTimestamp` and latest
        message of a repeated announcement, so a verdict heard every interval stays one Event
        (the core/v1 event series) instead of one Event per interval."""
        ...

    # -- Objects of any kind (the traffic providers' route objects) -----------------------------
    def get_object(self, api_version: str, kind: str, namespace: str, name: str) -> Obj:
        """Any namespaced object: `NotFound` when there is none, `KindNotServed` when the
        cluster does not serve the kind at all (an HTTPRoute without the Gateway API CRDs)."""
        ...

    def create_object(self, body: Obj) -> Obj:
        """Creates the object; an existing name is a 409 (`KindNotServed` as for `get_object`)."""
        ...

    def apply_object(self, body: Obj, field_manager: str, dry_run: bool = False) -> Obj:
        """Server-side apply of `body` as `field_manager`, forcing ownership of the fields it
        names: how a traffic provider changes the fields of a route it owns and no others. With
        `dry_run` the apiserver validates it (schema, CEL, admission) and stores nothing."""
        ...

    def delete_object(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        """Deletes the object; one already gone is no error."""
        ...
