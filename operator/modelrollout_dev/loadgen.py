"""A bounded load generator: a given rate for a given time, never more in flight than a bound.

`python -m modelrollout_dev.loadgen --url http://IP:PORT --model NAME --rate 100 --duration 5`

Arrivals are open-loop (request i is due at `i / rate`), as users are: a slow server does not slow
the arrivals down. When `concurrency` requests are already in flight a due request is not sent
but counted as `skipped`, so the generator stays bounded in memory and sockets whatever the
server does. Each request carries a user id header drawn from a pool (`users`), for sticky
routing; the report counts what was sent and what came back per answering version (the router's
`X-ModelRollout-Version` header, else the model server's `X-Model-Version`, else the body's
`model_version`) and per status, which is what an e2e test compares with the series the
analysis reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import aiohttp
import numpy as np

__all__ = ["LoadReport", "LoadSettings", "main", "run_load"]

Protocol = Literal["v1", "v2", "rank"]
VERSION_HEADERS = ("X-ModelRollout-Version", "X-Model-Version")
"""Who answered: the router's header (it also names the version of its own error answers), else
the model server's."""


@dataclass
class LoadSettings:
    url: str
    """Base URL of a model server or router, e.g. `http://127.0.0.1:8080`."""
    model: str
    rate: float = 50.0
    """Requests per second (open loop)."""
    duration: float = 5.0
    """Seconds during which requests are started; the report waits for the last answers."""
    concurrency: int = 16
    """Requests in flight at most; a request due beyond it is skipped and counted."""
    users: int = 1000
    """Size of the user-id pool (`user-0` .. `user-<users-1>`)."""
    user_header: str = "X-User-Id"
    protocol: Protocol = "v1"
    features: int = 8
    timeout: float = 10.0
    seed: int = 0
    """Seeds the user draws and the feature vectors: two runs with one seed send the same requests."""
    stop: threading.Event | None = None
    """Set (from any thread) to end the arrivals before `duration`; the answers are still awaited."""


@dataclass
class LoadReport:
    sent: int = 0
    skipped: int = 0
    """Requests due while `concurrency` were in flight: never sent."""
    by_version: dict[str, int] = field(default_factory=dict)
    """Answers (of any status) per answering version; `unknown` when none was named."""
    by_status: dict[str, int] = field(default_factory=dict)
    """Answers per HTTP status, or `connection-error` / `timeout` when none came."""
    by_version_status: dict[str, int] = field(default_factory=dict)
    """`<version>/<status>` counts."""
    user_versions: dict[str, list[str]] = field(default_factory=dict)
    """Every version each user was answered by, in order of first answer (stickiness checks)."""
    latencies: list[float] = field(default_factory=list)
    """Seconds per answered request, in completion order."""
    error_messages: dict[str, int] = field(default_factory=dict)
    """The `error` of JSON error bodies (5xx and 4xx), by message (at most 20 distinct ones)."""

    def percentile(self, q: float) -> float | None:
        return float(np.percentile(self.latencies, q)) if self.latencies else None

    def summary(self) -> dict[str, Any]:
        """The report without per-request detail, for printing."""
        data = asdict(self)
        del data["latencies"], data["user_versions"]
        data["error_messages"] = dict(sorted(self.error_messages.items(), key=lambda item: -item[1])[:5])
        data["p50_seconds"] = self.percentile(50)
        data["p99_seconds"] = self.percentile(99)
        return data


def _body(settings: LoadSettings, user: str, rng: np.random.Generator) -> tuple[str, dict[str, Any]]:
    base = settings.url.rstrip("/")
    features = [round(float(value), 4) for value in rng.normal(size=settings.features)]
    if settings.protocol == "v1":
        return f"{base}/v1/models/{settings.model}:predict", {"instances": [features]}
    if settings.protocol == "v2":
        tensor = {"name": "input-0", "shape": [1, settings.features], "datatype": "FP64", "data": features}
        return f"{base}/v2/models/{settings.model}/infer", {"inputs": [tensor]}
    return f"{base}/v1/models/{settings.model}:rank", {"user": user, "k": 10}


class _Tally:
    def __init__(self, report: LoadReport) -> None:
        self.report = report
        self.versions: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.pairs: Counter[str] = Counter()

    def add(self, user: str, version: str | None, status: str, latency: float | None) -> None:
        if version is not None:
            self.versions[version] += 1
            self.pairs[f"{version}/{status}"] += 1
            seen = self.report.user_versions.setdefault(user, [])
            if version not in seen:
                seen.append(version)
        self.statuses[status] += 1
        if latency is not None:
            self.report.latencies.append(latency)

    def error(self, message: str) -> None:
        errors = self.report.error_messages
        if message in errors or len(errors) < 20:
            errors[message] = errors.get(message, 0) + 1

    def close(self) -> LoadReport:
        self.report.by_version = dict(self.versions)
        self.report.by_status = dict(self.statuses)
        self.report.by_version_status = dict(self.pairs)
        return self.report


async def _one(
    session: aiohttp.ClientSession,
    settings: LoadSettings,
    user: str,
    url: str,
    body: dict[str, Any],
    tally: _Tally,
) -> None:
    started = time.perf_counter()
    try:
        async with session.post(url, json=body, headers={settings.user_header: user}) as response:
            payload = await response.read()
            named = (response.headers.get(header) for header in VERSION_HEADERS)
            version = next((v for v in named if v), None) or _body_version(payload) or "unknown"
            tally.add(user, version, str(response.status), time.perf_counter() - started)
            if response.status >= 400:
                tally.error(_body_error(payload))
    except TimeoutError:
        tally.add(user, None, "timeout", None)
    except aiohttp.ClientError:
        tally.add(user, None, "connection-error", None)


def _body_error(payload: bytes) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return payload[:200].decode(errors="replace")
    message = data.get("error") if isinstance(data, dict) else None
    return str(message)[:200] if message is not None else payload[:200].decode(errors="replace")


def _body_version(payload: bytes) -> str | None:
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    version = data.get("model_version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


async def run_load(settings: LoadSettings) -> LoadReport:
    """Sends the load and waits for every answer (each bounded by `timeout`)."""
    if settings.rate <= 0 or settings.duration < 0 or settings.concurrency < 1 or settings.users < 1:
        raise ValueError("rate must be positive, duration non-negative, concurrency and users at least 1")
    rng = np.random.default_rng(settings.seed)
    report = LoadReport()
    tally = _Tally(report)
    slots = asyncio.Semaphore(settings.concurrency)
    in_flight: set[asyncio.Task[None]] = set()
    timeout = aiohttp.ClientTimeout(total=settings.timeout)
    connector = aiohttp.TCPConnector(limit=settings.concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def bounded(user: str, url: str, body: dict[str, Any]) -> None:
            try:
                await _one(session, settings, user, url, body, tally)
            finally:
                slots.release()

        start = time.perf_counter()
        total = int(settings.rate * settings.duration)
        for index in range(total):
            if settings.stop is not None and settings.stop.is_set():
                break
            delay = start + index / settings.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            user = f"user-{int(rng.integers(settings.users))}"
            url, body = _body(settings, user, rng)
            if slots.locked():
                report.skipped += 1
                continue
            await slots.acquire()
            report.sent += 1
            task = asyncio.create_task(bounded(user, url, body))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)
    return tally.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelrollout_dev.loadgen", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--user-header", default="X-User-Id")
    parser.add_argument("--protocol", choices=["v1", "v2", "rank"], default="v1")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    settings = LoadSettings(**vars(args))  # every flag is a field of the same name
    try:
        report = asyncio.run(run_load(settings))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(json.dumps(report.summary(), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
