"""Objects of any kind by apiVersion and kind (HTTPRoutes, VirtualServices, DestinationRules, the
per-version Services), read, server-side applied and deleted: what the traffic providers write.

The kind's resource name comes from API discovery (`/api/v1`, `/apis/<group>/<version>`), asked
once per apiVersion that is served; a kind that is not served (its CRDs are not installed) is
`KindNotServed`, asked again at the next call, so CRDs installed later are found without a
restart. Writes are server-side apply (`application/apply-patch+yaml`) with the caller's field
manager and `force`: the fields the manifest names become that manager's, every other field
keeps its manager.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ._protocol import KindNotServed, NotFound, Obj


class DynamicObjects:
    """The calls, over a kubernetes `ApiClient`; errors wrapped by `call` (the module's `_call`)."""

    def __init__(self, api_client: Any, timeout: float, call: Any) -> None:
        self._api = api_client
        self._timeout = timeout
        self._call = call
        self._plurals: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def get_object(self, api_version: str, kind: str, namespace: str, name: str) -> Obj:
        try:
            found: Obj = self._request("GET", self._path(api_version, kind, namespace, name))
        except NotFound:
            self._forget(api_version)
            self._path(api_version, kind, namespace, name)  # KindNotServed if the CRD went away
            raise
        return found

    def create_object(self, body: Obj) -> Obj:
        metadata = body["metadata"]
        path = self._path(body["apiVersion"], body["kind"], metadata["namespace"], metadata["name"])
        created: Obj = self._request("POST", path.rsplit("/", 1)[0], body=body)
        return created

    def apply_object(self, body: Obj, field_manager: str, dry_run: bool = False) -> Obj:
        metadata = body["metadata"]
        path = self._path(body["apiVersion"], body["kind"], metadata["namespace"], metadata["name"])
        query = [("fieldManager", field_manager), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        applied: Obj = self._request(
            "PATCH", path, query=query, body=json.dumps(body), content_type="application/apply-patch+yaml"
        )
        return applied

    def delete_object(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        try:
            self._request("DELETE", self._path(api_version, kind, namespace, name))
        except NotFound:
            pass

    def _path(self, api_version: str, kind: str, namespace: str, name: str) -> str:
        plural = self.plural(api_version, kind)
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        return f"{prefix}/namespaces/{namespace}/{plural}/{name}"

    def plural(self, api_version: str, kind: str) -> str:
        """The kind's resource name (`httproutes`), from discovery; `KindNotServed` when none."""
        with self._lock:
            known = self._plurals.get(api_version)
        if known is None:
            prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            try:
                listing = self._request("GET", prefix)
            except NotFound:
                raise KindNotServed(api_version, kind) from None
            known = {
                resource["kind"]: resource["name"]
                for resource in listing.get("resources", [])
                if "/" not in resource["name"]  # subresources (status, scale) share the kind
            }
            with self._lock:
                self._plurals[api_version] = known
        if kind not in known:
            raise KindNotServed(api_version, kind)
        return known[kind]

    def _forget(self, api_version: str) -> None:
        with self._lock:
            self._plurals.pop(api_version, None)

    def _request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        body: Obj | str | None = None,
        content_type: str = "application/json",
    ) -> Obj:
        def send() -> Obj:
            request = self._api.param_serialize(
                method, path, query_params=query or [],
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body, auth_settings=["BearerToken"],
            )  # fmt: skip
            answer = self._api._call_with_legacy_options(
                request, {"200": "object", "201": "object"}, False, True, self._timeout, True
            )
            return dict(answer or {})

        result: Obj = self._call(send)
        return result
