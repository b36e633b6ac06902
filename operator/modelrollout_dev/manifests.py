"""Small manifests the tests and the demo share: workloads that schedule onto kwok's fake nodes."""

from __future__ import annotations

from typing import Any

KWOK_TOLERATION = {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}


def pod_template(labels: dict[str, str], image: str = "registry.local/model-server:1") -> dict[str, Any]:
    """A pod template kwok will run (no container really starts: kwok only fakes the status)."""
    return {
        "metadata": {"labels": dict(labels)},
        "spec": {
            "tolerations": [KWOK_TOLERATION],
            "nodeSelector": {"type": "kwok"},
            "containers": [
                {"name": "model", "image": image, "ports": [{"containerPort": 8080, "name": "http"}]}
            ],
        },
    }


def deployment(name: str, namespace: str, labels: dict[str, str], replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": pod_template(labels),
        },
    }


def service(name: str, namespace: str, selector: dict[str, str], port: int = 80) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": dict(selector), "ports": [{"name": "http", "port": port, "targetPort": 8080}]},
    }
