"""The e2e environment: CRD and least-privilege RBAC installed once, an operator per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrollout_dev import LocalCluster

from .env import Env
from .given import Given
from .processes import REPO, OperatorProcess

OPERATOR_NAMESPACE = "modelrollout-system"
OPERATOR_ACCOUNT = "modelrollout-operator"


@pytest.fixture(scope="session")
def operator_kubeconfig(cluster: LocalCluster) -> Path:
    """Installs the CRD and the operator's RBAC, returns a kubeconfig holding only its SA token."""
    cluster.kubectl("apply", "--server-side", "-f", str(REPO / "crds" / "modelrollout.io_modelrollouts.yaml"))
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/modelrollouts.modelrollout.io", "--timeout=30s"
    )
    cluster.kubectl("apply", "-f", str(REPO / "manifests" / "install" / "rbac.yaml"))
    return cluster.service_account_kubeconfig(
        OPERATOR_NAMESPACE, OPERATOR_ACCOUNT, cluster.run_dir / "operator.kubeconfig"
    )


@pytest.fixture
def env(cluster: LocalCluster, namespace: str, operator_kubeconfig: Path, tmp_path: Path) -> Iterator[Env]:
    operator = OperatorProcess(cluster, namespace, operator_kubeconfig, tmp_path / "operator.log")
    operator.start()
    environment = Env(cluster=cluster, namespace=namespace, operator=operator)
    try:
        yield environment
    finally:
        operator.stop()
        if environment.traffic is not None:
            environment.traffic.stop()
        if environment.prometheus is not None:
            environment.prometheus.stop(remove=True)


@pytest.fixture
def given(env: Env) -> Given:
    return Given(env)
