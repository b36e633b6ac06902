"""Requests to a version's pods: round-robin over its ready pods on kept-alive connections, with
the version's timeout, every failure turned into an `UpstreamError` the user can read.

A 5xx answer is returned (it is the version's answer), and `Answer.failed` says it counts as a
failure: the caller retries it on the stable. With `expect_json`, a body that is not JSON is a
failure too (502): a model server returning garbage is treated as down.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict

from ..api.router_config import RouterVersion
from .endpoints import RoundRobin

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
    }
)
"""Headers that belong to one connection, never forwarded (RFC 9110 7.6.1), plus those aiohttp
sets itself."""
_NOT_RETURNED = HOP_BY_HOP | {"content-encoding", "date", "server"}
"""Also dropped from a version's answer: aiohttp has decoded the body, and the router answers."""


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


def forwarded_headers(headers: Mapping[str, str], extra: Mapping[str, str]) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in HOP_BY_HOP:
            out.add(name, value)
    for name, value in extra.items():
        out[name] = value
    return out


def returned_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in _NOT_RETURNED:
            out.add(name, value)
    return out


class Upstream:
    """One connection pool (a `ClientSession`) to every version's pods."""

    def __init__(self, connections: int = 0) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=30.0, use_dns_cache=False)
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=True, skip_auto_headers=("User-Agent",)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(
        self,
        version: RouterVersion,
        pods: RoundRobin | None,
        method: str,
        path_qs: str,
        headers: Mapping[str, str],
        body: bytes,
        expect_json: bool,
    ) -> Answer:
        assert self._session is not None, "start() first"
        address = pods.next() if pods is not None else None
        started = time.perf_counter()
        if address is None:
            raise UpstreamError(version.name, 503, f"version {version.name} has no ready pods", 0.0)
        url = f"http://{address[0]}:{address[1]}{path_qs}"
        try:
            async with self._session.request(
                method,
                url,
                data=body if body else None,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=version.timeout_seconds),
                allow_redirects=False,
            ) as response:
                content = await response.read()
                status, answer_headers = response.status, returned_headers(response.headers)
        except TimeoutError:
            raise UpstreamError(
                version.name,
                504,
                f"version {version.name} did not answer within {version.timeout_seconds:g}s",
                time.perf_counter() - started,
            ) from None
        except aiohttp.ClientError as error:
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
        return Answer(version.name, status, content, answer_headers, latency, payload)
