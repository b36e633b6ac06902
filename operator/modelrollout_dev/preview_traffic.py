"""Preview clients for a BlueGreen rollout in the tests and the demo: testers (or a replay) call
the candidate's own Service, the one `status.blueGreen.previewService` names, beside the live
clients that the route objects split (`route_traffic`). No data plane runs here, so the simulated
`ModelTraffic` adds a share of its requests for the version that Service selects, while it names
one whose pods are ready.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .model_traffic import ready_pods_reader

VERSION_LABEL = "modelrollout.io/version"


def preview_version(kubectl: Callable[..., Any], namespace: str, rollout: str) -> str | None:
    """The version behind the preview Service the ModelRollout's status names, if any."""
    found = kubectl("get", "modelrollouts.modelrollout.io", rollout, "-n", namespace, "-o", "json")
    staged = (json.loads(found.stdout).get("status") or {}).get("blueGreen") or {}
    service = staged.get("previewService")
    if not service:
        return None
    answer = kubectl("get", "service", service, "-n", namespace, "-o", "json", check=False)
    if answer.returncode != 0:
        return None
    selector = (json.loads(answer.stdout).get("spec") or {}).get("selector") or {}
    version = selector.get(VERSION_LABEL)
    return str(version) if version else None


def with_preview(
    live: Callable[[], dict[str, int]],
    kubectl: Callable[..., Any],
    namespace: str,
    model: str,
    rollout: str,
    share: float,
) -> Callable[[], dict[str, int]]:
    """`ModelTraffic.ready_pods` for live clients split by `live` plus preview clients making
    `share` (0..1) of all requests, sent to the preview Service's version while it has ready pods."""
    if not 0 < share < 1:
        raise ValueError(f"the preview's share of requests is within (0, 1), not {share}")
    pods = ready_pods_reader(kubectl, namespace, model)

    def read() -> dict[str, int]:
        split = dict(live())
        version = preview_version(kubectl, namespace, rollout)
        if version is None or not pods().get(version) or not split:
            return split
        split[version] = split.get(version, 0) + round(sum(split.values()) * share / (1 - share))
        return split

    return read
