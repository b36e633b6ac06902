"""The router as a process without Kubernetes (`--config-file`, `--endpoints`) in front of the
reference model servers: it serves, follows an edit of its file within a second, exits 0 on
SIGTERM, and refuses a command line that names no configuration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrollout_dev.tools import free_port, repo_root

ENV = {**os.environ, "PYTHONPATH": f"{repo_root() / 'operator'}:{repo_root()}"}


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert process.poll() is None, f"{process.args} exited"
        assert time.monotonic() < deadline, f"{url} never answered"
        time.sleep(0.05)


@pytest.fixture
def servers() -> Iterator[dict[str, int]]:
    ports = {"v1": free_port(), "v2": free_port()}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modelrollout_dev.model_server",
                "--bind",
                f"127.0.0.1:{port}",
                "--model",
                "m",
                "--version",
                version,
            ],
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for version, port in ports.items()
    ]
    try:
        for process, port in zip(processes, ports.values(), strict=True):
            _wait(f"http://127.0.0.1:{port}/v2/health/ready", process)
        yield ports
    finally:
        for process in processes:
            process.kill()
            process.wait(5)


def _config(stable: float, candidate: float) -> str:
    versions = [
        {"name": "v1", "service": "m-v1", "port": "http", "weight": stable},
        {"name": "v2", "service": "m-v2", "port": "http", "weight": candidate},
    ]
    return json.dumps({"model": "m", "versions": versions})


def _version(url: str) -> str:
    request = urllib.request.Request(
        f"{url}/v1/models/m:predict", data=b'{"instances": [[1, 2, 3, 4, 5, 6, 7, 8]]}', method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.headers["x-modelrollout-version"])


def test_a_static_router_serves_follows_its_file_and_stops_on_sigterm(
    servers: dict[str, int], tmp_path: Path
) -> None:
    config = tmp_path / "router.json"
    config.write_text(_config(100, 0))
    port = free_port()
    router = subprocess.Popen(
        [sys.executable, "-m", "modelrollout.router", "--config-file", str(config), "--listen", f"127.0.0.1:{port}",
         "--endpoints", f"m-v1=127.0.0.1:{servers['v1']}", "--endpoints", f"m-v2=127.0.0.1:{servers['v2']}"],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/readyz", router)
        assert {_version(url) for _ in range(5)} == {"v1"}
        # when the file moves all traffic to v2, the router follows within a second
        config.write_text(_config(0, 100))
        written = time.monotonic()
        while _version(url) != "v2":
            assert time.monotonic() - written < 1.0, "the edit was not applied within a second"
        assert {_version(url) for _ in range(5)} == {"v2"}
        router.send_signal(signal.SIGTERM)
        assert router.wait(10) == 0
    finally:
        if router.poll() is None:
            router.kill()
            router.wait(5)


def test_a_command_line_without_a_configuration_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "modelrollout.router", "--listen", "127.0.0.1:0"],
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "exactly one of --config-map" in result.stderr
