"""The operator run from its container image, as a Pod would run it, against the local control plane.

kwok nodes run no containers, so `buildah run` plays the kubelet: it starts the image's own
ENTRYPOINT as the image's USER, with a ServiceAccount token directory mounted where the Kubernetes
client's in-cluster configuration reads it and `KUBERNETES_SERVICE_HOST`/`_PORT` naming the local
apiserver (chroot isolation shares the host's network, so 127.0.0.1 reaches it and Prometheus).
The container's root holds no kubeconfig, so the in-cluster path is the only way it can log in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from modelrollout_dev import LocalCluster
from modelrollout_dev.image import buildah_env

from .processes import OperatorProcess

SERVICE_ACCOUNT_DIR = "/run/secrets/kubernetes.io/serviceaccount"
"""Where in-cluster config looks (`/var/run` is a link to `/run` in a Debian root)."""

RUNTIME_PATHS = {"tmp", "run", "proc", "sys", "dev"}
"""Not the image's root: an emptyDir (/tmp) and what a container runtime mounts."""


def image_config(tag: str) -> dict[str, Any]:
    """The OCI config of a local image (`config` holds User, Entrypoint, Cmd, Env)."""
    out = subprocess.run(
        ["buildah", "inspect", "--type", "image", tag], capture_output=True, text=True, check=True, env=buildah_env()
    ).stdout  # fmt: skip
    config: dict[str, Any] = json.loads(out)["OCIv1"]["config"]
    return config


def service_account_dir(cluster: LocalCluster, namespace: str, account: str, directory: Path) -> Path:
    """What the kubelet projects into a Pod: a TokenRequest token, the cluster CA, the namespace;
    readable by the image's non-root user."""
    directory.mkdir(parents=True, exist_ok=True)
    token = cluster.kubectl("create", "token", account, "-n", namespace, "--duration=1h").stdout.strip()
    (directory / "token").write_text(token)
    (directory / "ca.crt").write_bytes((cluster.pki_dir / "ca.crt").read_bytes())
    (directory / "namespace").write_text(namespace)
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)
    return directory


@dataclass
class ImageOperatorProcess(OperatorProcess):
    image: str = ""
    token_dir: Path | None = None
    container: str | None = None

    def _buildah(self, *args: str) -> str:
        return subprocess.run(
            ["buildah", *args], capture_output=True, text=True, check=True, env=buildah_env()
        ).stdout  # fmt: skip

    def exec(self, *argv: str) -> str:
        """A one-off command in the operator's container, as the image's USER."""
        self._ensure_container()
        assert self.container is not None
        return self._buildah("run", self.container, "--", *argv)

    def _ensure_container(self) -> None:
        if self.container is None:
            name = f"modelrollout-e2e-{uuid.uuid4().hex[:8]}"
            self.container = self._buildah("from", "-q", "--name", name, self.image).strip()

    def root_snapshot(self) -> dict[str, tuple[int, int]]:
        """(mtime, size) of every path in the container's root outside /tmp and the mounts a
        runtime provides, to find what a run wrote where a Pod's root would be read-only."""
        self._ensure_container()
        assert self.container is not None
        root = Path(self._buildah("mount", self.container).strip())
        snapshot: dict[str, tuple[int, int]] = {}
        for directory, subdirs, files in os.walk(root):
            relative = os.path.relpath(directory, root)
            if relative.split(os.sep)[0] in RUNTIME_PATHS:
                subdirs[:] = []
                continue
            for name in files + subdirs:
                if relative == "." and name in RUNTIME_PATHS:
                    continue
                stat = os.lstat(os.path.join(directory, name))
                snapshot[os.path.normpath(os.path.join(relative, name))] = (stat.st_mtime_ns, stat.st_size)
        self._buildah("umount", self.container)
        return snapshot

    def start(self) -> None:
        assert self.token_dir is not None, "an image operator needs a ServiceAccount token directory"
        self._ensure_container()
        assert self.container is not None
        server = urlsplit(self.cluster.server)
        config = image_config(self.image)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            ["buildah", "run",
             "-v", f"{self.token_dir}:{SERVICE_ACCOUNT_DIR}:ro",
             "-e", f"KUBERNETES_SERVICE_HOST={server.hostname}", "-e", f"KUBERNETES_SERVICE_PORT={server.port}",
             self.container, "--", *config["Entrypoint"],
             "--namespace", self.namespace, "--resync-seconds", "2", *self.args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=buildah_env(),
            start_new_session=True,  # its own process group: stop() reaches the operator behind buildah
        )  # fmt: skip
        log.close()

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(timeout=5)
            self.proc = None

    def remove(self) -> None:
        """Stop it and delete the container (a vfs copy of the image's root)."""
        self.stop()
        if self.container is not None:
            subprocess.run(["buildah", "rm", self.container], capture_output=True, env=buildah_env())
            self.container = None
