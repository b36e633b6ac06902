"""The chart rendered by the real helm binary (no cluster): what `helm lint` / `helm template`
accept and refuse, and that what it renders matches the files it is derived from."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
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
    # a follower has not started kopf (no /healthz yet): it is probed on /metrics, served from the start
    container = kinds(documents)["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    single = kinds(render())["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]
    assert single["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}


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
    assert "--metrics-port=0" in args  # off, whatever the operator's own default


def test_readme_and_install_yaml_are_up_to_date() -> None:
    assert chart_docs.main(["--check"]) == 0, "run `make manifests`"
    assert chart.main(["--check"]) == 0, "run `make manifests`"


def test_a_value_without_a_description_is_named() -> None:
    with pytest.raises(chart_docs.UndocumentedValue, match=r"image\.tag"):
        chart_docs.documented_values("image:\n  # -- Repository.\n  repository: x\n  tag: ''\n")


ROLLOUT = {"namespace": "ml", "rollout": "fraud-scorer", "model": "fraud-scorer"}
JOB = {"job": "r-modelrollout-operator-metrics", "namespace": "ops"}


def series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def expected(rule: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """The alert promtool should see: the rule's labels and its annotations with `$labels` filled in."""
    annotations = {}
    for key, text in rule["annotations"].items():
        for name, value in labels.items():
            text = text.replace(f"{{{{ $labels.{name} }}}}", value)
        annotations[key] = text
    return {"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": annotations}


def test_the_alert_rules_pass_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make deps` installs the prometheus Debian package"
    documents = kinds(render("--set", "prometheusRule.enabled=true", "--set", "prometheusRule.stuckFor=30m"))
    groups = documents["PrometheusRule"][0]["spec"]["groups"]
    rules = {r["alert"]: r for r in groups[0]["rules"]}
    assert set(rules) == {"ModelRolloutRolledBack", "ModelRolloutStuck", "ModelRolloutOperatorDown"}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    moving = {**ROLLOUT, "rollout": "moving", "model": "moving"}
    tests = [
        {  # rolled back: fires as soon as the phase is RolledBack, not before
            "interval": "1m",
            "input_series": [
                {"series": series("modelrollout_phase", {**ROLLOUT, "phase": "RolledBack"}), "values": "0 0 0 1x10"},
                {"series": series("modelrollout_phase", {**ROLLOUT, "phase": "Progressing"}), "values": "1 1 1 0x10"},
            ],
            "alert_rule_test": [
                {"eval_time": "2m", "alertname": "ModelRolloutRolledBack", "exp_alerts": []},
                {"eval_time": "5m", "alertname": "ModelRolloutRolledBack",
                 "exp_alerts": [expected(rules["ModelRolloutRolledBack"], ROLLOUT)]},
            ],
        },
        {  # stuck: 30 minutes Paused at one weight fires; a rollout whose weight moves does not
            "interval": "1m",
            "input_series": [
                {"series": series("modelrollout_phase", {**ROLLOUT, "phase": "Paused"}), "values": "1x90"},
                {"series": series("modelrollout_candidate_weight_percent", ROLLOUT), "values": "25x90"},
                {"series": series("modelrollout_phase", {**moving, "phase": "Progressing"}), "values": "1x90"},
                {"series": series("modelrollout_candidate_weight_percent", moving), "values": "10+1x90"},
            ],
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": "ModelRolloutStuck", "exp_alerts": []},
                {"eval_time": "75m", "alertname": "ModelRolloutStuck",
                 "exp_alerts": [expected(rules["ModelRolloutStuck"], ROLLOUT)]},
            ],
        },
        {  # not reconciling: a failed scrape for 10 minutes fires, a short one does not
            "interval": "1m",
            "input_series": [{"series": series("up", JOB), "values": "1 1 0 0 0 1 1 0x15"}],
            "alert_rule_test": [
                {"eval_time": "6m", "alertname": "ModelRolloutOperatorDown", "exp_alerts": []},
                {"eval_time": "20m", "alertname": "ModelRolloutOperatorDown",
                 "exp_alerts": [expected(rules["ModelRolloutOperatorDown"], {"namespace": "ops"})]},
            ],
        },
        {  # ... and so does an operator Prometheus has no target for at all
            "interval": "1m",
            "input_series": [{"series": series("up", {"job": "something-else"}), "values": "1x20"}],
            "alert_rule_test": [
                {"eval_time": "15m", "alertname": "ModelRolloutOperatorDown",
                 "exp_alerts": [expected(rules["ModelRolloutOperatorDown"], JOB)]},
            ],
        },
    ]  # fmt: skip
    (tmp_path / "tests.yaml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests})
    )
    result = subprocess.run(
        [promtool, "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
