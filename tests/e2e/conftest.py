"""The e2e environment: CRD and least-privilege RBAC installed once, an operator per test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrollout_dev import LocalCluster
from modelrollout_dev.tools import free_port

from .env import Env
from .given import Given
from .processes import REPO, OperatorProcess

OPERATOR_NAMESPACE = "modelrollout-system"
OPERATOR_ACCOUNT = "modelrollout-operator"


@pytest.fixture(scope="session")
def operator_kubeconfig(cluster: LocalCluster) -> Path:
    """Installs the CRD and the operator's RBAC, returns a kubeconfig holding only its SA token."""
    cluster.kubectl("apply", "--server-side", "-f", str(REPO / "crds" / "modelrollout.io_modelrollouts.yaml"))
    cluster.wait_established("modelrollouts.modelrollout.io", timeout=30)
    cluster.kubectl("apply", "-f", str(REPO / "manifests" / "install" / "rbac.yaml"))
    return cluster.service_account_kubeconfig(
        OPERATOR_NAMESPACE, OPERATOR_ACCOUNT, cluster.run_dir / "operator.kubeconfig"
    )


def namespaced_operator_kubeconfig(cluster: LocalCluster, namespace: str, path: Path) -> Path:
    """A ServiceAccount of the test's own with the namespaced RBAC for `namespace` only
    (`python -m modelrollout_dev.rbac`), so the operator really runs with nothing cluster-wide."""
    account = "namespaced-operator"
    manifests = subprocess.run(
        [sys.executable, "-m", "modelrollout_dev.rbac", "--namespace", namespace,
         "--service-account", f"{namespace}/{account}"],
        capture_output=True, text=True, check=True, cwd=REPO,
    ).stdout  # fmt: skip
    cluster.kubectl("apply", "-f", "-", input=manifests)
    return cluster.service_account_kubeconfig(namespace, account, path)


@pytest.fixture
def env(
    request: pytest.FixtureRequest,
    cluster: LocalCluster,
    namespace: str,
    operator_kubeconfig: Path,
    tmp_path: Path,
) -> Iterator[Env]:
    kubeconfig = operator_kubeconfig
    if request.node.get_closest_marker("namespaced_operator") is not None:
        kubeconfig = namespaced_operator_kubeconfig(cluster, namespace, tmp_path / "operator.kubeconfig")
    # /metrics on, as by default, but on a port of its own: tests run side by side on one host.
    operator = OperatorProcess(
        cluster, namespace, kubeconfig, tmp_path / "operator.log", metrics_port=free_port()
    )
    operator.start()
    environment = Env(cluster=cluster, namespace=namespace, operator=operator)
    try:
        yield environment
    finally:
        environment.close()


@pytest.fixture
def given(env: Env) -> Given:
    return Given(env)
