"""Which kubeconfig, context and namespace the plugin picks: kubectl's rules."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from modelrollout.cli.common import CliError
from modelrollout.cli.kube import connect

KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "dev",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
    "contexts": [
        {"name": "dev", "context": {"cluster": "c", "user": "u"}},
        {"name": "team", "context": {"cluster": "c", "user": "u", "namespace": "team-a"}},
    ],
}  # fmt: skip


def _args(**given: object) -> argparse.Namespace:
    return argparse.Namespace(**{"namespace": None, "context": None, "kubeconfig": None, **given})


@pytest.fixture
def kubeconfig(tmp_path: Path) -> str:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    return str(path)


def test_the_namespace_is_the_flag_else_the_contexts_else_default(
    kubeconfig: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    assert connect(_args()).namespace == "default"
    assert connect(_args(context="team")).namespace == "team-a"
    assert connect(_args(context="team", namespace="other")).namespace == "other"


def test_kubeconfig_flag_wins_over_the_environment(kubeconfig: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/config")
    assert connect(_args(kubeconfig=kubeconfig, context="team")).namespace == "team-a"
    with pytest.raises(CliError, match="cannot load the kubeconfig /nonexistent/config"):
        connect(_args())
    with pytest.raises(CliError, match="cannot load the kubeconfig"):
        connect(_args(kubeconfig=kubeconfig, context="missing"))
