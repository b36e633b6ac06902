"""What runs beside an e2e test: the operator under test, a watch on a ModelRollout, a sampler.

Each is a process or a thread the test starts and stops itself, so a test can kill the operator
as a crash would, or see a status the moment it is written.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelrollout_dev import LocalCluster

REPO = Path(__file__).resolve().parents[2]


@dataclass
class OperatorProcess:
    cluster: LocalCluster
    namespace: str
    kubeconfig: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    args: tuple[str, ...] = ()
    """More flags, e.g. leader election for a second replica."""
    metrics_port: int = 0
    """Where it serves /metrics; 0 (not served) by default, so operators started side by side
    never compete for the operator's default port."""

    def start(self) -> None:
        log = self.log_path.open("ab")
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modelrollout", "--namespace", self.namespace,
             "--kubeconfig", str(self.kubeconfig), "--resync-seconds", "2",
             "--metrics-port", str(self.metrics_port), *self.args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=REPO,
        )  # fmt: skip
        log.close()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as a crashed pod."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class RolloutWatch:
    """`kubectl get -w` on one ModelRollout, its objects parsed on a reader thread: a status is
    seen within milliseconds of being written, where polling would see it up to a poll later."""

    def __init__(self, cluster: LocalCluster, namespace: str, name: str) -> None:
        self._proc = subprocess.Popen(
            [str(cluster.tools.kubectl), "get", "modelrollout", name, "-n", namespace, "-w", "-o", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
            env=cluster.env,
        )  # fmt: skip
        self._seen: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="rollout-watch", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        buffer: list[str] = []
        for line in self._proc.stdout:
            buffer.append(line)
            if line.rstrip("\n") == "}":  # kubectl ends each indented object with a bare brace
                self._seen.put(json.loads("".join(buffer)))
                buffer = []

    def wait_until(
        self, predicate: Callable[[dict[str, Any]], Any], timeout: float, what: str
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while (left := deadline - time.monotonic()) > 0:
            try:
                last = dict(self._seen.get(timeout=left).get("status") or {})
            except queue.Empty:
                break
            if predicate(last):
                return last
        raise AssertionError(
            f"timed out after {timeout:.0f}s watching for {what} (last: {json.dumps(last)[:2000]})"
        )

    def __enter__(self) -> RolloutWatch:
        return self

    def __exit__(self, *_: object) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)


class Sampler:
    """Samples a reading in the background while a test acts (e.g. the stable's ready replicas
    during a candidate change), so Then can assert on every sample, not only the last state."""

    def __init__(self, read: Callable[[], Any], interval: float = 0.3) -> None:
        self._read = read
        self._interval = interval
        self._stop = threading.Event()
        self.samples: list[Any] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(self._read())
            except Exception as error:  # a failed read is not a sample; the test sees it
                self.errors.append(str(error))
            self._stop.wait(self._interval)
