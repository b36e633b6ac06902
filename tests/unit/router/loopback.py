"""In-process model servers and a router on loopback, for the router's HTTP-level tests.

A `Backend` answers both protocols with a score (or a ranked list), after a settable delay, with
settable failures; the router is fed its ConfigMap and EndpointSlices directly (no apiserver:
that is the integration test's part).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from modelrollout.api.router_config import CONFIG_KEY
from modelrollout.router import RouterServer, RouterSettings


@dataclass
class Backend:
    version: str
    score: float = 0.3
    delay: float = 0.0
    status: int = 200
    garbage: bool = False
    ranking: list[Any] | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append({"path": request.path_qs, "headers": CIMultiDict(request.headers), "body": body})
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.garbage:
            return web.Response(body=b"\x00garbage<html>", content_type="text/html")
        if self.status >= 400:
            return web.json_response({"error": f"{self.version} fails"}, status=self.status)
        if request.path.endswith(":predict"):
            payload: dict[str, Any] = {"predictions": [self.score]}
            if self.ranking is not None:
                payload = {"predictions": [{"ranking": self.ranking}]}
        elif request.path.endswith(":rank"):
            payload = {"ranking": self.ranking or []}
        elif request.path.endswith("/infer"):
            payload = {
                "model_name": "m",
                "outputs": [{"name": "score", "datatype": "FP32", "shape": [1], "data": [self.score]}],
            }
        else:
            payload = {"path": request.path_qs, "version": self.version}
        return web.json_response(payload, headers={"x-served-by": self.version})

    async def start(self) -> Backend:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def endpoint_slice(service: str, ports: list[int], ready: bool = True) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{service}-abc", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": ready}}],
        "ports": [{"name": "http", "port": port} for port in ports],
    }


def config_map(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "m-router", "resourceVersion": "1"},
        "data": {CONFIG_KEY: json.dumps(payload)},
    }


def two_versions(stable: int = 90, candidate: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "versions": [
            {"name": "v1", "service": "m-v1", "port": "http", "weight": stable, "timeoutSeconds": 2},
            {"name": "v2", "service": "m-v2", "port": "http", "weight": candidate, "timeoutSeconds": 2},
        ],
        **extra,
    }


@asynccontextmanager
async def routed(
    payload: dict[str, Any], *backends: Backend, seed: int = 1, **settings: Any
) -> AsyncIterator[tuple[RouterServer, str]]:
    """A started router serving `payload` over `backends` (their version names are their
    Services' `m-<version>`), and its base URL."""
    for backend in backends:
        await backend.start()
    router = RouterServer(
        RouterSettings(namespace="ns", config_map="m-router", host="127.0.0.1", port=0, **settings), seed=seed
    )
    await router.start()
    router.service.config_map_changed(config_map(payload))
    router.service.slices_changed(
        {f"m-{b.version}": [endpoint_slice(f"m-{b.version}", [b.port])] for b in backends}
    )
    try:
        yield router, f"http://127.0.0.1:{router.port}"
    finally:
        await router.stop()
        for backend in backends:
            await backend.stop()
