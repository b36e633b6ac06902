"""The router's HTTP/1.1 server: httptools (llhttp, the parser uvicorn uses) under an asyncio
protocol, requests handled one at a time per connection, each answer written in one buffer.

aiohttp's server spent more CPU per proxied request than the rest of the router together (its
request, response, router and stream objects, per-request header copies, two writes); a router
needs bytes in, bytes out. What stays from a full server: keep-alive and HTTP/1.0, pipelined
requests answered in order, chunked request bodies, `Expect: 100-continue`, body limits counted as
the body arrives (the rest of an oversized body is read and dropped, never kept), a size limit on
the request head, a JSON 400 for a request that is not HTTP, and a graceful stop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from email.utils import formatdate
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any, cast
from urllib.parse import unquote

import httptools
from multidict import CIMultiDict

from .upstream import HOP_BY_HOP

log = logging.getLogger("modelrollout.router")

MAX_HEAD_BYTES = 64 * 1024
"""Request line plus headers; a larger head is answered 431 and the connection closed."""
_PIPELINED = 16
"""Requests parsed ahead of the one being answered before the connection stops reading."""
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class Cookies(Mapping[str, str]):
    """The Cookie headers, parsed on first use: most requests never look."""

    def __init__(self, headers: CIMultiDict[str]) -> None:
        self._headers = headers
        self._parsed: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._parsed is None:
            self._parsed = {}
            for header in self._headers.getall("cookie", ()):
                try:
                    cookie = SimpleCookie(header)
                except CookieError:
                    continue
                self._parsed.update({name: morsel.value for name, morsel in cookie.items()})
        return self._parsed

    def __getitem__(self, name: str) -> str:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class Request:
    """One parsed request, its body read whole (or `too_large`)."""

    __slots__ = (
        "body",
        "body_limit",
        "cookies",
        "headers",
        "keep_alive",
        "method",
        "path",
        "target",
        "too_large",
    )

    def __init__(
        self, method: str, target: str, path: str, headers: CIMultiDict[str], body_limit: int
    ) -> None:
        self.method = method
        self.target = target
        """As sent (path and query, still percent-encoded): what is forwarded."""
        self.path = path
        """Decoded, without the query: what is routed on."""
        self.headers = headers
        """The end-to-end headers (the connection's own are the server's business)."""
        self.body = b""
        self.body_limit = body_limit
        self.too_large = False
        self.keep_alive = True
        self.cookies = Cookies(headers)


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        body: bytes = b"",
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.body = body
        items = list(headers.items() if isinstance(headers, Mapping) else headers)
        if content_type is not None:
            items.append(("Content-Type", content_type))
        self.headers = items


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(payload).encode(), status, headers or (), "application/json; charset=utf-8")


Handler = Callable[[Request], Awaitable[Response]]
BodyLimit = Callable[[str, str], int]
"""(method, decoded path) -> the largest body accepted, in bytes."""

_date: tuple[int, bytes] = (0, b"")


def _date_line() -> bytes:
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, f"Date: {formatdate(now, usegmt=True)}\r\n".encode())
    return _date[1]


def encode(response: Response, keep_alive: bool, head: bool = False) -> bytes:
    """The whole answer in one buffer: status line, headers, Content-Length, body."""
    status = response.status
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in response.headers]
    bodiless = status < 200 or status in (204, 304)
    if not bodiless:
        lines.append(f"Content-Length: {len(response.body)}\r\n")
    if not keep_alive:
        lines.append("Connection: close\r\n")
    out = "".join(lines).encode("latin-1", "replace") + _date_line() + b"\r\n"
    return out if bodiless or head else out + response.body


class _Connection(asyncio.Protocol):
    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.pending: deque[Request] = deque()
        self.busy: asyncio.Task[None] | None = None
        self.closed = False
        self._paused = False
        self._url = b""
        self._head_size = 0
        self._headers: list[tuple[str, str]] = []
        self._chunks: list[bytes] = []
        self._size = 0
        self._request: Request | None = None

    # -- transport --------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "protocol upgrades are not supported by the router")
        except httptools.HttpParserError as error:
            if not self.closed:
                self._refuse(400, f"the request is not valid HTTP/1.1: {error}")

    def _refuse(self, status: int, message: str) -> None:
        """Answer at once and close: the connection can no longer be read reliably."""
        if self.transport is not None and not self.closed:
            body = json_response({"error": message, "code": status}, status)
            self.transport.write(encode(body, keep_alive=False))
        self.close()

    # -- parser callbacks -------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url, self._head_size, self._headers = b"", 0, []
        self._chunks, self._size, self._request = [], 0, None

    def _grow_head(self, size: int) -> bool:
        self._head_size += size
        if self._head_size > MAX_HEAD_BYTES and not self.closed:
            self._refuse(431, f"the request line and headers are larger than {MAX_HEAD_BYTES} bytes")
        return not self.closed

    def on_url(self, url: bytes) -> None:
        if self._grow_head(len(url)):
            self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._grow_head(len(name) + len(value)):
            self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        if self.closed:
            return
        target = self._url.decode("latin-1")
        if not target.startswith("/"):  # absolute form (a proxy request): route on its path
            url = httptools.parse_url(self._url)
            path_bytes = url.path or b"/"
            target = (path_bytes + (b"?" + url.query if url.query else b"")).decode("latin-1")
        path = target.partition("?")[0]
        if "%" in path:
            path = unquote(path)
        method = self.parser.get_method().decode("ascii")
        headers: CIMultiDict[str] = CIMultiDict()
        length = expect = None
        for name, value in self._headers:
            lower = name.lower()
            if lower in HOP_BY_HOP:  # the hop's own: handled here, never forwarded
                if lower == "content-length":
                    length = value
                elif lower == "expect":
                    expect = value
                continue
            headers.add(name, value)
        request = Request(method, target, path, headers, self.server.body_limit(method, path))
        request.keep_alive = self.parser.should_keep_alive()
        if length is not None and length.isdigit() and int(length) > request.body_limit:
            request.too_large = True
        if expect is not None and expect.lower() == "100-continue" and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._request = request

    def on_body(self, body: bytes) -> None:
        request = self._request
        if request is None or request.too_large:
            return  # read and dropped
        self._size += len(body)
        if self._size > request.body_limit:
            request.too_large = True
            self._chunks = []
            return
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        request = self._request
        if request is None or self.closed:
            return
        if self._chunks:
            request.body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._request, self._chunks = None, []
        self.pending.append(request)
        if self.busy is None:
            self.busy = asyncio.get_running_loop().create_task(self._serve())
        elif len(self.pending) >= _PIPELINED and self.transport is not None and not self._paused:
            self._paused = True
            self.transport.pause_reading()

    # -- answering ------------------------------------------------------------------------------------
    async def _serve(self) -> None:
        try:
            while self.pending:
                request = self.pending.popleft()
                try:
                    response = await self.server.handler(request)
                except Exception as error:  # the handler answers errors itself; this is the net
                    log.exception("unexpected error serving %s %s", request.method, request.path)
                    response = json_response({"error": f"the router failed: {error}", "code": 500}, 500)
                if self.closed or self.transport is None:
                    return
                keep = request.keep_alive and not self.server.draining
                self.transport.write(encode(response, keep, head=request.method == "HEAD"))
                if not keep:
                    self.close()
                    return
                if self._paused:
                    self._paused = False
                    self.transport.resume_reading()
        finally:
            self.busy = None


class HttpServer:
    """One listener; `handler` answers every request."""

    def __init__(self, handler: Handler, body_limit: BodyLimit) -> None:
        self.handler = handler
        self.body_limit = body_limit
        self.connections: set[_Connection] = set()
        self.draining = False
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int, backlog: int = 1024) -> int:
        """Listen; the bound port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), host, port, backlog=backlog, reuse_address=True
        )
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1])

    async def stop(self, grace: float) -> None:
        """Stop listening, close idle connections, let requests in flight finish within `grace`
        seconds (answered with `Connection: close`), cancel what is left, close the rest."""
        self.draining = True
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            if connection.busy is None:
                connection.close()
        tasks = [c.busy for c in self.connections if c.busy is not None]
        if tasks:
            _, left = await asyncio.wait(tasks, timeout=grace)
            for task in left:
                task.cancel()
            if left:
                await asyncio.gather(*left, return_exceptions=True)
        for connection in list(self.connections):
            connection.close()
        if self._server is not None:
            await self._server.wait_closed()
