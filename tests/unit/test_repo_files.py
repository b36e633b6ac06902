"""Files the README promises exist and are well-formed."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_kind_config_is_a_valid_cluster_with_one_control_plane_and_two_workers() -> None:
    config = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]


def test_operator_rbac_grants_no_wildcards() -> None:
    documents = list(yaml.safe_load_all((REPO / "manifests/install/rbac.yaml").read_text()))
    role = next(d for d in documents if d["kind"] == "ClusterRole")
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
