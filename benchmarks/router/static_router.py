"""`python -m benchmarks.router.static_router`: the model router (one process, uvloop) with its
configuration and backends given on the command line instead of watched from an apiserver.

The data plane is `modelrollout.router`'s own; only discovery differs: the benchmark feeds the
ConfigMap payload and the EndpointSlices the watch would deliver, so the numbers measure request
handling, not the control plane (which a benchmark on loopback has no business including).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

import uvloop

from modelrollout.api.router_config import CONFIG_KEY
from modelrollout.router import RouterServer, RouterSettings

MODEL = "bench"


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def config(
    backends: dict[str, tuple[str, int]], weights: dict[str, float], shadow: str | None
) -> dict[str, Any]:
    """The ConfigMap payload: each version a Service `bench-<version>`, `shadow` copied to."""
    payload: dict[str, Any] = {
        "model": MODEL,
        "versions": [
            {
                "name": version,
                "service": f"{MODEL}-{version}",
                "port": "http",
                "weight": weights.get(version, 0.0),
            }
            for version in backends
        ],
    }
    if shadow is not None:
        payload["shadow"] = {"version": shadow, "sampleRate": 1.0, "maxConcurrency": 256}
    return payload


def endpoint_slice(service: str, host: str, port: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{service}-bench", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [host], "conditions": {"ready": True}}],
        "ports": [{"name": "http", "port": port}],
    }


async def serve(
    listen: tuple[str, int], payload: dict[str, Any], backends: dict[str, tuple[str, int]]
) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    router = RouterServer(
        RouterSettings(namespace="bench", config_map=f"{MODEL}-router", host=listen[0], port=listen[1]),
        seed=1,
    )
    await router.start()
    router.service.config_map_changed(
        {"metadata": {"name": f"{MODEL}-router"}, "data": {CONFIG_KEY: json.dumps(payload)}}
    )
    router.service.slices_changed(
        {
            f"{MODEL}-{version}": [endpoint_slice(f"{MODEL}-{version}", *address)]
            for version, address in backends.items()
        }
    )
    ready, why = router.service.ready()
    if not ready:
        raise SystemExit(f"the router is not ready: {why}")
    print(f"listening on {listen[0]}:{router.port}", flush=True)
    await stopping.wait()
    await router.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.router.static_router", description=__doc__)
    parser.add_argument("--listen", required=True, type=_host_port)
    parser.add_argument("--backend", action="append", required=True, help="VERSION=HOST:PORT")
    parser.add_argument("--weight", action="append", default=[], help="VERSION=PERCENT")
    parser.add_argument("--shadow", help="a version every request is copied to")
    args = parser.parse_args(argv)
    backends = {item.split("=")[0]: _host_port(item.split("=")[1]) for item in args.backend}
    weights = {item.split("=")[0]: float(item.split("=")[1]) for item in args.weight}
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(args.listen, config(backends, weights, args.shadow), backends))
    return 0


if __name__ == "__main__":
    sys.exit(main())
