"""What the in-memory apiserver (`fake.FakeKubeClient`) does as the real one does: JSON merge
patches, equality-based label selectors, and the few checks of apps/v1 Deployment validation a
test is likely to meet. Apart so the fake's store and its calls read on their own."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

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


def selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated (all must
    hold). Set-based ones (`in`, `notin`) are a 400 here: the operator does not send them."""
    requirements: list[tuple[str, str, str]] = []  # (key, operator, value)
    for raw in filter(None, (part.strip() for part in text.split(","))):
        if " in " in raw or " notin " in raw or "(" in raw:
            raise KubeError(400, "BadRequest", f"set-based selector {raw!r} not supported by the fake")
        for operator in ("!=", "==", "="):
            if operator in raw:
                key, value = (side.strip() for side in raw.split(operator, 1))
                requirements.append((key, "!=" if operator == "!=" else "=", value))
                break
        else:
            negated = raw.startswith("!")
            requirements.append((raw.lstrip("!").strip(), "!exists" if negated else "exists", ""))

    def holds(labels: Mapping[str, str], key: str, operator: str, value: str) -> bool:
        if operator == "exists":
            return key in labels
        if operator == "!exists":
            return key not in labels
        return (labels.get(key) == value) == (operator == "=")

    return lambda labels: all(holds(labels, *requirement) for requirement in requirements)


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
