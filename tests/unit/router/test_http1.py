"""The router's HTTP/1.1 client against scripted servers: bodies by length, chunks or close,
connections kept alive and reused, a connection the server closed while idle replaced, and an
answer that is not HTTP refused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from modelrollout.router.http1 import Http1Pool, ProtocolError

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(script: Script) -> tuple[asyncio.Server, int, list[int]]:
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await script(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], accepted


async def _request_head(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    await reader.readexactly(length)
    return head


def test_bodies_by_length_by_chunks_and_by_close() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\nuntil the end",
    ]

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            await _request_head(reader)
            for i in range(0, len(answer), 7):  # in pieces, as a network delivers them
                writer.write(answer[i : i + 7])
                await writer.drain()
                await asyncio.sleep(0)

    async def scenario() -> None:
        server, port, accepted = await _serve(script)
        pool = Http1Pool()
        address = ("127.0.0.1", port)
        status, headers, body = await pool.request(address, "POST", "/a", {"X-Test": "1"}, b"{}")
        assert (status, headers["x-a"], body) == (200, "1", b"hello")
        status, _, body = await pool.request(address, "POST", "/b", {}, b"")
        assert (status, body) == (200, b"abcdefg")
        status, _, body = await pool.request(address, "GET", "/c", {}, b"")
        assert (status, body) == (201, b"until the end")
        assert len(accepted) == 1, "one kept-alive connection served all three"
        pool.close()
        server.close()

    asyncio.run(scenario())


def test_a_connection_closed_while_idle_is_replaced_and_the_request_sent_again() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        # then the server closes the idle connection (finally: close)

    async def scenario() -> None:
        server, port, accepted = await _serve(script)
        pool = Http1Pool()
        address = ("127.0.0.1", port)
        for _ in range(3):
            assert (await pool.request(address, "POST", "/", {}, b""))[2] == b"ok"
            await asyncio.sleep(0.05)
        assert len(accepted) == 3
        pool.keep_only(set())
        pool.close()
        server.close()

    asyncio.run(scenario())


def test_an_answer_that_is_not_http_is_refused() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_head(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()

    async def scenario() -> None:
        server, port, _ = await _serve(script)
        with pytest.raises(ProtocolError, match=r"not an HTTP/1\.1 status line"):
            await Http1Pool().request(("127.0.0.1", port), "POST", "/", {}, b"")
        server.close()

    asyncio.run(scenario())
