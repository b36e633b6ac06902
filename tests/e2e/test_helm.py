"""The chart as a user installs it: the real helm binary against the real control plane.

One release serves the module (an install costs seconds): installed into a namespace that
enforces the restricted Pod Security Standard, its ServiceAccount's token then runs the operator
through a canary (the chart's RBAC is enough) and `kubectl auth can-i` shows it is no more than
needed; upgraded (the CRD with it) and uninstalled (the CRD and the ModelRollouts kept).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelrollout_dev import LocalCluster
from modelrollout_dev.chart import CHART, helm, prometheus_operator_crds
from modelrollout_dev.manifests import KWOK_TOLERATION
from modelrollout_dev.model_traffic import Behaviour
from modelrollout_dev.tools import repo_root

from ..integration.test_operator_rbac import CLUSTER_WIDE, NEEDED, NEVER, wrong_answers
from .given import Given
from .specs import base_spec
from .when import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

CRD_NAME = "modelrollouts.modelrollout.io"
RELEASE = "chart-test"
FULLNAME = f"{RELEASE}-modelrollout-operator"


@dataclass
class Release:
    cluster: LocalCluster
    namespace: str
    kubeconfig: Path

    def helm(self, *args: str, check: bool = True) -> str:
        result = helm(*args, "--namespace", self.namespace, "--kubeconfig", str(self.kubeconfig), check=False)
        assert not check or result.returncode == 0, f"helm {' '.join(args)}:\n{result.stderr}"
        return result.stdout + result.stderr

    def get(self, *args: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.cluster.kubectl("get", *args, "-o", "json").stdout)
        return result


def kwok_values() -> list[str]:
    """What the local cluster's kwok nodes need (a real cluster needs neither)."""
    return ["--set-json", f"tolerations=[{json.dumps(KWOK_TOLERATION)}]", "--set", "nodeSelector.type=kwok"]


@pytest.fixture(scope="module")
def release(cluster: LocalCluster) -> Iterator[Release]:
    namespace = f"mr-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    installed = Release(cluster, namespace, cluster.kubeconfig)
    for crd in prometheus_operator_crds():  # so the ServiceMonitor and PrometheusRule are real objects
        cluster.kubectl("apply", "--server-side", "-f", str(crd))
    for crd in ("servicemonitors", "prometheusrules"):
        cluster.wait_established(f"{crd}.monitoring.coreos.com", timeout=30)
    # Other tests of the session may have applied the CRD with kubectl: helm adopts it.
    adopt = (
        ["--take-ownership"] if cluster.kubectl("get", "crd", CRD_NAME, check=False).returncode == 0 else []
    )
    installed.helm(
        "install", RELEASE, str(repo_root() / CHART), *adopt, *kwok_values(), "--wait", "--timeout", "90s",
        "--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true",
    )  # fmt: skip
    try:
        yield installed
    finally:
        installed.helm("uninstall", RELEASE, "--wait", check=False)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_the_operator_pod_is_admitted_under_restricted_pod_security(release: Release) -> None:
    # given the namespace enforces the restricted standard (a privileged Pod is refused there)
    privileged = release.cluster.kubectl(
        "run", "privileged", "-n", release.namespace, "--image=x", "--dry-run=server",
        "--overrides", json.dumps({"spec": {"containers": [{"name": "privileged", "image": "x",
                                                          "securityContext": {"privileged": True}}]}}),
        check=False,
    )  # fmt: skip
    assert privileged.returncode != 0 and "violates PodSecurity" in privileged.stderr, privileged.stderr

    # then the chart's Deployment got its Pod admitted, scheduled and running
    selector = f"app.kubernetes.io/instance={RELEASE}"
    pods = release.get("pods", "-n", release.namespace, "-l", selector)["items"]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    pod = pods[0]
    assert pod["status"]["phase"] == "Running" and pod["spec"]["nodeName"].startswith("kwok-node")
    container = pod["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsUser"] == 65532
    assert {"--all-namespaces", "--health-port=8081", "--metrics-port=8080"} <= set(container["args"])
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    tmp = next(v for v in pod["spec"]["volumes"] if v["name"] == "tmp")
    assert "emptyDir" in tmp

    # and its monitoring objects passed the prometheus-operator CRDs' schemas
    monitor = release.get("servicemonitor", FULLNAME, "-n", release.namespace)
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    rule = release.get("prometheusrule", FULLNAME, "-n", release.namespace)
    alerts = {r["alert"] for r in rule["spec"]["groups"][0]["rules"]}
    assert alerts == {
        "ModelRolloutRolledBack", "ModelRolloutStuck", "ModelRolloutOperatorDown",
        "ModelRolloutOperatorNotReconciling",
    }  # fmt: skip
    assert monitor["spec"]["endpoints"][0]["honorLabels"] is True
    service = release.get("service", f"{FULLNAME}-metrics", "-n", release.namespace)
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()

    # and the release notes tell the user how to check it
    assert f"deployment/{FULLNAME}" in release.helm("status", RELEASE)


@pytest.fixture(scope="module")
def operator_kubeconfig(release: Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """In this module the e2e operator (the `env` fixture) holds only a token of the chart's
    ServiceAccount, made by the TokenRequest API."""
    path = tmp_path_factory.mktemp("chart") / "operator.kubeconfig"
    return release.cluster.service_account_kubeconfig(release.namespace, FULLNAME, path)


def test_the_chart_service_account_is_enough_to_run_a_canary(given: Given) -> None:
    assert f"-{FULLNAME}" in given.env.operator.kubeconfig.read_text(), "the chart's ServiceAccount"
    given.service().model_traffic({"v1": Behaviour(), "v2": Behaviour()})
    spec = base_spec(
        given.env,
        steps=[{"setWeight": 50}, {"analysis": {}}],
        analysis=given.analysis([{"name": "errors", "type": "errorRate", "maxAbsoluteIncrease": 0.01}]),
    )

    when = given.rollout(spec).wait_for_phase("Promoted", timeout=90)

    when.then().phase("Promoted").stable_version("v2")
    log = given.env.operator.log()
    assert "Forbidden" not in log, log[-3000:]


def test_the_chart_grants_no_more_than_the_operator_calls(release: Release, namespace: str) -> None:
    account = f"system:serviceaccount:{release.namespace}:{FULLNAME}"
    cluster = release.cluster

    wrong = wrong_answers(cluster, account, True, NEEDED, namespace)
    wrong += wrong_answers(cluster, account, False, NEVER, namespace)
    wrong += wrong_answers(cluster, account, False, CLUSTER_WIDE, None)
    wrong += wrong_answers(
        cluster, account, True, [("create", "leases.coordination.k8s.io")], release.namespace
    )
    wrong += wrong_answers(cluster, account, False, [("create", "leases.coordination.k8s.io")], namespace)
    assert wrong == [], f"wrongly allowed or denied: {wrong}"


def test_the_namespaced_mode_grants_nothing_cluster_wide(release: Release, namespace: str) -> None:
    # given a second release that watches one namespace (the CRD is the first release's), with
    # a default notification receiver whose Secret is in the release's own namespace
    receiver = {"format": "webhook", "secret": {"name": "rollout-hooks", "key": "url"}}
    release.helm(
        "install", "scoped", str(repo_root() / CHART), *kwok_values(), "--set", "crds.install=false",
        "--set-json", f'watchNamespaces=["{namespace}"]', "--set-json", f"notifications.defaults=[{json.dumps(receiver)}]",
    )  # fmt: skip
    try:
        account = f"system:serviceaccount:{release.namespace}:scoped-modelrollout-operator"
        cluster = release.cluster

        # then it may act there (its rules are the cluster-wide mode's, as test_chart.py shows),
        # and nothing elsewhere or cluster-wide
        wrong = wrong_answers(cluster, account, True, NEEDED[:6], namespace)
        wrong += wrong_answers(cluster, account, False, [("get", "secrets"), *NEEDED[:6]], "default")
        wrong += wrong_answers(cluster, account, False, [*CLUSTER_WIDE, *NEEDED[:3]], None)
        # and in its own namespace it may read that one Secret, and no other
        wrong += wrong_answers(cluster, account, True, [("get", "secrets/rollout-hooks")], release.namespace)
        others = [
            ("get", "secrets/another"),
            ("get", "secrets"),
            ("list", "secrets"),
            ("update", "secrets/rollout-hooks"),
        ]
        wrong += wrong_answers(cluster, account, False, others, release.namespace)
        assert wrong == [], f"wrongly allowed or denied: {wrong}"
        args = release.get("deployment", "scoped-modelrollout-operator", "-n", release.namespace)
        flags = args["spec"]["template"]["spec"]["containers"][0]["args"]
        assert f"--namespace={namespace}" in flags
        assert f"--default-notification=webhook:{release.namespace}/rollout-hooks/url" in flags
    finally:
        release.helm("uninstall", "scoped")


def test_upgrade_updates_the_crd_and_uninstall_keeps_it_with_the_rollouts(release: Release) -> None:
    # given a ModelRollout (the example, in the release's namespace)
    example = repo_root() / "manifests" / "examples" / "fraud-scorer.yaml"
    release.cluster.kubectl("apply", "-n", release.namespace, "-f", str(example))

    # when the release is upgraded with a change to the CRD
    release.helm(
        "upgrade", RELEASE, str(repo_root() / CHART), "--reuse-values",
        "--set", "crds.annotations.example\\.com/upgraded=yes",
    )  # fmt: skip

    # then the CRD carries it (a file in crds/ would never have been upgraded)
    annotations = release.get("crd", CRD_NAME)["metadata"]["annotations"]
    assert annotations.get("example.com/upgraded") == "yes", annotations
    assert annotations.get("helm.sh/resource-policy") == "keep", annotations

    # when the release is uninstalled
    release.helm("uninstall", RELEASE, "--wait")

    # then the operator's objects are gone, the CRD and the ModelRollout stay
    gone = release.cluster.kubectl("get", "clusterrole", FULLNAME, check=False)
    assert gone.returncode != 0, "the ClusterRole outlived the release"
    wait_for(
        lambda: (
            release.cluster.kubectl(
                "get", "deployment", FULLNAME, "-n", release.namespace, check=False
            ).returncode
            != 0
        ),
        30,
        "the operator Deployment to be deleted",
    )
    release.get("crd", CRD_NAME)
    assert (
        release.get("modelrollout", "fraud-scorer", "-n", release.namespace)["spec"]["candidate"]["version"]
        == "v2"
    )
