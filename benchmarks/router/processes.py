"""The processes of one benchmark run: model servers, nginx, the router; started, awaited, stopped
by pid, their logs kept for a failure's message."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from modelrollout_dev.tools import free_port, is_running, repo_root, stop_pid, tail

NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client-body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream model {{
        server {backend};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://model;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""
"""One worker, keep-alive connections to the upstream (HTTP/1.1 without `Connection: close`):
nginx at its usual reverse-proxy best, so the comparison is fair to it."""


class BenchError(RuntimeError):
    """A process of the benchmark did not start; the message carries its log."""


@dataclass
class Processes:
    work_dir: Path
    started: list[tuple[str, subprocess.Popen[bytes], Path]] = field(default_factory=list)
    serving: dict[int, int] = field(default_factory=dict)
    """Port -> the pid of the process that answers on it (for nginx, its one worker after
    `wait()`): whose CPU time a request costs."""
    _waiting: list[tuple[str, int, str, Path]] = field(default_factory=list)

    def _spawn(self, name: str, command: list[str], url: str) -> None:
        """Starts the process; `wait()` waits for it to answer (so several start at once)."""
        log = self.work_dir / f"{name}.log"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo_root() / "operator"), str(repo_root())]))
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.started.append((name, process, log))
        self._waiting.append((name, process.pid, url, log))
        self.serving[int(url.split(":")[2].split("/")[0])] = process.pid

    def wait(self, timeout: float = 30.0) -> None:
        """Until every process started since the last wait answers on its URL; BenchError with the
        log of one that does not."""
        deadline = time.monotonic() + timeout
        for name, pid, url, log in self._waiting:
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=1):
                        break
                except OSError:
                    if not is_running(pid) or time.monotonic() > deadline:
                        raise BenchError(f"{name} did not answer on {url}:\n{tail(log)}") from None
                    time.sleep(0.05)
        self._waiting.clear()
        for port, pid in self.serving.items():
            children = Path(f"/proc/{pid}/task/{pid}/children")
            workers = children.read_text().split() if children.exists() else []
            if workers:  # nginx's master: its worker answers
                self.serving[port] = int(workers[0])

    def model_server(self, version: str, latency: float = 0.0) -> int:
        port = free_port()
        command = [sys.executable, "-m", "modelrollout_dev.model_server", "--bind", f"127.0.0.1:{port}",
                   "--model", "bench", "--version", version, "--latency-median", str(latency)]  # fmt: skip
        self._spawn(f"model-{version}", command, f"http://127.0.0.1:{port}/v2/health/ready")
        return port

    def nginx(self, backend_port: int) -> int:
        port = free_port()
        directory = self.work_dir / "nginx"
        directory.mkdir(exist_ok=True)
        conf = directory / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=directory, backend=f"127.0.0.1:{backend_port}", port=port))
        self._spawn(
            "nginx",
            ["nginx", "-c", str(conf), "-p", str(directory)],
            f"http://127.0.0.1:{port}/v2/health/ready",
        )
        return port

    def router(self, backends: dict[str, int], weights: dict[str, int], shadow: str | None = None) -> int:
        port = free_port()
        command = [sys.executable, "-m", "benchmarks.router.static_router", "--listen", f"127.0.0.1:{port}"]
        command += [f"--backend={version}=127.0.0.1:{backend}" for version, backend in backends.items()]
        command += [f"--weight={version}={weight}" for version, weight in weights.items()]
        if shadow is not None:
            command.append(f"--shadow={shadow}")
        self._spawn(
            f"router-{'shadow' if shadow else 'plain'}-{port}", command, f"http://127.0.0.1:{port}/readyz"
        )
        return port

    def stop(self, name_prefix: str | None = None) -> None:
        for name, process, _ in list(reversed(self.started)):
            if name_prefix is None or name.startswith(name_prefix):
                stop_pid(process.pid, timeout=10)
                self.started.remove((name, process, _))
