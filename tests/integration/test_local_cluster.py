"""The local control plane is real: scheduling, controllers, RBAC, CRD validation, tools.

Given/when/then in comments: each test sets up its own objects in a fresh namespace.
"""

from __future__ import annotations

import json
import time

import pytest

from modelrollout_dev import LocalCluster
from modelrollout_dev.manifests import deployment, service

pytestmark = pytest.mark.cluster


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_deployment_becomes_available_on_kwok_nodes_and_service_gets_endpoints(
    cluster: LocalCluster, namespace: str
) -> None:
    # Given a Deployment of 3 replicas and a Service selecting it
    labels = {"app": "echo"}
    manifests = {"apiVersion": "v1", "kind": "List", "items": [
        deployment("echo", namespace, labels, 3), service("echo", namespace, labels),
    ]}  # fmt: skip
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifests))

    # When the scheduler and the controllers do their work
    def available() -> bool:
        status = json.loads(cluster.kubectl("get", "deploy", "echo", "-n", namespace, "-o", "json").stdout)[
            "status"
        ]
        return bool(status.get("availableReplicas") == 3)

    _wait(available, 60, "3 available replicas")

    # Then every pod runs on a kwok node and the Service has an EndpointSlice with 3 ready endpoints
    pods = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-l", "app=echo", "-o", "json").stdout)
    assert len(pods["items"]) == 3
    assert all(p["spec"]["nodeName"].startswith("kwok-node-") for p in pods["items"])

    def ready_endpoints() -> int:
        slices = json.loads(
            cluster.kubectl(
                "get",
                "endpointslices",
                "-n",
                namespace,
                "-l",
                "kubernetes.io/service-name=echo",
                "-o",
                "json",
            ).stdout
        )["items"]
        return sum(
            1 for s in slices for e in s.get("endpoints") or [] if e.get("conditions", {}).get("ready")
        )

    _wait(lambda: ready_endpoints() == 3, 30, "3 ready endpoints")


def test_service_account_is_denied_until_a_role_is_bound(cluster: LocalCluster, namespace: str) -> None:
    # Given a ServiceAccount with no Role, and a kubeconfig that authenticates as it
    cluster.kubectl("create", "serviceaccount", "reader", "-n", namespace)
    sa_kubeconfig = cluster.service_account_kubeconfig(
        namespace, "reader", cluster.run_dir / f"{namespace}.kubeconfig"
    )
    sa_env = {**cluster.env, "KUBECONFIG": str(sa_kubeconfig)}
    subject = f"system:serviceaccount:{namespace}:reader"

    # Then both `auth can-i` and a real call say no
    denied = cluster.kubectl("auth", "can-i", "list", "pods", "-n", namespace, "--as", subject, check=False)
    assert denied.stdout.strip() == "no"
    call = cluster.kubectl("get", "pods", "-n", namespace, env=sa_env, check=False)
    assert call.returncode != 0
    assert "forbidden" in call.stderr.lower()

    # When a Role allowing it is bound
    cluster.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", namespace)
    cluster.kubectl(
        "create",
        "rolebinding",
        "reader",
        "--role=pod-reader",
        f"--serviceaccount={namespace}:reader",
        "-n",
        namespace,
    )

    # Then both say yes
    _wait(
        lambda: (
            cluster.kubectl(
                "auth", "can-i", "list", "pods", "-n", namespace, "--as", subject, check=False
            ).stdout.strip()
            == "yes"
        ),
        15,
        "RBAC to allow",
    )
    assert cluster.kubectl("get", "pods", "-n", namespace, env=sa_env, check=False).returncode == 0


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.modelrollout.io"},
    "spec": {
        "group": "example.modelrollout.io",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
        "scope": "Namespaced",
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                "type": "object", "required": ["size"],
                "properties": {"size": {"type": "integer", "minimum": 1, "maximum": 10}},
            }}}},
        }],
    },
}  # fmt: skip


def test_custom_resource_breaking_the_schema_is_rejected_naming_the_field(
    cluster: LocalCluster, namespace: str
) -> None:
    # Given a CRD with a bounded integer field
    cluster.kubectl("apply", "-f", "-", input=json.dumps(CRD))
    cluster.wait_established("widgets.example.modelrollout.io", timeout=30)

    def widget(size: object) -> str:
        return json.dumps({
            "apiVersion": "example.modelrollout.io/v1", "kind": "Widget",
            "metadata": {"name": f"w{size}", "namespace": namespace}, "spec": {"size": size},
        })  # fmt: skip

    # When a valid and an invalid object are applied
    cluster.kubectl("apply", "-f", "-", input=widget(3))
    rejected = cluster.kubectl("apply", "-f", "-", input=widget(42), check=False)

    # Then the invalid one is refused by the apiserver, naming the field
    assert rejected.returncode != 0
    assert "spec.size" in rejected.stderr
    assert "10" in rejected.stderr


def test_helm_and_kubectl_talk_to_the_cluster(cluster: LocalCluster) -> None:
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert version["clientVersion"]["gitVersion"] == "v1.34.4"
    assert version["serverVersion"]["gitVersion"] == "v1.34.4"
    import subprocess

    helm = subprocess.run(
        ["helm", "version", "--short"], capture_output=True, text=True, env=cluster.env, check=True
    )
    assert helm.stdout.startswith("v3.19.0")
    listed = subprocess.run(
        ["helm", "list", "--all-namespaces", "-o", "json"], capture_output=True, text=True, env=cluster.env
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
