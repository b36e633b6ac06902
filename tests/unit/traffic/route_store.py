"""An in-memory `RouteClient` for the providers' unit tests: objects by (kind, name), the kinds the
"cluster" serves, and every write recorded (the real one is tested on the control plane)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from modelrollout.api.v1alpha1 import Reason
from modelrollout.traffic import RouteUnavailable


class RouteStore:
    def __init__(self, *objects: dict[str, Any], served: set[str] | None = None) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.served = served
        """Kinds the cluster serves; None: every kind."""
        self.writes: list[tuple[str, str, str]] = []
        for obj in objects:
            self.objects[(obj["kind"], obj["metadata"]["name"])] = copy.deepcopy(obj)

    def get_route(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        if self.served is not None and kind not in self.served:
            raise RouteUnavailable(Reason.TRAFFIC_API_NOT_FOUND, f"{api_version} {kind} is not served")
        found = self.objects.get((kind, name))
        return copy.deepcopy(found) if found is not None else None

    def create_route(self, manifest: Mapping[str, Any]) -> None:
        key = (manifest["kind"], manifest["metadata"]["name"])
        if key not in self.objects:
            self.writes.append(("create", *key))
            self.objects[key] = copy.deepcopy(dict(manifest))

    def apply_route(self, manifest: Mapping[str, Any]) -> None:
        """Server-side apply, as far as these providers use it: the fields sent replace those
        stored (the providers send whole atomic lists), every other field stays."""
        key = (manifest["kind"], manifest["metadata"]["name"])
        self.writes.append(("apply", *key))
        stored = self.objects.setdefault(key, {"apiVersion": manifest["apiVersion"], "kind": key[0]})
        stored["metadata"] = {**stored.get("metadata", {}), **copy.deepcopy(manifest["metadata"])}
        stored["spec"] = {**stored.get("spec", {}), **copy.deepcopy(manifest.get("spec") or {})}

    def delete_route(self, api_version: str, kind: str, name: str) -> None:
        if self.objects.pop((kind, name), None) is not None:
            self.writes.append(("delete", kind, name))

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return self.objects[(kind, name)]
