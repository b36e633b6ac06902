"""A small HTTP/1.1 client for the router's hop to the pods: kept-alive connections per pod,
one request at a time on each, bodies read whole.

aiohttp's client spent about as much CPU per proxied request as everything else the router does
(its request and response objects, cookie jar, tracing hooks); a router needs none of that. This
client writes the request in one buffer and parses the answer in place: status line, headers,
then a Content-Length body, a chunked one, or one that ends with the connection.
A request that fails on a reused connection before any byte of an answer came back (the pod
closed it while idle) is sent again once on a new connection, as proxies do.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from typing import cast

from multidict import CIMultiDict

Address = tuple[str, int]


class ProtocolError(Exception):
    """The pod's answer is not HTTP/1.1 the client can read."""


class _Stale(Exception):
    """A reused connection closed before answering: retry on a new one."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.reused = False
        self.expired = False
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool | None:
        self.closed = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def expire(self) -> None:
        """The request's time is up: the wait for its answer raises TimeoutError."""
        self.expired = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(TimeoutError())

    async def more(self) -> None:
        """Wait for more bytes (or the end of the connection)."""
        if self.expired:
            raise TimeoutError()
        if self.closed:
            raise ConnectionResetError("the pod closed the connection mid-answer")
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


async def _read_head(conn: _Connection) -> tuple[int, CIMultiDict[str], int]:
    """(status, headers, offset of the body in the buffer)."""
    while True:
        end = conn.buffer.find(b"\r\n\r\n")
        if end >= 0:
            break
        if conn.closed:
            if not conn.buffer and conn.reused:
                raise _Stale()
            raise ConnectionResetError("the pod closed the connection before answering")
        if len(conn.buffer) > 64 * 1024:
            raise ProtocolError("the answer's headers are larger than 64 KiB")
        await conn.more()
    lines = bytes(conn.buffer[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError(f"not a header line: {line[:80]!r}")
        headers.add(name.strip(), value.strip())
    return int(parts[1]), headers, end + 4


async def _read_chunked(conn: _Connection, start: int) -> tuple[bytes, int]:
    body = bytearray()
    position = start
    while True:
        line_end = conn.buffer.find(b"\r\n", position)
        if line_end < 0:
            await conn.more()
            continue
        size_text = bytes(conn.buffer[position:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:  # then trailers, if any, and an empty line
            while (trailer_end := conn.buffer.find(b"\r\n\r\n", line_end)) < 0:
                await conn.more()
            return bytes(body), trailer_end + 4
        chunk_start = line_end + 2
        while len(conn.buffer) < chunk_start + size + 2:
            await conn.more()
        body += conn.buffer[chunk_start : chunk_start + size]
        position = chunk_start + size + 2


async def _read_answer(conn: _Connection, head_only: bool) -> tuple[int, CIMultiDict[str], bytes, bool]:
    """(status, headers, body, whether the connection can be reused)."""
    status, headers, start = await _read_head(conn)
    keep = headers.get("connection", "").lower() != "close"
    if head_only or status in (204, 304) or 100 <= status < 200:
        end, body = start, b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body, end = await _read_chunked(conn, start)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        while len(conn.buffer) < start + length:
            await conn.more()
        body, end = bytes(conn.buffer[start : start + length]), start + length
    else:  # the body ends with the connection
        while not conn.closed:
            await conn.more()
        body, end, keep = bytes(conn.buffer[start:]), len(conn.buffer), False
    del conn.buffer[:end]
    return status, headers, body, keep and not conn.buffer and not conn.closed


class Http1Pool:
    """Idle connections per pod, at most `idle_per_pod` kept."""

    def __init__(self, idle_per_pod: int = 64) -> None:
        self.idle_per_pod = idle_per_pod
        self._idle: dict[Address, deque[_Connection]] = {}

    async def _connect(self, address: Address) -> _Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Connection, address[0].strip("[]"), address[1])
        return conn

    def _take(self, address: Address) -> _Connection | None:
        idle = self._idle.get(address)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                conn.reused = True
                return conn
        return None

    def _give_back(self, address: Address, conn: _Connection) -> None:
        idle = self._idle.setdefault(address, deque())
        if len(idle) < self.idle_per_pod:
            idle.append(conn)
        else:
            conn.close()

    async def request(
        self,
        address: Address,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float = 30.0,
    ) -> tuple[int, CIMultiDict[str], bytes]:
        """Send one request; errors are OSError (connection), ProtocolError, or TimeoutError
        after `timeout` seconds (the connection is then closed, never reused). The timeout is one
        timer on the loop per request rather than `asyncio.timeout`, which costs several times
        more on a path taken for every request."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        lines = [f"{method} {target} HTTP/1.1", f"Host: {address[0]}:{address[1]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        for _ in range(2):
            conn = self._take(address)
            if conn is None:
                conn = await asyncio.wait_for(self._connect(address), max(0.0, deadline - loop.time()))
            timer = loop.call_at(deadline, conn.expire)
            try:
                assert conn.transport is not None
                conn.transport.write(raw)
                status, answer_headers, content, keep = await _read_answer(conn, method == "HEAD")
            except _Stale:
                conn.close()
                continue
            except BaseException:
                conn.close()
                raise
            finally:
                timer.cancel()
            if keep:
                self._give_back(address, conn)
            else:
                conn.close()
            return status, answer_headers, content
        raise ConnectionResetError("the pod closed two connections in a row without answering")

    def keep_only(self, addresses: set[Address]) -> None:
        """Close the idle connections to pods that are gone (no longer in any EndpointSlice)."""
        for address in [a for a in self._idle if a not in addresses]:
            for conn in self._idle.pop(address):
                conn.close()

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
