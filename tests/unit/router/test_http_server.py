"""The router's own HTTP/1.1 server on raw sockets: what a full server does that the router relies
on (keep-alive, pipelining in order, HTTP/1.0, chunked bodies, 100-continue, limits counted as the
body arrives, refusals as JSON, a graceful stop)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from modelrollout.router.http_server import MAX_HEAD_BYTES, HttpServer, Request, Response, json_response


async def echo(request: Request) -> Response:
    if request.path == "/slow":
        await asyncio.sleep(0.3)
    body = {
        "method": request.method,
        "target": request.target,
        "path": request.path,
        "body": request.body.decode(),
        "tooLarge": request.too_large,
        "headers": sorted(k.lower() for k in request.headers),
        "cookies": dict(request.cookies),
    }
    return json_response(body, headers={"x-echo": "1"})


def served(scenario: Callable[[HttpServer, int], Awaitable[None]], limit: int = 100) -> None:
    async def main() -> None:
        server = HttpServer(echo, lambda method, path: limit)
        port = await server.start("127.0.0.1", 0)
        try:
            await scenario(server, port)
        finally:
            await server.stop(1.0)

    asyncio.run(main())


async def exchange(port: int, raw: bytes, answers: int = 1) -> list[tuple[int, dict[str, str], bytes]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    out = []
    for _ in range(answers):
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        out.append((status, headers, body))
    writer.close()
    return out


def test_pipelined_requests_are_answered_in_order_on_one_connection() -> None:
    async def scenario(_: HttpServer, port: int) -> None:
        raw = (
            b"POST /slow?x=%41 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nCookie: uid=bob; t=1\r\n\r\nhi"
            b"GET /v1/models/a%3Ab HTTP/1.1\r\nHost: a\r\nX-Test: 1\r\n\r\n"
        )
        (s1, h1, b1), (s2, _, b2) = await exchange(port, raw, answers=2)
        first, second = json.loads(b1), json.loads(b2)
        assert (s1, s2, h1["x-echo"], "date" in h1) == (200, 200, "1", True)
        assert (first["target"], first["path"], first["body"]) == ("/slow?x=%41", "/slow", "hi")
        assert first["cookies"] == {"uid": "bob", "t": "1"}
        assert first["headers"] == ["cookie"], "the hop's own headers are the server's, not forwarded"
        assert (second["method"], second["path"], second["headers"]) == ("GET", "/v1/models/a:b", ["x-test"])

    served(scenario)


def test_http10_closes_chunked_bodies_are_read_and_100_continue_is_sent() -> None:
    async def scenario(_: HttpServer, port: int) -> None:
        [(status, headers, _)] = await exchange(port, b"GET / HTTP/1.0\r\n\r\n")
        assert status == 200 and headers["connection"] == "close"
        raw = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        [(status, _, body)] = await exchange(port, raw)
        assert status == 200 and json.loads(body)["body"] == "abcde"
        raw = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"
        (cont, _, _), (status, _, body) = await exchange(port, raw, answers=2)
        assert (cont, status, json.loads(body)["body"]) == (100, 200, "ok")

    served(scenario)


def test_limits_and_garbage_get_json_refusals() -> None:
    async def scenario(_: HttpServer, port: int) -> None:
        big = b"x" * 150
        raw = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 150\r\n\r\n" + big
        [(status, _, body)] = await exchange(port, raw)
        assert status == 200 and json.loads(body)["tooLarge"] is True and json.loads(body)["body"] == ""
        chunked = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunked += b"".join(b"32\r\n" + b"y" * 50 + b"\r\n" for _ in range(3)) + b"0\r\n\r\n"
        [(_, _, body)] = await exchange(port, chunked)
        assert json.loads(body)["tooLarge"] is True, "a chunked body is counted as it arrives"
        [(status, headers, body)] = await exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
        assert (
            status == 400
            and headers["connection"] == "close"
            and "not valid HTTP" in json.loads(body)["error"]
        )
        huge = b"GET / HTTP/1.1\r\nX-Big: " + b"z" * (MAX_HEAD_BYTES + 10) + b"\r\n\r\n"
        [(status, _, body)] = await exchange(port, huge)
        assert status == 431 and json.loads(body)["code"] == 431

    served(scenario)


def test_a_stop_lets_the_request_in_flight_finish_with_connection_close() -> None:
    async def scenario(server: HttpServer, port: int) -> None:
        answer = asyncio.create_task(exchange(port, b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"))
        await asyncio.sleep(0.1)
        await server.stop(2.0)
        [(status, headers, _)] = await answer
        assert status == 200 and headers["connection"] == "close"
        try:
            await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        raise AssertionError("the listener still accepts after stop()")

    served(scenario)
