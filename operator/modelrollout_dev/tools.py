"""Where the built tools live, and the small process helpers every component shares."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

K8S_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
HELM_VERSION = "v3.19.0"


def cache_dir() -> Path:
    """`$MODELROLLOUT_CACHE` or `~/.cache/modelrollout`: binaries are keyed by version in `bin/`."""
    return Path(os.environ.get("MODELROLLOUT_CACHE", Path.home() / ".cache" / "modelrollout"))


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ToolPaths:
    """Versioned binaries built by `hack/build-tools.sh`."""

    bin_dir: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubectl: Path
    etcd: Path
    kwok: Path
    helm: Path
    kwok_stages: Path

    @classmethod
    def from_cache(cls, root: Path | None = None) -> ToolPaths:
        base = root or cache_dir()
        b = base / "bin"
        return cls(
            bin_dir=b,
            kube_apiserver=b / f"kube-apiserver-{K8S_VERSION}",
            kube_controller_manager=b / f"kube-controller-manager-{K8S_VERSION}",
            kube_scheduler=b / f"kube-scheduler-{K8S_VERSION}",
            kubectl=b / f"kubectl-{K8S_VERSION}",
            etcd=b / f"etcd-{ETCD_VERSION}",
            kwok=b / f"kwok-{KWOK_VERSION}",
            helm=b / f"helm-{HELM_VERSION}",
            kwok_stages=base / f"kwok-stages-{KWOK_VERSION}",
        )

    def missing(self) -> list[Path]:
        paths = [
            self.kube_apiserver,
            self.kube_controller_manager,
            self.kube_scheduler,
            self.kubectl,
            self.etcd,
            self.kwok,
            self.helm,
        ]
        return [p for p in paths if not os.access(p, os.X_OK)] + (
            [] if (self.kwok_stages / "pod-ready.yaml").exists() else [self.kwok_stages]
        )

    def ensure_built(self) -> None:
        """Build what is missing; the script is a no-op when the cache is warm."""
        if self.missing():
            subprocess.run(["bash", str(repo_root() / "hack" / "build-tools.sh")], check=True)
        still = self.missing()
        if still:
            raise FileNotFoundError(f"tools still missing after hack/build-tools.sh: {still}")


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (races are possible but rare here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_running(pid: int) -> bool:
    """True for a live process; a zombie answers `kill -0` too, so read its state from /proc."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def process_identity(pid: int) -> str:
    """The process's start time (clock ticks since boot): with the pid it names one process, so a
    pid file never makes us stop an unrelated process that reused the pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, IndexError):
        return ""


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`; reaps the process when it is our child."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_running(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(100):
        _reap(pid)
        if not is_running(pid):
            return
        time.sleep(0.05)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def tail(path: Path, lines: int = 40) -> str:
    """The end of a component's log, for error messages that say why it did not start."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"
