"""A version's pods from its Service's EndpointSlices: ready endpoints only, on the target port.

The router connects to pod IPs, never to the ClusterIP: there may be no kube-proxy (there is none
locally), and choosing the pod itself is what keeps a split exact and a connection pool per pod.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

Address = tuple[str, int]
"""(host as it goes into a URL, port)."""

SERVICE_LABEL = "kubernetes.io/service-name"
"""The label an EndpointSlice carries with the name of its Service."""


def _slice_port(endpoint_slice: dict[str, Any], port: int | str) -> int | None:
    if isinstance(port, int):
        return port
    for candidate in endpoint_slice.get("ports") or []:
        if candidate.get("name") == port and candidate.get("port") is not None:
            return int(candidate["port"])
    return None


def ready_addresses(slices: Iterable[dict[str, Any]], port: int | str) -> list[Address]:
    """The ready endpoints' addresses on `port` (a number, or a port name of the slices); an
    endpoint whose `ready` condition is unset counts as ready, as the API defines it."""
    found: list[Address] = []
    for endpoint_slice in slices:
        family = endpoint_slice.get("addressType")
        if family not in ("IPv4", "IPv6"):
            continue
        number = _slice_port(endpoint_slice, port)
        if number is None:
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            for address in (endpoint.get("addresses") or [])[:1]:
                host = f"[{address}]" if family == "IPv6" else str(address)
                found.append((host, number))
    return sorted(set(found), key=found.index)


class RoundRobin:
    """A version's ready pods, taken in turn."""

    def __init__(self, addresses: Sequence[Address]) -> None:
        self.addresses = tuple(addresses)
        self._turns = itertools.cycle(self.addresses)

    def __len__(self) -> int:
        return len(self.addresses)

    def next(self) -> Address | None:
        return next(self._turns, None)
