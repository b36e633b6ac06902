"""A component that cannot start fails the run with its own words, never a skip."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from modelrollout_dev import (
    ClusterError,
    LocalCluster,
    LocalClusterSettings,
    PrometheusError,
    PrometheusServer,
    PrometheusSettings,
    ToolPaths,
)


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_a_component_that_exits_fails_start_with_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given real tools except an etcd that refuses to start
    monkeypatch.setenv("MODELROLLOUT_CACHE", str(tmp_path / "cache"))
    real = ToolPaths.from_cache(Path.home() / ".cache" / "modelrollout")
    broken_etcd = _script(
        tmp_path / "etcd", 'echo "etcd: cannot bind the data dir: disk on fire" >&2; exit 3'
    )
    tools = ToolPaths(**{**real.__dict__, "etcd": broken_etcd})
    cluster = LocalCluster(LocalClusterSettings(name="broken", start_timeout=30), tools=tools)

    # When it starts, Then the error names the component and quotes its log
    with pytest.raises(ClusterError) as raised:
        cluster.start()
    message = str(raised.value)
    assert "etcd exited with 3" in message
    assert "disk on fire" in message
    assert not cluster.running()


def test_a_prometheus_that_cannot_start_says_why(tmp_path: Path) -> None:
    broken = _script(tmp_path / "prometheus", 'echo "err: bad flag --storage.tsdb.path" >&2; exit 1')
    server = PrometheusServer(
        settings=PrometheusSettings(binary=str(broken), start_timeout=10), data_dir=tmp_path
    )
    with pytest.raises(PrometheusError, match="bad flag"):
        server.start()


def test_a_missing_prometheus_names_the_package(tmp_path: Path) -> None:
    server = PrometheusServer(settings=PrometheusSettings(binary="no-such-prometheus"), data_dir=tmp_path)
    with pytest.raises(PrometheusError, match="prometheus package"):
        server.start()
