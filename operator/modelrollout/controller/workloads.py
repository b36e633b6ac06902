"""The Deployment of one model version: name, labels, selector, template.

The selector is (rollout, version) so versions never adopt each other's pods; the pods also carry
`modelrollout.io/model`, which is what the user's Service selects, so every version behind it
gets traffic in proportion to its ready replicas (the `replicas` provider).
"""

from __future__ import annotations

import copy
from typing import Any

from ..api.v1alpha1 import LABEL_MODEL, LABEL_ROLLOUT, LABEL_VERSION

MANAGED_BY = {"app.kubernetes.io/managed-by": "modelrollout"}


def deployment_name(rollout_name: str, version: str) -> str:
    return f"{rollout_name}-{version}"


def listed_name(deployment: dict[str, Any]) -> str:
    """The name of a version's Deployment as listed by its labels. The operator addresses a
    Deployment by the name it carries, never by `deployment_name`: that name may belong to
    another rollout's version (`a` + `b-c` and `a-b` + `c` both give `a-b-c`)."""
    return str(deployment["metadata"]["name"])


def version_labels(rollout_name: str, model: str, version: str) -> dict[str, str]:
    return {LABEL_ROLLOUT: rollout_name, LABEL_MODEL: model, LABEL_VERSION: version}


def rollout_selector(rollout_name: str) -> str:
    """The label selector of every version's Deployments and pods of one rollout (and so the
    scale subresource's `status.selector`)."""
    return f"{LABEL_ROLLOUT}={rollout_name}"


def selector_labels(rollout_name: str, version: str) -> dict[str, str]:
    return {LABEL_ROLLOUT: rollout_name, LABEL_VERSION: version}


def build_deployment(
    *,
    rollout_name: str,
    namespace: str,
    model: str,
    version: str,
    template: dict[str, Any],
    owner: dict[str, Any] | None,
    replicas: int = 0,
) -> dict[str, Any]:
    """A Deployment for `version` from the user's PodTemplateSpec, created at `replicas` (zero by
    default: the traffic step sizes it, so creating never shifts traffic by itself)."""
    labels = version_labels(rollout_name, model, version)
    pod_template = copy.deepcopy(template)
    metadata = pod_template.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    annotations = metadata.setdefault("annotations", {})
    annotations[LABEL_VERSION] = version
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": deployment_name(rollout_name, version),
            "namespace": namespace,
            "labels": {**labels, **MANAGED_BY},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector_labels(rollout_name, version)},
            "template": pod_template,
        },
    }
    if owner is not None:
        body["metadata"]["ownerReferences"] = [owner]
    return body
