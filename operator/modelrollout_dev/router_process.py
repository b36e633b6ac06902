"""The model router as its own process, the way the demo and the e2e tests run it: on a
ServiceAccount allowed exactly `ROUTER_ROLE_RULES`, watching one rollout's ConfigMap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from modelrollout.api.router_config import ROUTER_ROLE_RULES, config_map_name

from .cluster import LocalCluster
from .tools import repo_root

__all__ = ["grant_router", "router_ready", "start_router"]


def grant_router(cluster: LocalCluster, namespace: str, account: str, kubeconfig: Path) -> Path:
    """A ServiceAccount of its own, a Role of exactly `ROUTER_ROLE_RULES` bound to it, and a
    kubeconfig with its token at `kubeconfig`: a router that asks for more is refused, so a
    test or the demo would show it."""
    meta = {"name": account, "namespace": namespace}
    items = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
         "rules": [dict(rule) for rule in ROUTER_ROLE_RULES]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
         "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]},
    ]  # fmt: skip
    cluster.kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )
    return cluster.service_account_kubeconfig(namespace, account, kubeconfig)


def start_router(
    namespace: str, rollout: str, port: int, kubeconfig: Path, log: Path
) -> subprocess.Popen[bytes]:
    """`python -m modelrollout.router` on 127.0.0.1:`port` (requests and /metrics) for the
    rollout's ConfigMap, its output in `log`; a short shutdown grace so a test ends quickly."""
    env = dict(os.environ, PYTHONPATH=f"{repo_root() / 'operator'}:{repo_root()}")
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "modelrollout.router", "--namespace", namespace,
             "--config-map", config_map_name(rollout), "--listen", f"127.0.0.1:{port}",
             "--kubeconfig", str(kubeconfig), "--shutdown-grace", "2"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip


def router_ready(url: str) -> bool:
    """The router answers /readyz: it has a valid configuration and a ready pod."""
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
