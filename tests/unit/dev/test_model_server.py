"""The reference model server answers both protocols, deterministically, and counts what it did."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from modelrollout_dev.model_server import ModelServerSettings, make_app, parse_bind

Scenario = Callable[[TestClient[Any, Any]], Awaitable[None]]


def serve(settings: ModelServerSettings, scenario: Scenario) -> None:
    async def run() -> None:
        async with TestClient(TestServer(make_app(settings))) as client:
            await scenario(client)

    asyncio.run(run())


async def metrics(client: TestClient[Any, Any]) -> str:
    response = await client.get("/metrics")
    return await response.text()


def test_v1_predict_scores_in_unit_interval_and_names_the_version() -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        response = await client.post(
            "/v1/models/m:predict", json={"instances": [[1, 2, 3], [0.5]]}, headers={"X-Request-Id": "r1"}
        )
        assert response.status == 200
        assert response.headers["X-Model-Version"] == "v1"
        assert response.headers["X-Request-Id"] == "r1"
        body = await response.json()
        assert body["model_version"] == "v1"
        assert len(body["predictions"]) == 2 and all(0 < p < 1 for p in body["predictions"])
        again = await (await client.post("/v1/models/m:predict", json={"instances": [[1, 2, 3]]})).json()
        assert again["predictions"][0] == body["predictions"][0], "same input, same score"
        text = await metrics(client)
        assert 'model_requests_total{model="m",namespace="ns",outcome="success",version="v1"} 2.0' in text
        assert 'model_prediction_count{model="m",namespace="ns",version="v1"} 3.0' in text
        assert 'model_request_duration_seconds_count{model="m",namespace="ns",version="v1"} 2.0' in text

    serve(ModelServerSettings(model="m", version="v1", namespace="ns"), scenario)


def test_v2_infer_matches_v1_scores() -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        v1 = await (await client.post("/v1/models/m:predict", json={"instances": [[1, 2], [3, 4]]})).json()
        tensor = {"name": "input-0", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}
        response = await client.post("/v2/models/m/infer", json={"id": "x", "inputs": [tensor]})
        assert response.status == 200
        body = await response.json()
        assert body["id"] == "x"
        assert body["outputs"][0]["data"] == v1["predictions"]
        assert (await client.get("/v2/models/m/ready")).status == 200
        assert (await client.get("/v2/health/ready")).status == 200
        assert (await (await client.get("/v2/models/m")).json())["versions"] == ["v1"]
        assert (await (await client.get("/v1/models/m")).json()) == {"name": "m", "ready": True}

    serve(ModelServerSettings(model="m", version="v1"), scenario)


def test_ranking_is_deterministic_per_request_and_version_seed() -> None:
    rankings: dict[str, list[str]] = {}

    def collect(version: str, seed: int | None) -> None:
        async def scenario(client: TestClient[Any, Any]) -> None:
            first = await (await client.post("/v1/models/m:rank", json={"user": "u1", "k": 10})).json()
            second = await (await client.post("/v1/models/m:rank", json={"user": "u1", "k": 10})).json()
            assert first["ranking"] == second["ranking"]
            assert len(set(first["ranking"])) == 10
            rankings[f"{version}/{seed}"] = first["ranking"]

        serve(ModelServerSettings(model="m", version=version, seed=seed), scenario)

    collect("v1", None)
    collect("v1", None)
    collect("v2", None)
    collect("v3", 7)
    collect("v4", 7)
    assert rankings["v3/7"] == rankings["v4/7"], "the seed, not the name, decides"
    assert rankings["v1/None"] != rankings["v2/None"]
    assert set(rankings["v1/None"]) & set(rankings["v2/None"]), "versions overlap: something to interleave"


def test_ranking_over_given_candidates() -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        items = ["item-3", "item-1", "item-2"]
        body = await (
            await client.post("/v1/models/m:rank", json={"user": "u", "k": 5, "items": items})
        ).json()
        assert sorted(body["ranking"]) == sorted(items)
        bad = await client.post("/v1/models/m:rank", json={"user": "u", "items": ["nope"]})
        assert bad.status == 400 and "unknown item" in (await bad.json())["error"]

    serve(ModelServerSettings(model="m", version="v1"), scenario)


def test_bad_input_gets_json_errors_counted_as_invalid() -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        for body in (b"{bad", b'{"instances": "x"}', b'{"instances": [["a"]]}'):
            response = await client.post("/v1/models/m:predict", data=body)
            assert response.status == 400
            assert "bad request" in (await response.json())["error"]
        tensor = {"name": "x", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3]}
        assert (await client.post("/v2/models/m/infer", json={"inputs": [tensor]})).status == 400
        unknown = await client.post("/v1/models/other:predict", json={"instances": [[1]]})
        assert unknown.status == 404 and "unknown model" in (await unknown.json())["error"]
        text = await metrics(client)
        assert 'outcome="invalid",version="v1"} 4.0' in text
        assert 'outcome="error"' not in text

    serve(ModelServerSettings(model="m", version="v1"), scenario)


def test_error_rate_latency_and_shift_are_what_was_set() -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        statuses = []
        for _ in range(200):
            response = await client.post("/v1/models/m:predict", json={"instances": [[0.0]]})
            statuses.append(response.status)
        errors = statuses.count(500)
        assert 40 <= errors <= 80, errors  # 30% of 200, well within a binomial interval
        text = await metrics(client)
        assert f'outcome="error",version="v2"}} {float(errors)}' in text
        # every request waited 5 ms (sigma 0): none lands in the buckets below 5 ms
        assert (
            'model_request_duration_seconds_bucket{le="0.0025",model="m",namespace="default",version="v2"} 0.0'
            in text
        )
        body = await (await client.post("/v1/models/m:predict", json={"instances": [[0.0]]})).json()
        assert body.get("predictions", [1.0])[0] > 0.9 or "error" in body

    settings = ModelServerSettings(
        model="m", version="v2", error_rate=0.3, latency_median=0.005, prediction_shift=5.0
    )
    serve(settings, scenario)


def test_shift_moves_scores_up() -> None:
    scores: dict[float, float] = {}
    for shift in (0.0, 2.0):

        async def scenario(client: TestClient[Any, Any], shift: float = shift) -> None:
            body = await (await client.post("/v1/models/m:predict", json={"instances": [[0.1, 0.2]]})).json()
            scores[shift] = body["predictions"][0]

        serve(ModelServerSettings(model="m", version="v1", prediction_shift=shift), scenario)
    assert scores[2.0] > scores[0.0]


@pytest.mark.parametrize(
    ("bind", "expected"), [("10.244.0.5:8080", ("10.244.0.5", 8080)), ("[::1]:80", ("::1", 80))]
)
def test_parse_bind(bind: str, expected: tuple[str, int]) -> None:
    assert parse_bind(bind) == expected


@pytest.mark.parametrize("bind", ["8080", "host:", ":80", "a:b"])
def test_parse_bind_refuses(bind: str) -> None:
    with pytest.raises(ValueError, match="IP:PORT"):
        parse_bind(bind)


def test_a_warm_server_binds_the_address_it_is_handed_at_once() -> None:
    """`--bind -` starts the process (Python, numpy, the app) before the pod exists: handed its
    address on stdin, it must listen within a fraction of a second, not after an interpreter start."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen(
        [sys.executable, "-m", "modelrollout_dev.model_server", "--bind", "-", "--model", "m", "--version", "v7"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None and process.stdin is not None
        assert process.stdout.readline().strip() == b"warm"
        started = time.monotonic()
        process.stdin.write(f"127.0.0.1:{port}\n".encode())
        process.stdin.flush()
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models/m", timeout=1.0) as answer:
                    assert answer.headers["X-Model-Version"] == "v7"
                    break
            except OSError:
                assert time.monotonic() - started < 0.5, "the warm server did not listen within 0.5 s"
                time.sleep(0.01)
    finally:
        process.kill()
        process.wait()
