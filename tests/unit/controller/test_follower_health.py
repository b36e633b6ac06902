"""A replica waiting for the Lease answers its probes, and hands the port to kopf when it leads."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from modelrollout.controller.follower_health import FollowerHealth


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_follower_is_healthy_on_healthz_and_nothing_else() -> None:
    health = FollowerHealth(0, host="127.0.0.1").start()
    try:
        status, body = _get(health.port, "/healthz")
        assert status == 200 and "leader Lease" in body
        assert _get(health.port, "/metrics")[0] == 404
    finally:
        health.stop()


def test_stopping_frees_the_port_for_kopf_at_once() -> None:
    health = FollowerHealth(0, host="127.0.0.1").start()
    port = health.port
    health.stop()
    with socket.socket() as taker:  # what kopf's liveness server does next
        taker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taker.bind(("127.0.0.1", port))
    with pytest.raises(urllib.error.URLError):
        _get(port, "/healthz")
