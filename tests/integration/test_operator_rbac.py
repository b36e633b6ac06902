"""What the operator's ServiceAccount may do, asked of the real apiserver (`kubectl auth can-i --as`).

Both shipped modes: cluster-wide (`manifests/install/rbac.yaml`, for `--all-namespaces`) and
namespaced (`rbac-namespaced.yaml` via `python -m modelrollout_dev.rbac`, for `--namespace`).
Each grants exactly what the operator calls; whoever can create a ModelRollout must not gain
through it what the operator is denied here: Secrets outside its namespaces, exec into pods,
changing or deleting the Services clients call (the gatewayAPI and router providers only create
theirs, and garbage collection removes them), deleting the router's ConfigMap (it outlives the
ModelRollout, so the router keeps serving), or deleting the ModelRollouts themselves.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from modelrollout_dev import LocalCluster
from modelrollout_dev.tools import repo_root

from ..e2e.routes import install_route_crds

pytestmark = pytest.mark.cluster

NEEDED = [
    ("get", "modelrollouts.modelrollout.io"),
    ("list", "modelrollouts.modelrollout.io"),
    ("watch", "modelrollouts.modelrollout.io"),
    ("patch", "modelrollouts.modelrollout.io"),
    ("patch", "modelrollouts.modelrollout.io/status"),
    ("list", "deployments.apps"),
    ("create", "deployments.apps"),
    ("patch", "deployments.apps"),
    ("delete", "deployments.apps"),
    ("patch", "deployments.apps/scale"),
    ("get", "services"),
    ("get", "secrets"),
    ("create", "events"),
    ("patch", "events"),
    ("watch", "deployments.apps"),
    ("list", "services"),
    ("watch", "services"),
    ("create", "services"),
    ("get", "httproutes.gateway.networking.k8s.io"),
    ("list", "httproutes.gateway.networking.k8s.io"),
    ("watch", "httproutes.gateway.networking.k8s.io"),
    ("patch", "httproutes.gateway.networking.k8s.io"),
    ("get", "virtualservices.networking.istio.io"),
    ("list", "virtualservices.networking.istio.io"),
    ("watch", "virtualservices.networking.istio.io"),
    ("patch", "virtualservices.networking.istio.io"),
    ("get", "destinationrules.networking.istio.io"),
    ("list", "destinationrules.networking.istio.io"),
    ("watch", "destinationrules.networking.istio.io"),
    ("create", "destinationrules.networking.istio.io"),
    ("patch", "destinationrules.networking.istio.io"),
    ("delete", "destinationrules.networking.istio.io"),
    ("get", "configmaps"),
    ("list", "configmaps"),
    ("watch", "configmaps"),
    ("create", "configmaps"),
    ("patch", "configmaps"),
]
"""What the operator calls in a namespace it serves (see the comments in rbac.yaml)."""

NEVER = [
    ("list", "secrets"),
    ("watch", "secrets"),
    ("create", "pods/exec"),
    ("get", "pods/log"),
    ("delete", "services"),
    ("patch", "services"),
    ("create", "modelrollouts.modelrollout.io"),
    ("delete", "modelrollouts.modelrollout.io"),
    ("update", "modelrollouts.modelrollout.io/status"),
    ("create", "pods"),
    ("create", "serviceaccounts/token"),
    ("create", "rolebindings.rbac.authorization.k8s.io"),
    ("create", "httproutes.gateway.networking.k8s.io"),
    ("delete", "httproutes.gateway.networking.k8s.io"),
    ("delete", "virtualservices.networking.istio.io"),
    ("delete", "configmaps"),
]
"""Denied even in a namespace it serves."""

CLUSTER_WIDE = [
    ("list", "namespaces"),
    ("watch", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    ("list", "nodes"),
]
"""Cluster-scoped resources: neither mode needs any (kopf's scanning is disabled)."""


@pytest.fixture(scope="module", autouse=True)
def crd(cluster: LocalCluster) -> None:
    """kubectl resolves `modelrollouts.modelrollout.io` and the route kinds (HTTPRoute,
    VirtualService, DestinationRule) through discovery: their CRDs must be served, else every
    answer about them is no, whatever the RBAC grants."""
    cluster.kubectl(
        "apply", "--server-side", "-f", str(repo_root() / "crds/modelrollout.io_modelrollouts.yaml")
    )
    cluster.wait_established("modelrollouts.modelrollout.io", timeout=30)
    for provider in ("gatewayAPI", "istio"):
        install_route_crds(cluster, provider)


def can_i(cluster: LocalCluster, account: str, verb: str, resource: str, namespace: str | None) -> bool:
    where = ["-n", namespace] if namespace else ["--all-namespaces"]
    result = cluster.kubectl("auth", "can-i", verb, resource, f"--as={account}", *where, check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def wrong_answers(
    cluster: LocalCluster, account: str, expected: bool, checks: list[tuple[str, str]], namespace: str | None
) -> list[str]:
    return [
        f"{verb} {resource} in {namespace or 'the cluster'}"
        for verb, resource in checks
        if can_i(cluster, account, verb, resource, namespace) != expected
    ]


def test_cluster_wide_mode_grants_what_the_operator_calls_and_nothing_more(
    cluster: LocalCluster, namespace: str
) -> None:
    # given the cluster-wide RBAC
    cluster.kubectl("apply", "-f", str(repo_root() / "manifests/install/rbac.yaml"))
    account = "system:serviceaccount:modelrollout-system:modelrollout-operator"

    # then it may do what a reconcile calls, in any namespace, and nothing else
    wrong = wrong_answers(cluster, account, True, NEEDED, namespace)
    wrong += wrong_answers(cluster, account, False, NEVER, namespace)
    wrong += wrong_answers(cluster, account, False, NEVER[:3], "kube-system")
    wrong += wrong_answers(cluster, account, False, CLUSTER_WIDE, None)
    assert wrong == [], f"wrongly allowed or denied: {wrong}"


def test_namespaced_mode_grants_nothing_outside_the_watched_namespaces(
    cluster: LocalCluster, namespace: str
) -> None:
    # given the namespaced RBAC for one watched namespace, to an account of its own
    manifests = subprocess.run(
        [sys.executable, "-m", "modelrollout_dev.rbac", "--namespace", namespace,
         "--service-account", f"{namespace}/namespaced-operator"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cluster.kubectl("apply", "-f", "-", input=manifests)
    account = f"system:serviceaccount:{namespace}:namespaced-operator"

    # then it may do what a reconcile calls there, and nothing elsewhere, cluster-wide included
    wrong = wrong_answers(cluster, account, True, NEEDED, namespace)
    wrong += wrong_answers(cluster, account, False, NEVER, namespace)
    for elsewhere in ("default", "kube-system"):
        wrong += wrong_answers(cluster, account, False, [("get", "secrets"), *NEEDED[:6]], elsewhere)
    wrong += wrong_answers(cluster, account, False, [*CLUSTER_WIDE, *NEEDED[:3]], None)
    assert wrong == [], f"wrongly allowed or denied: {wrong}"
