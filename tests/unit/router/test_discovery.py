"""Discovery over the in-memory apiserver's watches: the ConfigMap and the EndpointSlices reach
the router's snapshot through the project's informers, a missing ConfigMap is reported, and a
change is folded in within a moment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from modelrollout.k8s import FakeKubeClient, InformerTiming
from modelrollout.router import RouterSettings
from modelrollout.router.discovery import Discovery
from modelrollout.router.metrics import RouterMetrics
from modelrollout.router.service import RouterService

from .loopback import config_map, endpoint_slice, two_versions


async def _soon(condition: Callable[[], bool], what: str, within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not within {within}s: {what}"
        await asyncio.sleep(0.01)


def test_discovery_feeds_the_snapshot_from_the_watches() -> None:
    async def scenario() -> None:
        fake = FakeKubeClient()
        for version, port in (("v1", 9001), ("v2", 9002)):
            body = endpoint_slice(f"m-{version}", [port])
            body["metadata"].update(name=f"m-{version}-x", namespace="ns")
            fake.add({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", **body})
        service = RouterService(RouterSettings(namespace="ns", config_map="m-router"), RouterMetrics())
        timing = InformerTiming(watch_timeout_seconds=0.2)
        discovery = Discovery(service, fake, asyncio.get_running_loop(), timing)
        discovery.start()
        try:
            await _soon(lambda: service.config_error is not None, "a missing ConfigMap reported")
            assert service.config_error == "ConfigMap ns/m-router not found" and service.snapshot is None

            cm = {"apiVersion": "v1", "kind": "ConfigMap", **config_map(two_versions(70, 30))}
            cm["metadata"] = {"name": "m-router", "namespace": "ns"}
            fake.add(cm)
            await _soon(lambda: service.snapshot is not None, "the ConfigMap applied")
            assert service.snapshot is not None
            assert {v: p.addresses for v, p in service.snapshot.pods.items()} == {
                "v1": (("127.0.0.1", 9001),),
                "v2": (("127.0.0.1", 9002),),
            }
            fake.delete("EndpointSlice", "ns", "m-v2-x")
            await _soon(
                lambda: service.snapshot is not None and not service.snapshot.pods["v2"], "a slice removed"
            )
        finally:
            await asyncio.to_thread(discovery.stop)

    asyncio.run(scenario())
