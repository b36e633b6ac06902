"""The `KubeClient` the operator runs with: the kubernetes client, its errors wrapped."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from urllib3 import exceptions as urllib3_errors

from ..api.v1alpha1 import GROUP, PLURAL, VERSION
from ._dynamic import DynamicObjects
from ._objects import event_body
from ._protocol import KubeClient, KubeError, NotFound, Obj, Secret, decoded_secret

if TYPE_CHECKING:
    from ._watch import WatchSource

T = TypeVar("T")


def _model(rollout: Obj) -> object:
    return (rollout.get("spec") or {}).get("model")


def _wrap(error: ApiException) -> KubeError:
    message = str(error.body or error.reason)
    try:
        import json

        message = json.loads(error.body).get("message", message)
    except (TypeError, ValueError):
        pass
    cls = NotFound if error.status == 404 else KubeError
    return cls(int(error.status or 0), str(error.reason), message)


def _call(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ApiException as error:
        raise _wrap(error) from None
    except urllib3_errors.TimeoutError as error:  # before HTTPError: it is one
        raise KubeError(0, "Timeout", f"the apiserver did not answer in time: {error}") from None
    except (
        urllib3_errors.HTTPError
    ) as error:  # urllib3 gave up: no answer at all (a timeout retried, a refusal)
        raise KubeError(0, "Unreachable", f"the apiserver did not answer: {error}") from None


DEFAULT_REQUEST_TIMEOUT = 30.0
"""Seconds one call may wait for the apiserver (`OperatorSettings.kube_request_timeout_seconds`)."""


class ApiKubeClient:
    """`KubeClient` over the kubernetes client; its errors become `KubeError`s. Every call is sent
    with `_request_timeout`, so an apiserver that accepts the connection and never answers ends
    the call in a `KubeError` (the reconcile fails and is retried) instead of holding it forever."""

    def __init__(self, api_client: Any, request_timeout: float = DEFAULT_REQUEST_TIMEOUT) -> None:
        self._timeout = request_timeout
        self._api = api_client
        self._custom = k8s.CustomObjectsApi(api_client)
        self._apps = k8s.AppsV1Api(api_client)
        self._core = k8s.CoreV1Api(api_client)
        self._coordination = k8s.CoordinationV1Api(api_client)
        self._objects = DynamicObjects(api_client, request_timeout, _call)
        self.get_object = self._objects.get_object
        self.create_object = self._objects.create_object
        self.apply_object = self._objects.apply_object
        self.delete_object = self._objects.delete_object

    def watch_source(self, kind: str) -> WatchSource:
        """LIST and WATCH of `kind` on the same connection settings, for `CachedKubeClient`."""
        from ._watch import ApiWatchSource  # it calls through this module's error wrapping

        return ApiWatchSource(self._api, kind, self._timeout)

    def object_watch_source(self, api_version: str, kind: str) -> WatchSource:
        """LIST and WATCH of any kind by apiVersion (a route object), for `CachedKubeClient`:
        a core kind's typed watch, else the custom resource's (its plural from discovery)."""
        from ._watch import ApiObjectWatchSource, ApiWatchSource

        if api_version == "v1":
            return ApiWatchSource(self._api, kind, self._timeout)
        return ApiObjectWatchSource(self._api, api_version, kind, self._timeout, self._objects.plural)

    def _plain(self, obj: Any) -> Obj:
        result: Obj = self._api.sanitize_for_serialization(obj)
        return result

    # -- ModelRollouts --------------------------------------------------------------------
    def get_rollout(self, namespace: str, name: str) -> Obj:
        return _call(
            lambda: self._custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, _request_timeout=self._timeout
            )
        )

    def list_rollouts(
        self, namespace: str, model: str | None = None, excluding: str | None = None
    ) -> list[Obj]:
        body = _call(
            lambda: self._custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, _request_timeout=self._timeout
            )
        )
        return [
            item
            for item in body.get("items", [])
            if (model is None or _model(item) == model) and item["metadata"]["name"] != excluding
        ]

    def patch_rollout_status(
        self, namespace: str, name: str, status: Obj, resource_version: str | None = None
    ) -> Obj:
        body: Obj = {"status": status}
        if resource_version is not None:  # a merge patch's resourceVersion is a precondition
            body["metadata"] = {"resourceVersion": resource_version}
        return _call(
            lambda: self._custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, PLURAL, name, body, _request_timeout=self._timeout
            )
        )

    def patch_rollout(self, namespace: str, name: str, patch: Obj) -> Obj:
        return _call(
            lambda: self._custom.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, patch, _request_timeout=self._timeout
            )
        )

    def patch_rollout_json(self, namespace: str, name: str, operations: list[Obj]) -> Obj:
        return _call(
            lambda: self._custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                operations,
                _content_type="application/json-patch+json",
                _request_timeout=self._timeout,
            )
        )

    # -- Deployments ------------------------------------------------------------------------
    def list_deployments(self, namespace: str, label_selector: str) -> list[Obj]:
        listed = _call(
            lambda: self._apps.list_namespaced_deployment(
                namespace, label_selector=label_selector, _request_timeout=self._timeout
            )
        )
        return [self._plain(d) for d in listed.items]

    def create_deployment(self, namespace: str, body: Obj, dry_run: bool = False) -> Obj:
        kwargs = {"dry_run": "All"} if dry_run else {}
        return self._plain(
            _call(
                lambda: self._apps.create_namespaced_deployment(
                    namespace, body, _request_timeout=self._timeout, **kwargs
                )
            )
        )

    def patch_deployment(self, namespace: str, name: str, patch: Obj) -> Obj:
        return self._plain(
            _call(
                lambda: self._apps.patch_namespaced_deployment(
                    name, namespace, patch, _request_timeout=self._timeout
                )
            )
        )

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        _call(
            lambda: self._apps.patch_namespaced_deployment_scale(
                name, namespace, {"spec": {"replicas": replicas}}, _request_timeout=self._timeout
            )
        )

    def delete_deployment(self, namespace: str, name: str) -> None:
        with contextlib.suppress(NotFound):
            _call(
                lambda: self._apps.delete_namespaced_deployment(
                    name, namespace, propagation_policy="Background", _request_timeout=self._timeout
                )
            )

    # -- Leases (leader election) ---------------------------------------------------------------
    def _lease_timeout(self, seconds: float | None) -> dict[str, Any]:
        """The leader's renewals pass what is left before their renew deadline; anything else
        waits as long as every other call."""
        return {"_request_timeout": self._timeout if seconds is None else max(0.1, seconds)}

    def get_lease(self, namespace: str, name: str, timeout: float | None = None) -> Obj:
        return self._plain(
            _call(
                lambda: self._coordination.read_namespaced_lease(
                    name, namespace, **self._lease_timeout(timeout)
                )
            )
        )

    def create_lease(self, namespace: str, body: Obj, timeout: float | None = None) -> Obj:
        return self._plain(
            _call(
                lambda: self._coordination.create_namespaced_lease(
                    namespace, body, **self._lease_timeout(timeout)
                )
            )
        )

    def replace_lease(self, namespace: str, name: str, body: Obj, timeout: float | None = None) -> Obj:
        return self._plain(
            _call(
                lambda: self._coordination.replace_namespaced_lease(
                    name, namespace, body, **self._lease_timeout(timeout)
                )
            )
        )

    # -- Services, Secrets, Events --------------------------------------------------------
    def service_exists(self, namespace: str, name: str) -> bool:
        try:
            _call(lambda: self._core.read_namespaced_service(name, namespace, _request_timeout=self._timeout))
        except NotFound:
            return False
        return True

    def read_secret(self, namespace: str, name: str) -> Secret:
        secret = _call(
            lambda: self._core.read_namespaced_secret(name, namespace, _request_timeout=self._timeout)
        )
        return decoded_secret(secret.metadata.labels, secret.data)

    def create_event(
        self,
        involved: Obj,
        event_type: str,
        reason: str,
        message: str,
        component: str = "modelrollout-operator",
        name: str | None = None,
    ) -> None:
        body = event_body(involved, event_type, reason, message, component, name, datetime.now(UTC))
        _call(
            lambda: self._core.create_namespaced_event(
                body["metadata"]["namespace"], body, _request_timeout=self._timeout
            )
        )

    def patch_event(self, namespace: str, name: str, patch: Obj) -> Obj:
        return self._plain(
            _call(
                lambda: self._core.patch_namespaced_event(
                    name,
                    namespace,
                    patch,
                    _content_type="application/merge-patch+json",
                    _request_timeout=self._timeout,
                )
            )
        )


CONNECTIONS = 32
"""Kept-alive connections to the apiserver: at least as many as threads call it at once (the
reconcile pool, the informers), or each call past the pool's size opens a new TLS connection,
which costs the operator and the apiserver more than the request itself."""


def kubeconfig_client(
    kubeconfig: str | None = None, request_timeout: float = DEFAULT_REQUEST_TIMEOUT
) -> ApiKubeClient:
    """From a kubeconfig file (or $KUBECONFIG), else the in-cluster ServiceAccount."""
    configuration = k8s.Configuration()
    try:
        k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    except k8s_config.ConfigException:
        k8s_config.load_incluster_config(client_configuration=configuration)
    configuration.connection_pool_maxsize = CONNECTIONS
    return ApiKubeClient(k8s.ApiClient(configuration), request_timeout)


if TYPE_CHECKING:

    def _satisfies_the_protocol(api: ApiKubeClient) -> KubeClient:
        return api
