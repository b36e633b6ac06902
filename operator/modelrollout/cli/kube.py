"""The plugin's connection to the cluster: kubeconfig, context and namespace as kubectl picks
them, and the few reads and writes the subcommands make, each failure turned into a `CliError`.

ModelRollouts go through the operator's own `k8s` wrappers; Events are read here (the operator
never lists them).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from urllib3 import exceptions as urllib3_errors

from ..api.v1alpha1 import KIND
from ..k8s import ApiKubeClient, ApiWatchSource, KubeError, NotFound
from .common import CliError, Obj, event_time, kubeconfig_path

REQUEST_TIMEOUT = 30.0
"""Seconds one call may wait for the apiserver before the command gives up with an error."""


@dataclass
class Cluster:
    """One kubeconfig context: the client and the namespace commands default to."""

    api_client: Any
    namespace: str
    """-n, else the context's namespace, else `default` (as kubectl)."""

    @property
    def rollouts(self) -> ApiKubeClient:
        return ApiKubeClient(self.api_client, REQUEST_TIMEOUT)

    def get(self, name: str, namespace: str | None = None) -> Obj:
        ns = namespace or self.namespace
        try:
            return self.rollouts.get_rollout(ns, name)
        except NotFound:
            raise CliError(f'modelrollout "{name}" not found in namespace "{ns}"') from None
        except KubeError as error:
            raise CliError(f"cannot read modelrollout {name!r}: {error}") from None

    def list_rollouts(self, all_namespaces: bool = False) -> list[Obj]:
        return self.list_rollouts_at(all_namespaces)[0]

    def list_rollouts_at(self, all_namespaces: bool) -> tuple[list[Obj], str]:
        """The ModelRollouts of the namespace (or all), sorted, and the list's resourceVersion,
        from which a watch sees every later change."""
        try:
            items, version = self.watch_source().list(None if all_namespaces else self.namespace, None)
        except KubeError as error:
            raise CliError(f"cannot list modelrollouts: {error}") from None
        ordered = sorted(items, key=lambda r: (r["metadata"].get("namespace", ""), r["metadata"]["name"]))
        return ordered, version

    def watch_source(self) -> ApiWatchSource:
        return ApiWatchSource(self.api_client, KIND, REQUEST_TIMEOUT)

    def watch(self, all_namespaces: bool, resource_version: str, timeout: float) -> Iterator[Obj]:
        """Watch events after `resource_version` until the server ends the watch; an ERROR
        event (a version too old to watch from) ends it too, for the caller to list again."""
        source = self.watch_source()
        namespace = None if all_namespaces else self.namespace
        try:
            for event in source.watch(namespace, None, resource_version, timeout):
                yield event
                if event.get("type") == "ERROR":
                    return
        except KubeError as error:
            raise CliError(f"the watch of modelrollouts failed: {error}") from None

    def annotate(self, name: str, key: str, value: str) -> Obj:
        patch = {"metadata": {"annotations": {key: value}}}
        try:
            return self.rollouts.patch_rollout(self.namespace, name, patch)
        except NotFound:
            raise CliError(f'modelrollout "{name}" not found in namespace "{self.namespace}"') from None
        except KubeError as error:
            raise CliError(f"cannot annotate modelrollout {name!r}: {error}") from None

    def deployments_of(self, rollout: Obj) -> list[Obj] | None:
        """The rollout's Deployments, by the selector its status names; None when they cannot
        be read (callers say so and go on with what they have)."""
        selector = (rollout.get("status") or {}).get("selector")
        if not selector:
            return []
        try:
            return self.rollouts.list_deployments(self.namespace, selector)
        except KubeError:
            return None

    def events(self, name: str) -> list[Obj]:
        """The rollout's Events, oldest first."""
        selector = f"involvedObject.kind={KIND},involvedObject.name={name}"
        core = k8s.CoreV1Api(self.api_client)
        try:
            listed = core.list_namespaced_event(
                self.namespace, field_selector=selector, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as error:
            raise CliError(f"cannot list the Events of {name!r}: {error.reason}") from None
        except urllib3_errors.HTTPError as error:
            raise CliError(f"the apiserver did not answer: {error}") from None
        items: list[Obj] = self.api_client.sanitize_for_serialization(listed.items)
        return sorted(items, key=lambda event: event_time(event) or "")


def connect(args: argparse.Namespace) -> Cluster:
    """A client for --kubeconfig/$KUBECONFIG and --context, as kubectl would choose them."""
    path = kubeconfig_path(args)
    context: str | None = getattr(args, "context", None)
    configuration = k8s.Configuration()
    try:
        k8s_config.load_kube_config(config_file=path, context=context, client_configuration=configuration)
        _, active = k8s_config.list_kube_config_contexts(config_file=path)
        if context is not None:
            contexts, _ = k8s_config.list_kube_config_contexts(config_file=path)
            active = next(c for c in contexts if c["name"] == context)
    except (k8s_config.ConfigException, OSError, StopIteration) as error:
        where = path or "~/.kube/config"
        raise CliError(f"cannot load the kubeconfig {where}: {error}") from None
    namespace = (
        getattr(args, "namespace", None) or (active.get("context") or {}).get("namespace") or "default"
    )
    return Cluster(k8s.ApiClient(configuration), namespace)
