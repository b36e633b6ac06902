"""A router without Kubernetes: the configuration from a file and the pods from the command line.

For teams with no cluster API to read (and for benchmarks on loopback, where EndpointSlices could
not list 127.0.0.1): `--config-file router.json --endpoints SERVICE=HOST:PORT[,HOST:PORT...]`.
The file is polled for changes, so editing it applies as a ConfigMap change does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from ..api.router_config import CONFIG_KEY
from .endpoints import SERVICE_LABEL
from .service import RouterService

log = logging.getLogger("modelrollout.router")

POLL_SECONDS = 0.25


def parse_endpoints(specs: list[str]) -> dict[str, list[dict[str, Any]]]:
    """`SERVICE=HOST:PORT,...` flags as the EndpointSlices such a Service would have (every
    endpoint ready, its port named `http`, so a version's `port` may be the number or `http`)."""
    slices: dict[str, list[dict[str, Any]]] = {}
    for spec in specs:
        service, sep, addresses = spec.partition("=")
        if not sep or not service or not addresses:
            raise ValueError(f"--endpoints {spec!r}: expected SERVICE=HOST:PORT[,HOST:PORT...]")
        for address in addresses.split(","):
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"--endpoints {spec!r}: {address!r} is not HOST:PORT")
            slices.setdefault(service, []).append(
                {
                    "metadata": {"labels": {SERVICE_LABEL: service}},
                    "addressType": "IPv6" if ":" in host.strip("[]") else "IPv4",
                    "endpoints": [{"addresses": [host.strip("[]")], "conditions": {"ready": True}}],
                    "ports": [{"name": "http", "port": int(port)}],
                }
            )
    return slices


class StaticSource:
    def __init__(self, service: RouterService, config_file: Path, endpoints: list[str]) -> None:
        self.service = service
        self.config_file = config_file
        self.slices = parse_endpoints(endpoints)
        self._seen: tuple[float, int] | None = None
        self._task: asyncio.Task[None] | None = None

    def load(self) -> None:
        try:
            stat = self.config_file.stat()
        except OSError as error:
            if self.service.config is None:
                self.service.config_error = f"cannot read {self.config_file}: {error}"
            return
        if self._seen == (stat.st_mtime, stat.st_size):
            return
        self._seen = (stat.st_mtime, stat.st_size)
        text = self.config_file.read_text()
        self.service.config_map_changed(
            {"metadata": {"name": str(self.config_file)}, "data": {CONFIG_KEY: text}}
        )

    def start(self) -> None:
        self.service.slices_changed(self.slices)
        self.load()
        self._task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            self.load()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
