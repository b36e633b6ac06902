"""An in-memory `KubeClient`: a tiny apiserver for unit tests of the controller.

Like httpx's MockTransport (and `metrics.StaticSource`), it replaces the cluster rather than
patching a client: the operator's code runs unchanged against a store of plain objects that
behaves the way the apiserver does where the operator depends on it:

- objects by (kind, namespace, name); `metadata.resourceVersion` moves on every write that
  changes something (a no-op write stores nothing, as on the apiserver); `metadata.generation`
  moves when anything outside `metadata` and `status` of a ModelRollout or Deployment changes;
- patches are JSON merge patches (None deletes a key, lists are replaced; the real client sends
  Deployment patches as strategic merge patches, which agree on everything the operator sends);
  a patch carrying a `metadata.resourceVersion` other than the current one is a 409 (a stale
  write), as is creating a name that exists, or posting a named Event twice; a ModelRollout also
  takes JSON patches (RFC 6902: test, add, replace, remove), a failed `test` or a missing path
  being a 422 that writes nothing;
- ModelRollouts and Deployments have a status subresource: the main resource's writes leave
  `status` alone, the status writes touch nothing else;
- `create_deployment(dry_run=True)` validates (a little: names, images, the selector) and
  stores nothing.

Beyond the `KubeClient` calls, which are recorded in `calls`, the test's own hands: `add`,
`edit`, `delete` and friends (not recorded) set up the world as a person with kubectl would;
`fail` makes the next call(s) of a method raise; `settle_deployments` plays the Deployment
controller; `watch_source` serves every change as a watch event (`_fake_watch`). No garbage
collection or admission: what the operator does not rely on.
"""

from __future__ import annotations

import base64
import copy
import itertools
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..api.v1alpha1 import GROUP, KIND, PLURAL, VERSION
from ._fake_objects import FakeObjects
from ._fake_rules import merge, validate_deployment
from ._fake_watch import FakeWatchSource, WatchLog
from ._json_patch import apply_json_patch
from ._objects import event_body
from ._protocol import KubeClient, KubeError, NotFound, Obj, Secret, decoded_secret
from ._selectors import selector

__all__ = ["FakeKubeClient", "KubeCall"]

_RESOURCES = {
    KIND: f"{PLURAL}.{GROUP}",
    "Deployment": "deployments.apps",
    "Service": "services",
    "Secret": "secrets",
    "Event": "events",
    "Lease": "leases.coordination.k8s.io",
}
"""How the apiserver names each kind in its messages (`deployments.apps "x" not found`)."""

_WITH_STATUS = frozenset({KIND, "Deployment"})
"""Kinds with a status subresource and a `metadata.generation`."""

_NOT_SPEC = ("metadata", "status")
"""What a write may change without moving `metadata.generation`."""

_STALE = "the object has been modified; please apply your changes to the latest version and try again"

_CALLS = frozenset(name for name in vars(KubeClient) if not name.startswith("_"))
"""The methods of the Protocol: what `calls` records and `fail` can break."""


@dataclass(frozen=True)
class KubeCall:
    """One `KubeClient` call the code under test made: the method and its arguments by name
    (copies, so later changes to the caller's dicts do not rewrite history)."""

    method: str
    args: Mapping[str, Any]


@dataclass
class _Failure:
    error: KubeError
    times: int | None
    where: Callable[[KubeCall], bool] | None


class FakeKubeClient(FakeObjects):
    """A `KubeClient` over an in-memory store; see the module docstring for what it models."""

    def __init__(self) -> None:
        self._store: dict[tuple[str, str, str], Obj] = {}
        self._versions = itertools.count(1)
        self._uids = itertools.count(1)
        self._failures: dict[str, list[_Failure]] = {}
        self.calls: list[KubeCall] = []
        """Every `KubeClient` call, in order, failed ones included."""
        self.watches = WatchLog()
        """Every change as a watch event; `compact` it to make a watch from before it a 410."""
        self.served_kinds: set[str] = set()

    def watch_source(self, kind: str) -> FakeWatchSource:
        """LIST and WATCH of `kind`, for an informer (the fake's side of `ApiWatchSource`)."""
        return self.watches.source(kind)

    # -- the test's hands (not recorded) --------------------------------------------------------
    def add(self, body: Obj) -> Obj:
        """Store any object as given, `status` included (so a test can start from a stored
        state), with uid, resourceVersion and generation filled in. 409 if it exists."""
        meta = body["metadata"]
        key = (body["kind"], meta.get("namespace", ""), meta["name"])
        if key in self._store:
            raise self._conflict_exists(key)
        stored = copy.deepcopy(body)
        stored["metadata"].setdefault("uid", f"uid-{next(self._uids)}")
        stored["metadata"]["resourceVersion"] = str(next(self._versions))
        if key[0] in _WITH_STATUS:
            stored["metadata"].setdefault("generation", 1)
        self._store[key] = stored
        self.watches.record("ADDED", stored)
        return copy.deepcopy(stored)

    def add_rollout(self, namespace: str, name: str, spec: Obj, **metadata: Any) -> Obj:
        """A ModelRollout as `kubectl apply` creates it: no status yet."""
        meta = {"name": name, "namespace": namespace, **metadata}
        return self.add({"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": meta, "spec": spec})

    def add_service(self, namespace: str, name: str) -> Obj:
        return self.add(
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace}}
        )

    def add_secret(
        self, namespace: str, name: str, values: Mapping[str, str], labels: Mapping[str, str] | None = None
    ) -> Obj:
        """A Secret whose `data` holds `values` base64-encoded, as the apiserver stores them."""
        data = {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}
        meta: Obj = {"name": name, "namespace": namespace, **({"labels": dict(labels)} if labels else {})}
        return self.add({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "data": data})

    def get(self, kind: str, namespace: str, name: str) -> Obj:
        return copy.deepcopy(self._find((kind, namespace, name)))

    def objects(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """Every stored object of `kind` (in `namespace`), by name as the apiserver lists them."""
        found = [
            obj
            for (stored_kind, stored_namespace, _), obj in sorted(self._store.items())
            if stored_kind == kind and namespace in (None, stored_namespace)
        ]
        return copy.deepcopy(found)

    def events(self, namespace: str | None = None) -> list[Obj]:
        """The Events posted, oldest first."""
        return sorted(self.objects("Event", namespace), key=lambda e: int(e["metadata"]["resourceVersion"]))

    def edit(self, kind: str, namespace: str, name: str, patch: Obj) -> Obj:
        """`kubectl patch --type=merge` by a person (or an HPA): the main resource, not recorded."""
        return self._patch((kind, namespace, name), patch)

    def delete(self, kind: str, namespace: str, name: str) -> None:
        """Gone at once: no finalizers, and no garbage collection of what it owned."""
        self._find((kind, namespace, name))
        self._forget((kind, namespace, name))

    def fail(
        self,
        method: str,
        error: KubeError,
        *,
        times: int | None = 1,
        where: Callable[[KubeCall], bool] | None = None,
    ) -> None:
        """The next `times` calls of `method` (every call while `times` is None, until `heal`)
        raise `error` instead of doing anything; `where` picks which calls count, e.g.
        `where=lambda call: not call.args["dry_run"]`."""
        if method not in _CALLS:
            raise ValueError(f"{method!r} is not a KubeClient method")
        self._failures.setdefault(method, []).append(_Failure(error, times, where))

    def heal(self, method: str | None = None) -> None:
        """Forget the failures set for `method` (every method when None)."""
        if method is None:
            self._failures.clear()
        else:
            self._failures.pop(method, None)

    def calls_to(self, method: str) -> list[KubeCall]:
        return [call for call in self.calls if call.method == method]

    def settle_deployments(self, namespace: str | None = None, unready: Collection[str] = ()) -> None:
        """Play the Deployment controller (kube-controller-manager with kwok's pods): every
        Deployment's status catches up with its spec, all replicas updated, ready and available,
        except that the pods of the Deployments named in `unready` never become Ready (a
        nodeSelector no node matches). Zero counts are left out of the status, as the apiserver
        serves them."""
        # A snapshot: the operator's own threads (the notification sender) write Events meanwhile.
        for key, deployment in list(self._store.items()):
            if key[0] != "Deployment" or namespace not in (None, key[1]):
                continue
            replicas = int(deployment["spec"].get("replicas", 0) or 0)
            counts: tuple[str, ...] = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
            if key[2] in unready:
                counts = ("replicas", "updatedReplicas")
            status: Obj = {"observedGeneration": deployment["metadata"]["generation"]}
            status.update({field: replicas for field in counts if replicas})
            if deployment.get("status") != status:
                deployment["status"] = status
                deployment["metadata"]["resourceVersion"] = str(next(self._versions))
                self.watches.record("MODIFIED", deployment)

    # -- KubeClient: ModelRollouts --------------------------------------------------------------
    def get_rollout(self, namespace: str, name: str) -> Obj:
        self._record("get_rollout", namespace=namespace, name=name)
        return self.get(KIND, namespace, name)

    def list_rollouts(
        self, namespace: str, model: str | None = None, excluding: str | None = None
    ) -> list[Obj]:
        self._record("list_rollouts", namespace=namespace)
        return [
            r
            for r in self.objects(KIND, namespace)
            if model in (None, (r.get("spec") or {}).get("model")) and r["metadata"]["name"] != excluding
        ]

    def patch_rollout_status(
        self, namespace: str, name: str, status: Obj, resource_version: str | None = None
    ) -> Obj:
        self._record(
            "patch_rollout_status",
            namespace=namespace,
            name=name,
            status=status,
            resource_version=resource_version,
        )
        patch: Obj = {"status": status}
        if resource_version is not None:
            patch["metadata"] = {"resourceVersion": resource_version}
        return self._patch((KIND, namespace, name), patch, subresource="status")

    def patch_rollout(self, namespace: str, name: str, patch: Obj) -> Obj:
        self._record("patch_rollout", namespace=namespace, name=name, patch=patch)
        return self._patch((KIND, namespace, name), patch)

    def patch_rollout_json(self, namespace: str, name: str, operations: list[Obj]) -> Obj:
        self._record("patch_rollout_json", namespace=namespace, name=name, operations=operations)
        key = (KIND, namespace, name)
        stored = self._find(key)
        updated = copy.deepcopy(stored)
        apply_json_patch(updated, operations)
        # The main resource's write leaves status alone, as a merge patch does.
        updated = {
            **_without(updated, "status"),
            **({"status": stored["status"]} if "status" in stored else {}),
        }
        return self._store_write(key, stored, updated)

    # -- KubeClient: Deployments ----------------------------------------------------------------
    def list_deployments(self, namespace: str, label_selector: str) -> list[Obj]:
        self._record("list_deployments", namespace=namespace, label_selector=label_selector)
        selects = selector(label_selector)
        return [
            d for d in self.objects("Deployment", namespace) if selects(d["metadata"].get("labels") or {})
        ]

    def create_deployment(self, namespace: str, body: Obj, dry_run: bool = False) -> Obj:
        self._record("create_deployment", namespace=namespace, body=body, dry_run=dry_run)
        stored = copy.deepcopy(body)
        stored.pop("status", None)
        stored["metadata"].setdefault("namespace", namespace)
        stored.setdefault("spec", {}).setdefault("replicas", 1)
        validate_deployment(namespace, stored)
        if dry_run:
            key = ("Deployment", namespace, stored["metadata"]["name"])
            if key in self._store:
                raise self._conflict_exists(key)
            return stored
        return self.add(stored)

    def patch_deployment(self, namespace: str, name: str, patch: Obj) -> Obj:
        self._record("patch_deployment", namespace=namespace, name=name, patch=patch)
        return self._patch(("Deployment", namespace, name), patch)

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        self._record("scale_deployment", namespace=namespace, name=name, replicas=replicas)
        self._patch(("Deployment", namespace, name), {"spec": {"replicas": replicas}})

    def delete_deployment(self, namespace: str, name: str) -> None:
        self._record("delete_deployment", namespace=namespace, name=name)
        if ("Deployment", namespace, name) in self._store:
            self._forget(("Deployment", namespace, name))

    # -- KubeClient: Leases -------------------------------------------------------------------------
    def get_lease(self, namespace: str, name: str, timeout: float | None = None) -> Obj:
        self._record("get_lease", namespace=namespace, name=name, timeout=timeout)
        return self.get("Lease", namespace, name)

    def create_lease(self, namespace: str, body: Obj, timeout: float | None = None) -> Obj:
        self._record("create_lease", namespace=namespace, body=body, timeout=timeout)
        stored = copy.deepcopy(body)
        stored["metadata"].pop("resourceVersion", None)
        stored["metadata"]["namespace"] = namespace
        return self.add({**stored, "kind": "Lease"})

    def replace_lease(self, namespace: str, name: str, body: Obj, timeout: float | None = None) -> Obj:
        """An update (PUT): the body replaces the object, if its resourceVersion is the stored one."""
        self._record("replace_lease", namespace=namespace, name=name, body=body, timeout=timeout)
        key = ("Lease", namespace, name)
        stored = self._find(key)
        if body["metadata"].get("resourceVersion") != stored["metadata"]["resourceVersion"]:
            raise KubeError(409, "Conflict", f"Operation cannot be fulfilled on {_name(key)}: {_STALE}")
        updated = copy.deepcopy(body)
        updated["metadata"] = {**stored["metadata"], "resourceVersion": str(next(self._versions))}
        self._store[key] = updated
        self.watches.record("MODIFIED", updated)
        return copy.deepcopy(updated)

    # -- KubeClient: Services, Secrets, Events --------------------------------------------------
    def service_exists(self, namespace: str, name: str) -> bool:
        self._record("service_exists", namespace=namespace, name=name)
        return ("Service", namespace, name) in self._store

    def read_secret(self, namespace: str, name: str) -> Secret:
        self._record("read_secret", namespace=namespace, name=name)
        secret = self._find(("Secret", namespace, name))
        return decoded_secret(secret["metadata"].get("labels"), secret.get("data"))

    def create_event(
        self,
        involved: Obj,
        event_type: str,
        reason: str,
        message: str,
        component: str = "modelrollout-operator",
        name: str | None = None,
    ) -> None:
        self._record(
            "create_event",
            involved=involved,
            event_type=event_type,
            reason=reason,
            message=message,
            component=component,
            name=name,
        )
        body = event_body(involved, event_type, reason, message, component, name, datetime.now(UTC))
        meta = body["metadata"]
        if "name" not in meta:
            meta["name"] = f"{meta.pop('generateName')}{next(self._uids):05x}"
        self.add({"apiVersion": "v1", "kind": "Event", **body})

    def patch_event(self, namespace: str, name: str, patch: Obj) -> Obj:
        self._record("patch_event", namespace=namespace, name=name, patch=patch)
        return self._patch(("Event", namespace, name), patch)

    # -- the store ------------------------------------------------------------------------------
    def _record(self, method: str, **args: Any) -> None:
        call = KubeCall(method, copy.deepcopy(args))
        self.calls.append(call)
        for failure in self._failures.get(method, []):
            if failure.where is not None and not failure.where(call):
                continue
            if failure.times is not None:
                failure.times -= 1
                if failure.times == 0:
                    self._failures[method].remove(failure)
            raise failure.error

    def _find(self, key: tuple[str, str, str]) -> Obj:
        try:
            return self._store[key]
        except KeyError:
            raise NotFound(404, "NotFound", f"{_name(key)} not found") from None

    def _conflict_exists(self, key: tuple[str, str, str]) -> KubeError:
        return KubeError(409, "AlreadyExists", f"{_name(key)} already exists")

    def _patch(self, key: tuple[str, str, str], patch: Obj, subresource: str | None = None) -> Obj:
        stored = self._find(key)
        patch = copy.deepcopy(patch)
        wanted = (patch.get("metadata") or {}).pop("resourceVersion", None)
        if wanted is not None and wanted != stored["metadata"]["resourceVersion"]:
            raise KubeError(409, "Conflict", f"Operation cannot be fulfilled on {_name(key)}: {_STALE}")
        if key[0] in _WITH_STATUS:
            # A subresource write sees only its part; the main resource's leaves status alone.
            patch = {"status": patch.get("status")} if subresource == "status" else _without(patch, "status")
        updated = copy.deepcopy(stored)
        merge(updated, patch)
        return self._store_write(key, stored, updated)

    def _store_write(self, key: tuple[str, str, str], stored: Obj, updated: Obj) -> Obj:
        """Store `updated` in place of `stored`: a new resourceVersion (and generation when the
        spec changed), or nothing at all when nothing changed."""
        if updated == stored:
            return copy.deepcopy(stored)
        if key[0] in _WITH_STATUS and _without(updated, *_NOT_SPEC) != _without(stored, *_NOT_SPEC):
            updated["metadata"]["generation"] = int(stored["metadata"].get("generation", 1)) + 1
        updated["metadata"]["resourceVersion"] = str(next(self._versions))
        self._store[key] = updated
        self.watches.record("MODIFIED", updated)
        return copy.deepcopy(updated)

    def _forget(self, key: tuple[str, str, str]) -> None:
        """Gone from the store; watchers see it DELETED at a resourceVersion of its own."""
        gone = self._store.pop(key)
        gone["metadata"]["resourceVersion"] = str(next(self._versions))
        self.watches.record("DELETED", gone)


def _name(key: tuple[str, str, str]) -> str:
    """An object as the apiserver's messages name it: `deployments.apps "x"`."""
    return f'{_RESOURCES.get(key[0], key[0])} "{key[2]}"'


def _without(obj: Obj, *keys: str) -> Obj:
    return {key: value for key, value in obj.items() if key not in keys}


if TYPE_CHECKING:

    def _satisfies_the_protocol(fake: FakeKubeClient) -> KubeClient:
        return fake
