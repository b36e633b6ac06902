"""Changes made with kubectl, as a person, an HPA or another team would make them: the operator
only sees their effect. Given and When use them too, so each command is written once."""

from __future__ import annotations

import json

from modelrollout_dev.manifests import service

from .env import Env


def create_service(env: Env, model: str) -> None:
    body = service(model, env.namespace, {"modelrollout.io/model": model})
    env.cluster.kubectl("apply", "-f", "-", input=json.dumps(body))


def delete_service(env: Env, model: str) -> None:
    env.cluster.kubectl("delete", "service", model, "-n", env.namespace, "--wait=true")


def scale_deployment(env: Env, name: str, replicas: int) -> None:
    """As an HPA or a person would: straight on the Deployment, behind the operator's back."""
    env.cluster.kubectl("scale", "deployment", name, "-n", env.namespace, f"--replicas={replicas}")


def annotate_action(env: Env, text: str, name: str | None = None) -> None:
    """Any text as the action annotation, valid or not."""
    env.cluster.kubectl(
        "annotate", "modelrollout", name or env.name, "-n", env.namespace,
        f"modelrollout.io/action={text}", "--overwrite",
    )  # fmt: skip


def scale_rollout(env: Env, replicas: int) -> None:
    """`kubectl scale` on the ModelRollout: a write to its scale subresource."""
    env.cluster.kubectl("scale", "modelrollout", env.name, "-n", env.namespace, f"--replicas={replicas}")


def autoscale_rollout(env: Env, min_replicas: int, max_replicas: int) -> None:
    """An autoscaling/v2 HorizontalPodAutoscaler on the ModelRollout (its scale subresource), on
    CPU; created or changed. Without metrics-server the HPA controller reads no CPU: it only
    holds the rollout's `spec.replicas` inside [minReplicas, maxReplicas]."""
    body = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": env.name, "namespace": env.namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "modelrollout.io/v1alpha1", "kind": "ModelRollout", "name": env.name},
            "minReplicas": min_replicas, "maxReplicas": max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70},
            }}],
        },
    }  # fmt: skip
    env.cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
