"""EndpointSlices to addresses: ready endpoints only, the port by number or by name, and
round-robin over a version's pods."""

from __future__ import annotations

from typing import Any

from modelrollout.router.endpoints import RoundRobin, ready_addresses


def _slice(
    endpoints: list[tuple[str, bool | None]], ports: list[tuple[str, int]], family: str = "IPv4"
) -> dict[str, Any]:
    return {
        "addressType": family,
        "endpoints": [
            {"addresses": [ip], **({} if ready is None else {"conditions": {"ready": ready}})}
            for ip, ready in endpoints
        ],
        "ports": [{"name": name, "port": port, "protocol": "TCP"} for name, port in ports],
    }


def test_only_ready_endpoints_count_and_an_unset_condition_is_ready() -> None:
    slices = [_slice([("10.244.0.5", True), ("10.244.0.6", False), ("10.244.0.7", None)], [("http", 8080)])]
    assert ready_addresses(slices, 8080) == [("10.244.0.5", 8080), ("10.244.0.7", 8080)]


def test_a_named_port_is_looked_up_in_each_slice() -> None:
    slices = [
        _slice([("10.244.0.5", True)], [("http", 8080), ("metrics", 9090)]),
        _slice([("10.244.1.5", True)], [("http", 8081)]),
        _slice([("10.244.2.5", True)], [("grpc", 9000)]),
    ]
    assert ready_addresses(slices, "http") == [("10.244.0.5", 8080), ("10.244.1.5", 8081)]


def test_ipv6_addresses_are_bracketed_and_fqdn_slices_ignored() -> None:
    slices = [
        _slice([("fd00::5", True)], [("http", 80)], "IPv6"),
        _slice([("a.example", True)], [("http", 80)], "FQDN"),
    ]
    assert ready_addresses(slices, 80) == [("[fd00::5]", 80)]


def test_round_robin_cycles_over_the_pods() -> None:
    pods = RoundRobin([("10.0.0.1", 1), ("10.0.0.2", 1), ("10.0.0.3", 1)])
    picked = [pods.next() for _ in range(6)]
    assert picked == [("10.0.0.1", 1), ("10.0.0.2", 1), ("10.0.0.3", 1)] * 2
    assert RoundRobin([]).next() is None
