"""A real Prometheus (Debian's package) on a free loopback port: scraping local targets, or serving
a data dir backfilled with `promtool tsdb create-blocks-from openmetrics`.

It can also serve HTTPS (a certificate for 127.0.0.1 signed by a CA of its own, made with openssl)
and demand basic auth, through Prometheus' own `--web.config.file`, so the source's TLS and
credential options are tested against the real server rather than a stand-in.
"""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .pki import make_ca, make_cert
from .tools import free_port, stop_pid, tail


class PrometheusError(RuntimeError):
    """Prometheus (or promtool) failed; the message carries its own output."""


@dataclass
class PrometheusSettings:
    binary: str = "prometheus"
    """Debian's /usr/bin/prometheus unless overridden; `make deps` installs the package."""
    promtool: str = "promtool"
    scrape_interval: str = "1s"
    """Short so tests see fresh samples within a second or two."""
    start_timeout: float = 60.0
    retention: str = "10y"
    """Long, so backfilled history is never dropped as too old."""
    detach: bool = False
    """Own session, so it outlives this Python process (`make demo`, `make cluster-up`)."""


@dataclass
class PrometheusServer:
    settings: PrometheusSettings = field(default_factory=PrometheusSettings)
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="modelrollout-prom-")))
    targets: list[str] = field(default_factory=list)
    """`host:port` targets scraped at `/metrics` (job `local`)."""
    tls: bool = False
    """Serve HTTPS only, with a certificate signed by `ca_pem`."""
    basic_auth: tuple[str, str] | None = None
    """(user, password) every request must carry."""
    port: int | None = None
    """Loopback port; a free one is picked at the first start and kept, so a restart (stop, then
    start) serves the same URL, as a Prometheus pod behind its Service would."""
    url: str = field(init=False, default="")
    _proc: subprocess.Popen[bytes] | None = field(init=False, default=None)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "prometheus.log"

    def backfill(self, openmetrics: str) -> None:
        """Write history into the data dir before `start` (text must end with `# EOF`)."""
        source = self.data_dir / "backfill.om"
        source.write_text(openmetrics if openmetrics.endswith("\n") else openmetrics + "\n")
        tsdb = self.data_dir / "tsdb"
        tsdb.mkdir(exist_ok=True)
        result = subprocess.run(
            [
                self._which(self.settings.promtool),
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                str(source),
                str(tsdb),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise PrometheusError(f"promtool backfill failed: {result.stdout}\n{result.stderr}")

    def start(self) -> PrometheusServer:
        port = self.port = self.port or free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = {
            "global": {"scrape_interval": self.settings.scrape_interval, "evaluation_interval": "15s"},
            "scrape_configs": [
                {"job_name": "local", "static_configs": [{"targets": self.targets}]} if self.targets else None
            ],
        }
        config["scrape_configs"] = [c for c in config["scrape_configs"] if c]
        config_file = self.data_dir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config))
        web_config = self._web_config()
        if self.tls:
            self.url = f"https://127.0.0.1:{port}"
        log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            [
                self._which(self.settings.binary),
                f"--config.file={config_file}",
                f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                f"--storage.tsdb.retention.time={self.settings.retention}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-remote-write-receiver",
                "--web.enable-lifecycle",
                *([f"--web.config.file={web_config}"] if web_config else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=self.settings.detach,
        )
        log.close()
        self._wait_ready()
        return self

    @property
    def ca_pem(self) -> str:
        """PEM of the CA that signed the HTTPS certificate (`tls` only)."""
        return (self.data_dir / "tls" / "ca.crt").read_text()

    def _web_config(self) -> Path | None:
        """Prometheus' web config for TLS and basic auth; None when neither is asked for."""
        if not self.tls and self.basic_auth is None:
            return None
        web: dict[str, object] = {}
        if self.tls:
            directory = self.data_dir / "tls"
            if not (directory / "prometheus.crt").exists():  # a restart keeps its certificate
                directory.mkdir(exist_ok=True)
                make_ca(directory)
                make_cert(directory, "prometheus", "/CN=127.0.0.1", ("IP:127.0.0.1",), server=True)
            web["tls_server_config"] = {
                "cert_file": str(directory / "prometheus.crt"),
                "key_file": str(directory / "prometheus.key"),
            }
        if self.basic_auth is not None:
            import bcrypt  # the dev extra's; only servers that demand basic auth need it

            user, password = self.basic_auth
            # Cost 4, bcrypt's least: Prometheus checks the hash on every request (cached), and
            # the default cost of 12 would add ~0.2 s of CPU to each one in tests.
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
            web["basic_auth_users"] = {user: hashed}
        path = self.data_dir / "web.yml"
        path.write_text(yaml.safe_dump(web))
        return path

    def _ready_request(self) -> tuple[urllib.request.Request, ssl.SSLContext | None]:
        request = urllib.request.Request(f"{self.url}/-/ready")
        if self.basic_auth is not None:
            token = base64.b64encode(":".join(self.basic_auth).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        context = ssl.create_default_context(cadata=self.ca_pem) if self.tls else None
        return request, context

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.start_timeout
        request, context = self._ready_request()
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise PrometheusError(
                    f"prometheus exited with {self._proc.returncode}; its log ends:\n{tail(self.log_path)}"
                )
            try:
                with urllib.request.urlopen(request, timeout=1, context=context) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise PrometheusError(
            f"prometheus not ready after {self.settings.start_timeout}s:\n{tail(self.log_path)}"
        )

    def stop(self, remove: bool = False) -> None:
        if self._proc is not None:
            stop_pid(self._proc.pid)
            self._proc.wait(timeout=5)
            self._proc = None
        if remove:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop(remove=True)

    @staticmethod
    def _which(name: str) -> str:
        path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if path is None:
            raise PrometheusError(f"{name} not found: install Debian's prometheus package (`make deps` does)")
        return path
