"""Files the README promises exist and are well-formed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_kind_config_is_a_valid_cluster_with_one_control_plane_and_two_workers() -> None:
    config = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]


def _rbac(name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((REPO / "manifests/install" / name).read_text()))


def test_operator_rbac_grants_no_wildcards() -> None:
    for name, kind in (("rbac.yaml", "ClusterRole"), ("rbac-namespaced.yaml", "Role")):
        for role in (d for d in _rbac(name) if d["kind"] in (kind, "Role")):
            for rule in role["rules"]:
                assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule


def test_namespaced_rbac_grants_the_cluster_roles_rules_in_a_namespace_only() -> None:
    cluster_role = next(d for d in _rbac("rbac.yaml") if d["kind"] == "ClusterRole")
    namespaced = _rbac("rbac-namespaced.yaml")
    watched = [d for d in namespaced if d["metadata"].get("namespace") == "WATCHED_NAMESPACE"]
    (role,) = (d for d in watched if d["kind"] == "Role")
    assert role["rules"] == cluster_role["rules"]
    assert {d["kind"] for d in namespaced} == {"Namespace", "ServiceAccount", "Role", "RoleBinding"}
    beside = [d for d in namespaced if d["kind"] in ("Role", "RoleBinding") and d not in watched]
    in_cluster_mode = [d for d in _rbac("rbac.yaml") if d["kind"] in ("Role", "RoleBinding")]
    assert beside == in_cluster_mode, "the leader-election grant is the same in both modes"
