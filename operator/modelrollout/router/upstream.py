"""Requests to a version's pods: round-robin over its ready pods on kept-alive connections
(`http1.Http1Pool`), with the version's timeout, every failure turned into an `UpstreamError` the
user can read.

A 5xx answer is returned (it is the version's answer), and `Answer.failed` says it counts as a
failure: the caller retries it on the stable. With `expect_json`, a body that is not JSON is a
failure too (502): a model server returning garbage is treated as down. Model calls are sent
without the client's Accept-Encoding, so the router can read their answers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDict

from ..api.router_config import RouterVersion
from .endpoints import Address, RoundRobin
from .http1 import Http1Pool, ProtocolError

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",
    }
)
"""Headers that belong to one connection, never forwarded (RFC 9110 7.6.1), plus those the router
sets itself (Host, Content-Length) and Expect (the router already read the body)."""
_NOT_RETURNED = HOP_BY_HOP | {"date", "server"}
"""Also dropped from a version's answer: the router's own server sets them."""


@dataclass(frozen=True)
class Forward:
    """What is sent to a version: the user's request as the router forwards it."""

    method: str
    path_qs: str
    headers: Mapping[str, str]
    body: bytes
    model_call: bool
    """A prediction, inference or ranking: its answer must be JSON, and it is counted."""


@dataclass(frozen=True)
class Answer:
    version: str
    status: int
    body: bytes
    headers: CIMultiDict[str]
    latency: float
    payload: Any = None
    """The parsed JSON body (with `expect_json`)."""

    @property
    def failed(self) -> bool:
        return self.status >= 500


class UpstreamError(Exception):
    """The version gave no usable answer: `status` is what the user gets (502, 503 or 504)."""

    def __init__(self, version: str, status: int, message: str, latency: float) -> None:
        super().__init__(message)
        self.version = version
        self.status = status
        self.message = message
        self.latency = latency


def returned_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in _NOT_RETURNED:
            out.add(name, value)
    return out


class Upstream:
    """One connection pool to every version's pods."""

    def __init__(self, idle_per_pod: int = 64) -> None:
        self._pool = Http1Pool(idle_per_pod)

    async def start(self) -> None:
        """Nothing to open: connections are made on first use."""

    async def close(self) -> None:
        self._pool.close()

    def keep_only(self, addresses: set[tuple[str, int]]) -> None:
        self._pool.keep_only(addresses)

    async def call(self, version: RouterVersion, pods: RoundRobin | None, forward: Forward) -> Answer:
        expect_json, headers = forward.model_call, forward.headers
        address = pods.next() if pods is not None else None
        if pods is None or address is None:
            raise UpstreamError(version.name, 503, f"version {version.name} has no ready pods", 0.0)
        if expect_json and "accept-encoding" in headers:
            headers = {k: v for k, v in headers.items() if k.lower() != "accept-encoding"}
        started = time.perf_counter()
        try:
            status, answer_headers, content = await self._request(address, pods, version, forward, headers)
        except TimeoutError:
            raise UpstreamError(
                version.name,
                504,
                f"version {version.name} did not answer within {version.timeout_seconds:g}s",
                time.perf_counter() - started,
            ) from None
        except (OSError, ProtocolError) as error:
            raise UpstreamError(
                version.name,
                502,
                f"version {version.name} ({address[0]}:{address[1]}) failed: {error or type(error).__name__}",
                time.perf_counter() - started,
            ) from None
        latency = time.perf_counter() - started
        payload = None
        if expect_json and status < 500:
            try:
                payload = json.loads(content)
            except ValueError:
                raise UpstreamError(
                    version.name, 502, f"version {version.name} answered a body that is not JSON", latency
                ) from None
        return Answer(version.name, status, content, returned_headers(answer_headers), latency, payload)

    async def _request(
        self,
        address: Address,
        pods: RoundRobin,
        version: RouterVersion,
        forward: Forward,
        headers: Mapping[str, str],
    ) -> tuple[int, CIMultiDict[str], bytes]:
        """Send to `address`; a pod that refuses the connection never saw the request (listed
        ready before it listens, or gone before its endpoint is), so the version's other pods are
        tried in turn, each once, as a mesh's proxy does on a connect failure. Any other failure
        is the version's."""
        attempts = max(len(pods), 1)
        for attempt in range(1, attempts + 1):
            try:
                return await self._pool.request(
                    address, forward.method, forward.path_qs, headers, forward.body, version.timeout_seconds
                )
            except ConnectionRefusedError:
                if attempt == attempts:
                    raise
                address = pods.next() or address
        raise AssertionError("unreachable: the last attempt returns or raises")
