"""The load generator sends what it was asked, bounded, and counts answers per version and status."""

from __future__ import annotations

import asyncio
import threading

from aiohttp.test_utils import TestServer

from modelrollout_dev.loadgen import LoadReport, LoadSettings, run_load
from modelrollout_dev.model_server import ModelServerSettings, make_app


def load(server_settings: ModelServerSettings, **load_settings: object) -> LoadReport:
    async def run() -> LoadReport:
        async with TestServer(make_app(server_settings)) as server:
            settings = LoadSettings(url=str(server.make_url("/")), model="m", **load_settings)  # type: ignore[arg-type]
            return await run_load(settings)

    return asyncio.run(run())


def test_counts_per_version_and_status() -> None:
    report = load(
        ModelServerSettings(model="m", version="v3", error_rate=0.2), rate=400, duration=0.5, concurrency=200
    )
    # room for every request in flight at once: a busy machine slows the answers, never skips one
    assert (report.sent, report.skipped) == (200, 0)
    assert report.by_version == {"v3": report.sent}
    assert report.by_status["200"] + report.by_status["500"] == report.sent
    assert report.by_version_status["v3/500"] == report.by_status["500"] > 0
    assert len(report.latencies) == report.sent
    assert report.error_messages == {"injected error (--error-rate)": report.by_status["500"]}


def test_concurrency_bound_skips_rather_than_queues() -> None:
    slow = ModelServerSettings(model="m", version="v1", latency_median=0.2)
    report = load(slow, rate=200, duration=0.15, concurrency=4)
    assert report.sent == 4, "four in flight at most while the server holds each for 200 ms"
    assert report.skipped == 30 - 4
    assert report.by_status == {"200": 4}


def test_users_are_drawn_from_the_pool_and_header_carries_them() -> None:
    report = load(
        ModelServerSettings(model="m", version="v1"), rate=400, duration=0.25, users=3, protocol="rank"
    )
    assert set(report.user_versions) <= {"user-0", "user-1", "user-2"}
    assert all(versions == ["v1"] for versions in report.user_versions.values())


def test_v2_protocol_and_unreachable_server() -> None:
    report = load(ModelServerSettings(model="m", version="v1"), rate=100, duration=0.1, protocol="v2")
    assert report.by_status == {"200": 10}
    down = asyncio.run(run_load(LoadSettings(url="http://127.0.0.1:9", model="m", rate=100, duration=0.05)))
    assert down.by_status == {"connection-error": 5} and down.by_version == {}


def test_a_stop_event_ends_the_arrivals_early() -> None:
    stop = threading.Event()
    stop.set()
    report = load(ModelServerSettings(model="m", version="v1"), rate=100, duration=10, stop=stop)
    assert report.sent == 0 and report.skipped == 0
