"""The chart rendered by the real helm binary (no cluster): what `helm lint` / `helm template`
accept and refuse, and that what it renders matches the files it is derived from."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from modelrollout_dev import chart, chart_docs
from modelrollout_dev.chart import CHART, CRD, helm
from modelrollout_dev.tools import repo_root

CHART_DIR = str(repo_root() / CHART)


def render(*args: str) -> list[dict[str, Any]]:
    result = helm("template", "r", CHART_DIR, "--namespace", "ops", *args, check=False)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def kinds(documents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        by_kind.setdefault(document["kind"], []).append(document)
    return by_kind


def operator_args(documents: list[dict[str, Any]]) -> list[str]:
    deployment = kinds(documents)["Deployment"][0]
    return list(deployment["spec"]["template"]["spec"]["containers"][0]["args"])


def test_lint_is_clean() -> None:
    result = helm("lint", "--strict", CHART_DIR, check=False)
    assert result.returncode == 0 and "[WARNING]" not in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("flag", "error"),
    [
        ("replicaCnt=2", "additional properties 'replicaCnt' not allowed"),
        ("crds.keeep=true", "additional properties 'keeep' not allowed"),
        ("replicaCount=two", "got string, want integer"),
        ("metrics.port=99999", "maximum"),
    ],
)
def test_the_schema_rejects_unknown_keys_and_wrong_types(flag: str, error: str) -> None:
    for command in ("template", "lint"):
        result = helm(
            command, *(["r"] if command == "template" else []), CHART_DIR, "--set", flag, check=False
        )
        assert result.returncode != 0 and error in result.stdout + result.stderr, (command, result.stderr)


def test_cluster_wide_rules_are_those_of_the_plain_manifests() -> None:
    plain = list(yaml.safe_load_all((repo_root() / "manifests/install/rbac.yaml").read_text()))
    wanted = next(d for d in plain if d["kind"] == "ClusterRole")["rules"]
    rendered = kinds(render())
    assert rendered["ClusterRole"][0]["rules"] == wanted
    assert [r["metadata"]["namespace"] for r in rendered["Role"]] == ["ops"]  # leader election only
    assert "--all-namespaces" in operator_args(render())


def test_namespaced_mode_grants_nothing_cluster_wide() -> None:
    rendered = kinds(render("--set-json", 'watchNamespaces=["team-a","team-b"]'))
    assert "ClusterRole" not in rendered and "ClusterRoleBinding" not in rendered
    plain = list(yaml.safe_load_all((repo_root() / "manifests/install/rbac-namespaced.yaml").read_text()))
    wanted = next(
        d for d in plain if d["kind"] == "Role" and d["metadata"]["namespace"] == "WATCHED_NAMESPACE"
    )
    roles = {
        r["metadata"]["namespace"]: r
        for r in rendered["Role"]
        if not r["metadata"]["name"].endswith("election")
    }
    assert set(roles) == {"team-a", "team-b"}
    assert all(role["rules"] == wanted["rules"] for role in roles.values())
    election = [r for r in rendered["Role"] if r["metadata"]["name"].endswith("leader-election")]
    assert [r["metadata"]["namespace"] for r in election] == ["ops"]
    args = operator_args(render("--set-json", 'watchNamespaces=["team-a","team-b"]'))
    assert "--namespace=team-a" in args and "--namespace=team-b" in args and "--all-namespaces" not in args


def test_the_crd_is_the_generated_one_kept_on_uninstall_unless_told() -> None:
    generated = yaml.safe_load((repo_root() / CRD).read_text())
    crd = kinds(render())["CustomResourceDefinition"][0]
    assert json.loads(json.dumps(crd["spec"])) == json.loads(json.dumps(generated["spec"]))
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    unkept = kinds(render("--set", "crds.keep=false"))["CustomResourceDefinition"][0]
    assert "helm.sh/resource-policy" not in (unkept["metadata"].get("annotations") or {})
    assert "CustomResourceDefinition" not in kinds(render("--set", "crds.install=false"))


def test_more_than_one_replica_elects_a_leader_whose_lease_the_role_names() -> None:
    assert not any(a.startswith("--leader-elect") for a in operator_args(render()))
    documents = render("--set", "replicaCount=2")
    args = operator_args(documents)
    assert {
        "--leader-elect",
        "--leader-election-namespace=ops",
        "--leader-election-id=r-modelrollout-operator",
    } <= set(args)
    role = next(r for r in kinds(documents)["Role"] if r["metadata"]["name"].endswith("leader-election"))
    assert role["rules"][1]["resourceNames"] == ["r-modelrollout-operator"]


def test_operator_flags_come_from_values() -> None:
    args = operator_args(
        render(
            "--set", "operator.resyncSeconds=60", "--set", "selector=shard=a", "--set", "metrics.enabled=false",
            "--set", "operator.allowInsecurePrometheus=true",
            "--set-json", 'operator.prometheusAllowedUrls=["https://prom.example/"]',
        )
    )  # fmt: skip
    assert "--resync-seconds=60" in args and "--selector=shard=a" in args
    assert "--allow-insecure-prometheus" in args and "--prometheus-allowed-url=https://prom.example/" in args
    assert not any(a.startswith("--metrics-port") for a in args)


def test_readme_and_install_yaml_are_up_to_date() -> None:
    assert chart_docs.main(["--check"]) == 0, "run `make manifests`"
    assert chart.main(["--check"]) == 0, "run `make manifests`"


def test_a_value_without_a_description_is_named() -> None:
    with pytest.raises(chart_docs.UndocumentedValue, match=r"image\.tag"):
        chart_docs.documented_values("image:\n  # -- Repository.\n  repository: x\n  tag: ''\n")
