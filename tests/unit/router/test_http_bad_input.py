"""The router over loopback model servers: the protocols, headers, and every bad input answered
with a clear JSON error; a failing candidate never reaches the user while the stable answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from multidict import CIMultiDict
from prometheus_client import generate_latest

from modelrollout.api.router_config import ROUTER_REQUESTS
from modelrollout.router import RouterServer

from .loopback import Backend, config_map, endpoint_slice, routed, two_versions


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


async def post(url: str, body: Any, **headers: str) -> tuple[int, CIMultiDict[str], Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with aiohttp.ClientSession() as session, session.post(url, data=data, headers=headers) as response:
        text = await response.read()
        try:
            payload = json.loads(text)
        except ValueError:
            payload = text
        return response.status, CIMultiDict(response.headers), payload


def counted(router: RouterServer, version: str, outcome: str) -> float:
    text = generate_latest(router.service.metrics.registry).decode()
    total = 0.0
    for line in text.splitlines():
        if (
            line.startswith(ROUTER_REQUESTS)
            and f'version="{version}"' in line
            and f'outcome="{outcome}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_both_protocols_are_served_with_the_version_and_request_headers() -> None:
    async def scenario() -> None:
        v1 = Backend("v1", score=0.25)
        async with routed(two_versions(100, 0), v1, Backend("v2")) as (_, url):
            status, headers, payload = await post(
                f"{url}/v1/models/m:predict", {"instances": [[1, 2]]}, traceparent="00-abc-def-01", b3="x-y-1"
            )
            assert (status, payload) == (200, {"predictions": [0.25]})
            assert headers["x-modelrollout-version"] == "v1"
            request_id = headers["x-request-id"]
            assert len(request_id) == 32, "the router adds a request id when there is none"
            seen = v1.seen[-1]["headers"]
            assert (
                seen["x-request-id"] == request_id
                and seen["traceparent"] == "00-abc-def-01"
                and seen["b3"] == "x-y-1"
            )

            status, headers, payload = await post(
                f"{url}/v2/models/m/infer", {"inputs": []}, **{"X-Request-Id": "r-1"}
            )
            assert status == 200 and payload["outputs"][0]["data"] == [0.25]
            assert headers["x-request-id"] == "r-1" and v1.seen[-1]["headers"]["X-Request-Id"] == "r-1"

    run(scenario)


def test_other_paths_pass_through_and_the_model_state_comes_from_the_backends() -> None:
    async def scenario() -> None:
        backends = (Backend("v1"), Backend("v2"))
        async with (
            routed(two_versions(100, 0), *backends) as (router, url),
            aiohttp.ClientSession() as session,
        ):
            async with session.get(f"{url}/v2/models/m?x=1") as response:
                assert response.status == 200 and (await response.json())["path"] == "/v2/models/m?x=1"
            async with session.get(f"{url}/v1/models/m") as response:
                body = await response.json()
                assert body["ready"] is True and body["versions"]["v1"]["readyPods"] == 1
            async with session.get(f"{url}/v2/models/m/ready") as response:
                assert response.status == 200
            async with session.get(f"{url}/v1/models/other") as response:
                assert response.status == 404
            router.service.slices_changed({})
            async with session.get(f"{url}/v2/models/m/ready") as response:
                assert response.status == 503 and (await response.json())["ready"] is False

    run(scenario)


def test_bad_requests_get_clear_json_errors() -> None:
    async def scenario() -> None:
        async with routed(two_versions(100, 0, maxBodyBytes=2048), Backend("v1"), Backend("v2")) as (_, url):
            status, _, payload = await post(f"{url}/v1/models/nope:predict", {"instances": []})
            assert status == 404 and "unknown model 'nope'" in payload["error"] and payload["code"] == 404
            status, _, payload = await post(f"{url}/v1/models/m:predict", b"{not json")
            assert status == 400 and "not JSON" in payload["error"]
            status, _, payload = await post(f"{url}/v1/models/m:predict", {"instances": ["x" * 5000]})
            assert status == 413 and "larger than 2048 bytes" in payload["error"]

            async def chunks() -> Any:
                for _ in range(10):
                    yield b"x" * 500

            async with aiohttp.ClientSession() as session:
                async with session.post(f"{url}/v1/models/m:predict", data=chunks()) as response:
                    assert response.status == 413, "a chunked body is counted as it arrives"
                async with session.post(f"{url}/feedback", data=b"[") as response:
                    assert response.status == 400 and "not JSON" in (await response.json())["error"]

    run(scenario)


def test_a_failing_candidate_is_retried_on_the_stable_and_counted_as_its_error() -> None:
    async def scenario() -> None:
        config = two_versions(0, 100)
        config["versions"][1]["timeoutSeconds"] = 0.3
        for broken in (Backend("v2", status=500), Backend("v2", garbage=True), Backend("v2", delay=1.0)):
            async with routed(config, Backend("v1", score=0.1), broken) as (router, url):
                status, headers, payload = await post(f"{url}/v1/models/m:predict", {"instances": [[1]]})
                assert (status, payload, headers["x-modelrollout-version"]) == (
                    200,
                    {"predictions": [0.1]},
                    "v1",
                )
                assert counted(router, "v2", "error") == 1 and counted(router, "v1", "success") == 1

    run(scenario)


def test_a_candidate_that_is_down_or_has_no_pods_is_served_by_the_stable() -> None:
    async def scenario() -> None:
        down = Backend("v2")
        async with routed(two_versions(0, 100), Backend("v1"), down) as (router, url):
            await down.stop()  # its port now refuses connections
            status, headers, _ = await post(f"{url}/v1/models/m:predict", {"instances": [[1]]})
            assert status == 200 and headers["x-modelrollout-version"] == "v1"
            router.service.slices_changed({"m-v1": router.service._slices["m-v1"]})
            status, headers, _ = await post(f"{url}/v1/models/m:predict", {"instances": [[1]]})
            assert status == 200 and headers["x-modelrollout-version"] == "v1"

    run(scenario)


def test_every_version_s_error_series_exists_at_zero_from_its_first_configuration() -> None:
    """Counters appear at their first increment, and the analysis reads an absent error series
    as a misnamed one (MetricNotFound holds the rollout): a healthy version must still have it."""

    async def scenario() -> None:
        async with routed(two_versions(90, 10), Backend("v1"), Backend("v2")) as (router, _):
            text = generate_latest(router.service.metrics.registry).decode()
            for version in ("v1", "v2"):
                errors = [
                    line
                    for line in text.splitlines()
                    if line.startswith(ROUTER_REQUESTS)
                    and f'version="{version}"' in line
                    and 'outcome="error"' in line
                ]
                assert errors and all(line.endswith(" 0.0") for line in errors), (version, errors)

    run(scenario)


def test_a_pod_that_refuses_the_connection_is_passed_over_for_another_of_its_version() -> None:
    """A pod listed ready that does not listen (yet, or any more) never got the request: it goes
    to the version's next pod, so users of a stable with one such pod see no 502."""

    async def scenario() -> None:
        gone, alive = Backend("v1"), Backend("v1")
        async with routed(two_versions(100, 0), gone, alive) as (router, url):
            await gone.stop()  # its port now refuses connections
            router.service.slices_changed(
                {"m-v1": [endpoint_slice("m-v1", [gone.port]), endpoint_slice("m-v1", [alive.port])]}
            )
            answers = [await post(f"{url}/v1/models/m:predict", {"instances": [[1]]}) for _ in range(6)]
            assert [status for status, _, _ in answers] == [200] * 6
            assert len(alive.seen) == 6
            assert counted(router, "v1", "error") == 0, "a refused connection is not the version's error"

    run(scenario)


def test_when_the_stable_fails_too_the_user_gets_a_json_5xx() -> None:
    async def scenario() -> None:
        async with routed(two_versions(0, 100), Backend("v1", garbage=True), Backend("v2", status=503)) as (
            _,
            url,
        ):
            status, headers, payload = await post(f"{url}/v1/models/m:predict", {"instances": [[1]]})
            assert status == 502 and "version v1 answered a body that is not JSON" in payload["error"]
            assert (
                headers["x-modelrollout-version"] == "v1" and payload["requestId"] == headers["x-request-id"]
            )
        slow = two_versions(100, 0)
        slow["versions"][0]["timeoutSeconds"] = 0.2
        async with routed(slow, Backend("v1", delay=2.0), Backend("v2")) as (_, url):
            status, _, payload = await post(f"{url}/v1/models/m:predict", {"instances": [[1]]})
            assert status == 504 and "did not answer within 0.2s" in payload["error"]

    run(scenario)


def test_a_bad_config_is_refused_and_the_last_good_one_keeps_serving() -> None:
    async def scenario() -> None:
        async with routed(two_versions(100, 0), Backend("v1"), Backend("v2")) as (router, url):
            bad = two_versions(100, 0)
            bad["schemaVersion"] = "modelrollout.io/router/v2"
            router.service.config_map_changed(config_map(bad))
            status, headers, _ = await post(f"{url}/v1/models/m:predict", {"instances": [[1]]})
            assert status == 200 and headers["x-modelrollout-version"] == "v1"
            async with aiohttp.ClientSession() as session, session.get(f"{url}/readyz") as response:
                body = await response.json()
                assert (
                    response.status == 200
                    and "schemaVersion 'modelrollout.io/router/v2'" in body["configError"]
                )
            text = generate_latest(router.service.metrics.registry).decode()
            assert 'modelrollout_router_config_valid{config_map="m-router",namespace="ns"} 0.0' in text
            assert (
                'modelrollout_router_config_rejections_total{config_map="m-router",namespace="ns"} 1.0'
                in text
            )

    run(scenario)


def test_readyz_waits_for_a_valid_config_and_a_backend() -> None:
    async def scenario() -> None:
        from modelrollout.router import RouterSettings

        router = RouterServer(RouterSettings(namespace="ns", config_map="m-router", host="127.0.0.1", port=0))
        await router.start()
        url = f"http://127.0.0.1:{router.port}"
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{url}/readyz") as response:
                    assert response.status == 503
                async with session.get(f"{url}/healthz") as response:
                    assert response.status == 200
                status, headers, _payload = await post(f"{url}/v1/models/m:predict", {})
                assert status == 503 and headers["Retry-After"] == "1"
                router.service.config_map_changed(config_map(two_versions()))
                async with session.get(f"{url}/readyz") as response:
                    assert (
                        response.status == 503
                        and (await response.json())["reason"] == "no version has a ready pod"
                    )
        finally:
            await router.stop()

    run(scenario)
