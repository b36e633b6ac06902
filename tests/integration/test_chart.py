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
    # a follower answers /healthz itself until kopf takes the port, so metrics may be off
    container = kinds(documents)["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    without_metrics = render("--set", "replicaCount=2", "--set", "metrics.enabled=false")
    assert kinds(without_metrics)["Deployment"][0]["spec"]["template"]["spec"]["containers"][0][
        "readinessProbe"
    ]["httpGet"] == {"path": "/healthz", "port": "health"}
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


DEFAULTS = json.dumps(
    [
        {"format": "slack", "secret": {"name": "rollout-hooks", "key": "slack"}},
        {"format": "webhook", "secret": {"name": "rollout-hooks", "key": "audit"}},
        {"format": "teams", "secret": {"name": "teams-hook", "key": "url"}},
    ]
)


def test_default_notifications_become_flags_naming_secrets_in_the_release_namespace() -> None:
    args = operator_args(
        render(
            "--set-json", f"notifications.defaults={DEFAULTS}",
            "--set-json", 'notifications.allowedUrls=["https://hooks.slack.com/"]',
        )
    )  # fmt: skip
    flags = [a for a in args if a.startswith("--default-notification") or a.startswith("--notification")]
    assert flags == [
        "--default-notification=slack:ops/rollout-hooks/slack",
        "--default-notification=webhook:ops/rollout-hooks/audit",
        "--default-notification=teams:ops/teams-hook/url",
        "--notification-allowed-url=https://hooks.slack.com/",
    ]
    assert not any(
        a.startswith(("--default-notification", "--notification")) for a in operator_args(render())
    )


@pytest.mark.parametrize(
    ("flag", "error"),
    [
        (
            'notifications.defaults=[{"format":"email","secret":{"name":"a","key":"b"}}]',
            "/defaults/0/format': value must be one of",
        ),
        (
            'notifications.defaults=[{"format":"slack","secret":{"name":"a"}}]',
            "/defaults/0/secret': missing property 'key'",
        ),
        (
            'notifications.defaults=[{"format":"slack","secret":{"name":"A/b","key":"k"}}]',
            "/secret/name': 'A/b' does not match",
        ),
        ('notifications.allowedUrls=[""]', "/allowedUrls/0': minLength"),
    ],
)
def test_the_schema_rejects_malformed_notification_defaults(flag: str, error: str) -> None:
    result = helm("template", "r", CHART_DIR, "--set-json", flag, check=False)
    assert result.returncode != 0 and error in result.stderr, result.stderr


def notification_roles(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] in ("Role", "RoleBinding") and "notif" in d["metadata"]["name"]]


def test_namespaced_mode_may_read_exactly_the_default_notification_secrets() -> None:
    # given a release watching other namespaces, with default receivers in its own
    documents = render(
        "--set-json", 'watchNamespaces=["team-a"]', "--set-json", f"notifications.defaults={DEFAULTS}"
    )

    # then one Role in the release namespace grants `get` on those Secrets by name, and nothing else
    role, binding = notification_roles(documents)
    assert role["kind"] == "Role" and role["metadata"]["namespace"] == "ops"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["rollout-hooks", "teams-hook"],
         "verbs": ["get"]}
    ]  # fmt: skip
    assert (
        binding["metadata"]["namespace"] == "ops" and binding["roleRef"]["name"] == role["metadata"]["name"]
    )
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "r-modelrollout-operator", "namespace": "ops"}
    ]

    # and without defaults, or cluster-wide (where Secrets may be read anywhere already), there is none
    assert notification_roles(render("--set-json", 'watchNamespaces=["team-a"]')) == []
    assert notification_roles(render("--set-json", f"notifications.defaults={DEFAULTS}")) == []


def test_metrics_are_served_on_a_port_named_metrics_the_service_monitor_scrapes_as_is() -> None:
    rendered = kinds(render("--set", "serviceMonitor.enabled=true"))
    container = rendered["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "metrics", "containerPort": 8080, "protocol": "TCP"} in container["ports"]
    assert "--metrics-port=8080" in container["args"]
    assert rendered["Service"][0]["spec"]["ports"][0]["targetPort"] == "metrics"
    # the operator's `namespace` label is the rollout's; without honorLabels Prometheus would
    # rename it exported_namespace and put the operator's own namespace in its place
    endpoint = rendered["ServiceMonitor"][0]["spec"]["endpoints"][0]
    assert endpoint["port"] == "metrics" and endpoint["honorLabels"] is True


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


def operator_series(up: str, reconciles: str, unfinished: str, promoted: str) -> list[dict[str, str]]:
    """The operator's own series as its ServiceMonitor scrapes them: `up`, its reconcile count,
    and how many rollouts (in namespace ml) are Progressing and Promoted."""
    return [
        {"series": series("up", JOB), "values": up},
        {"series": series("modelrollout_reconcile_duration_seconds_count", JOB), "values": reconciles},
        {"series": series("modelrollout_rollouts", {**JOB, "namespace": "ml", "phase": "Progressing"}),
         "values": unfinished},
        {"series": series("modelrollout_rollouts", {**JOB, "namespace": "ml", "phase": "Promoted"}),
         "values": promoted},
    ]  # fmt: skip


def test_the_alert_rules_pass_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make deps` installs the prometheus Debian package"
    documents = kinds(render("--set", "prometheusRule.enabled=true", "--set", "prometheusRule.stuckFor=15m"))
    groups = documents["PrometheusRule"][0]["spec"]["groups"]
    rules = {r["alert"]: r for r in groups[0]["rules"]}
    assert set(rules) == {
        "ModelRolloutRolledBack", "ModelRolloutStuck", "ModelRolloutOperatorDown",
        "ModelRolloutOperatorNotReconciling",
    }  # fmt: skip
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    moving = {**ROLLOUT, "rollout": "moving", "model": "moving"}
    other = {**ROLLOUT, "rollout": "other", "model": "other"}
    rolled_back = {**ROLLOUT, "rollout": "reverted", "model": "reverted"}
    deadline = {"type": "Degraded", "status": "True", "reason": "ProgressDeadlineExceeded"}
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
        {  # stuck: past its progress deadline for 15 minutes fires; a deadline exceeded only briefly,
           # another Degraded reason, or a rollout rolled back for its deadline (an alert of its own) does not
            "interval": "1m",
            "input_series": [
                {"series": series("modelrollout_condition", {**ROLLOUT, **deadline}), "values": "0x5 1x40"},
                {"series": series("modelrollout_condition", {**moving, **deadline}), "values": "0x5 1x5 0x30"},
                {"series": series("modelrollout_condition", {**moving, **deadline, "status": "False"}),
                 "values": "1x5 0x5 1x30"},
                {"series": series("modelrollout_condition", {**other, **deadline, "reason": "AnalysisFailed"}),
                 "values": "1x45"},
                {"series": series("modelrollout_condition", {**rolled_back, **deadline}), "values": "1x45"},
                {"series": series("modelrollout_phase", {**rolled_back, "phase": "RolledBack"}), "values": "1x45"},
            ],
            "alert_rule_test": [
                {"eval_time": "15m", "alertname": "ModelRolloutStuck", "exp_alerts": []},
                {"eval_time": "40m", "alertname": "ModelRolloutStuck",
                 "exp_alerts": [expected(rules["ModelRolloutStuck"], ROLLOUT)]},
            ],
        },
        {  # operator down: a failed scrape for 10 minutes fires, a short one does not
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
        {  # not reconciling: up, a rollout unfinished, and no reconcile for 10 minutes fires;
           # reconciling (every 5 minutes, the resync) does not, nor does it once it is down
           # (ModelRolloutOperatorDown says so), nor once every rollout is finished
            "interval": "1m",
            "input_series": operator_series(
                up="1x60 0x20", reconciles="0 1 1 1 1 2 2 2 2 2 3x30 3 4 4 4 4 5x30", unfinished="1x80",
                promoted="0x80",
            ),
            "alert_rule_test": [
                {"eval_time": "12m", "alertname": "ModelRolloutOperatorNotReconciling", "exp_alerts": []},
                {"eval_time": "25m", "alertname": "ModelRolloutOperatorNotReconciling",
                 "exp_alerts": [expected(rules["ModelRolloutOperatorNotReconciling"], {"namespace": "ops"})]},
                {"eval_time": "45m", "alertname": "ModelRolloutOperatorNotReconciling", "exp_alerts": []},
                {"eval_time": "75m", "alertname": "ModelRolloutOperatorNotReconciling", "exp_alerts": []},
            ],
        },
        {  # ... and with every rollout finished, an idle operator is no alert
            "interval": "1m",
            "input_series": operator_series(up="1x40", reconciles="7x40", unfinished="0x40", promoted="1x40"),
            "alert_rule_test": [
                {"eval_time": "30m", "alertname": "ModelRolloutOperatorNotReconciling", "exp_alerts": []},
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
