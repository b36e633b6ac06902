"""manifests/examples/ as a user applies them: unchanged, to the real apiserver, with strict
server-side validation; the operator takes each up and gives it a phase."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from modelrollout_dev import LocalCluster
from modelrollout_dev.tools import repo_root

from .env import Env
from .routes import install_route_crds
from .when import wait_for_rollout

pytestmark = pytest.mark.cluster

EXAMPLES = sorted((repo_root() / "manifests" / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_an_example_applies_anywhere_and_reaches_a_phase(env: Env, example: Path) -> None:
    # given an example that asks nothing of the cluster beyond the CRD (no kwok-only scheduling)
    documents = [d for d in yaml.safe_load_all(example.read_text()) if d]
    assert "kwok" not in json.dumps(documents), (
        f"{example.name} schedules only on the local cluster's fake nodes"
    )
    rollouts = [d["metadata"]["name"] for d in documents if d["kind"] == "ModelRollout"]
    assert rollouts, f"{example.name} holds no ModelRollout"
    # and the CRDs of the route objects it holds (a user of the gatewayAPI or istio provider has them)
    groups = {d["apiVersion"].split("/")[0] for d in documents}
    for provider, group in (("gatewayAPI", "gateway.networking.k8s.io"), ("istio", "networking.istio.io")):
        if group in groups:
            install_route_crds(env.cluster, provider)

    # when it is applied as shipped
    env.cluster.kubectl(
        "apply", "--server-side", "--validate=strict", "--field-manager=examples", "-n", env.namespace,
        "-f", str(example),
    )  # fmt: skip

    # then the operator gives every ModelRollout in it a phase
    for name in rollouts:
        wait_for_rollout(env, lambda status: status.get("phase"), f"{name} to reach a phase", 30, name)


def test_install_yaml_is_accepted_by_the_apiserver(cluster: LocalCluster, operator_kubeconfig: Path) -> None:
    """manifests/install.yaml, for users without helm, passes strict server-side validation as a
    whole (a dry run, so the session's own install stays as it is; the fixture made its namespace)."""
    result = cluster.kubectl(
        "apply", "--server-side", "--dry-run=server", "--validate=strict", "--force-conflicts",
        "-f", str(repo_root() / "manifests" / "install.yaml"), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "deployment.apps/modelrollout-operator serverside-applied (server dry run)" in result.stdout
