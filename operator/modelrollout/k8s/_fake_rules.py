"""What the in-memory apiserver (`fake.FakeKubeClient`) does as the real one does: JSON merge
patches and the few checks of apps/v1 Deployment validation a test is likely to meet. Apart so the fake's store and its calls read on their own."""

from __future__ import annotations

import copy

from ._protocol import KubeError, Obj


def merge(target: Obj, patch: Obj) -> None:
    """RFC 7386 in place: objects merge, None deletes, anything else (lists too) replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def validate_deployment(namespace: str, body: Obj) -> None:
    """The few checks of apps/v1 validation a test is likely to meet (422 Invalid)."""
    meta = body["metadata"]
    if meta["namespace"] != namespace:
        raise KubeError(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    problems = [] if meta.get("name") else ["metadata.name: Required value"]
    spec = body["spec"]
    template_labels = (spec.get("template", {}).get("metadata") or {}).get("labels") or {}
    wanted = (spec.get("selector") or {}).get("matchLabels") or {}
    if not wanted or any(template_labels.get(k) != v for k, v in wanted.items()):
        problems.append(
            "spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"
        )
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    if not containers:
        problems.append("spec.template.spec.containers: Required value")
    for index, container in enumerate(containers):
        if not container.get("image"):
            problems.append(f"spec.template.spec.containers[{index}].image: Required value")
    if problems:
        name = meta.get("name", "")
        raise KubeError(422, "Invalid", f'Deployment.apps "{name}" is invalid: {", ".join(problems)}')
