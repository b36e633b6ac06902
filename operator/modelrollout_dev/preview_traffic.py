"""Preview clients for a BlueGreen rollout in the tests and the demo: testers (or a replay) call
the candidate's own Service, the one `status.blueGreen.previewService` names, beside the live
clients that the route objects split (`route_traffic`). No data plane runs here, so the simulated
`RoutedTraffic` adds a share of its requests for the version that Service selects, while it names
one whose pods are ready.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .route_traffic import RoutedTraffic

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


@dataclass
class PreviewedTraffic(RoutedTraffic):
    """`RoutedTraffic` (live clients split by the route object) plus preview clients making
    `preview_share` (0..1) of all requests, sent to the preview Service's version while it names
    one whose pods are ready."""

    read_preview: Callable[[], str | None] = lambda: None
    preview_share: float = 0.0
    previewed: dict[str, int] = field(default_factory=dict)
    """Preview requests answered per version."""

    def __post_init__(self) -> None:
        if not 0 < self.preview_share < 1:
            raise ValueError(f"the preview's share of requests is within (0, 1), not {self.preview_share}")
        super().__post_init__()
        self._preview: str | None = None

    def _read_loop(self) -> None:
        reader = threading.Thread(target=self._read_preview_loop, name="preview-reader", daemon=True)
        reader.start()
        self._threads.append(reader)
        super()._read_loop()

    def _read_preview_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._preview = self.read_preview()
            except Exception:  # a transient API error keeps the previous preview
                pass
            self._stop.wait(0.5)

    def _serve(self, pods: dict[str, int]) -> None:
        super()._serve(pods)
        version = self._preview
        if version is None or not pods.get(version):
            return
        share = self.preview_share
        count = int(self._rng.poisson(self.rps * self.tick * share / (1 - share)))
        if count:
            self._record(version, count)
            self.previewed[version] = self.previewed.get(version, 0) + count


def preview_reader(kubectl: Callable[..., Any], namespace: str, rollout: str) -> Callable[[], str | None]:
    """`PreviewedTraffic.read_preview` for the ModelRollout `rollout`."""
    return lambda: preview_version(kubectl, namespace, rollout)
