"""One benchmark run: the same model server reached directly, through nginx and through the
router, at 1 and 32 connections; then what shadow copies add to a user's latency.

Cells are measured in rounds (direct, nginx, router, direct, ...) and each cell reports its median
round, so a slow moment of a shared machine lands on every path alike instead of on one.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .processes import Processes
from .wrk import POST_SCRIPT, WrkResult
from .wrk import run as wrk

PATHS = ("direct", "nginx", "router")


@dataclass(frozen=True)
class BenchSettings:
    duration: float = 5.0
    """Seconds of each measured wrk run."""
    rounds: int = 3
    """Measured runs per cell; the median one is reported."""
    warmup: float = 1.0
    """Seconds of an unmeasured wrk run before each cell's first round (0: none)."""
    connections: tuple[int, ...] = (1, 32)
    shadow_stable_latency: float = 0.002
    """Shadow check: the stable answers in this many seconds, the candidate in twice as many."""
    shadow_rounds: int | None = None
    """Paired rounds (without, then with shadow) of the shadow check; None: `2 * rounds + 1`
    (`rounds` when that is 1). What shadow adds is a fraction of a millisecond, the size of a
    shared machine's noise between two runs, so it is the median of many paired differences."""

    @property
    def paired_shadow_rounds(self) -> int:
        if self.shadow_rounds is not None:
            return self.shadow_rounds
        return self.rounds if self.rounds == 1 else 2 * self.rounds + 1


def _median(results: list[WrkResult]) -> WrkResult:
    """The round with the median throughput (its latencies come with it, from the same run)."""
    ordered = sorted(results, key=lambda result: result.requests_per_second)
    return ordered[len(ordered) // 2]


def _rounds(
    urls: dict[str, str],
    connections: int,
    settings: BenchSettings,
    script: Path,
    pids: dict[str, int],
    count: int | None = None,
) -> dict[str, list[WrkResult]]:
    if settings.warmup > 0:
        for url in urls.values():
            wrk(url, connections, settings.warmup, script)
    rounds: dict[str, list[WrkResult]] = {name: [] for name in urls}
    for _ in range(settings.rounds if count is None else count):
        for name, url in urls.items():
            rounds[name].append(wrk(url, connections, settings.duration, script, pids.get(name)))
    return rounds


def _measure(
    urls: dict[str, str], connections: int, settings: BenchSettings, script: Path, pids: dict[str, int]
) -> dict[str, WrkResult]:
    rounds = _rounds(urls, connections, settings, script, pids)
    return {name: _median(results) for name, results in rounds.items()}


def _paired_added_p50_ms(plain: list[WrkResult], shadowed: list[WrkResult]) -> float:
    """The median, over paired rounds run back to back, of the p50 with shadow minus without."""
    differences = sorted((s.p50_seconds - p.p50_seconds) * 1000 for p, s in zip(plain, shadowed, strict=True))
    middle = len(differences) // 2
    if len(differences) % 2:
        return differences[middle]
    return (differences[middle - 1] + differences[middle]) / 2


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1/models/bench:predict"


def _pids(urls: dict[str, str], processes: Processes) -> dict[str, int]:
    return {name: processes.serving[int(url.split(":")[2].split("/")[0])] for name, url in urls.items()}


def run(settings: BenchSettings) -> dict[str, Any]:
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-router-") as directory:
        work = Path(directory)
        script = work / "post.lua"
        script.write_text(POST_SCRIPT)
        processes = Processes(work)
        try:
            backend = processes.model_server("v1")
            stable = processes.model_server("stable", settings.shadow_stable_latency)
            candidate = processes.model_server("candidate", 2 * settings.shadow_stable_latency)
            backends = {"stable": stable, "candidate": candidate}
            weights = {"stable": 100, "candidate": 0}
            urls = {
                "direct": _url(backend),
                "nginx": _url(processes.nginx(backend)),
                "router": _url(processes.router({"v1": backend}, {"v1": 100})),
            }
            shadow_urls = {
                "router": _url(processes.router(backends, weights)),
                "router+shadow": _url(processes.router(backends, weights, shadow="candidate")),
            }
            processes.wait()  # all at once: the idle ones cost nothing while the others are measured
            pids, shadow_pids = _pids(urls, processes), _pids(shadow_urls, processes)
            cells = {c: _measure(urls, c, settings, script, pids) for c in settings.connections}
            paired = _rounds(shadow_urls, 1, settings, script, shadow_pids, settings.paired_shadow_rounds)
            shadow = {name: _median(results) for name, results in paired.items()}
            shadow_added = _paired_added_p50_ms(paired["router"], paired["router+shadow"])
        finally:
            processes.stop()
    results = summarise(settings, cells, shadow, shadow_added, time.monotonic() - started)
    # wrk, nginx, the router and the model server share the machine's cores with whatever else
    # runs: the load average says how much that was.
    results["machine"]["load_average"] = {
        "before": round(load_before, 2),
        "after": round(os.getloadavg()[0], 2),
    }
    return results


def summarise(
    settings: BenchSettings,
    cells: dict[int, dict[str, WrkResult]],
    shadow: dict[str, WrkResult],
    shadow_added: float,
    wall: float,
) -> dict[str, Any]:
    """The numbers, the ratios and the targets (met or not: reported as measured)."""
    table = {str(c): {name: result.as_dict() for name, result in row.items()} for c, row in cells.items()}
    ratios: dict[str, dict[str, float]] = {}
    for c, row in cells.items():
        ratios[str(c)] = {
            "router_over_nginx_throughput": round(
                row["router"].requests_per_second / row["nginx"].requests_per_second, 3
            ),
            "router_over_direct_throughput": round(
                row["router"].requests_per_second / row["direct"].requests_per_second, 3
            ),
            "nginx_over_direct_throughput": round(
                row["nginx"].requests_per_second / row["direct"].requests_per_second, 3
            ),
            "router_added_p50_ms": round((row["router"].p50_seconds - row["direct"].p50_seconds) * 1000, 3),
            "nginx_added_p50_ms": round((row["nginx"].p50_seconds - row["direct"].p50_seconds) * 1000, 3),
        }
    targets = []
    if "32" in ratios:
        value = ratios["32"]["router_over_nginx_throughput"]
        targets.append(
            {
                "target": "router throughput >= 0.5x nginx at 32 connections",
                "measured": value,
                "met": value >= 0.5,
            }
        )
    if "1" in ratios:
        value = ratios["1"]["router_added_p50_ms"]
        targets.append(
            {"target": "router adds <= 1 ms p50 at 1 connection", "measured": value, "met": value <= 1.0}
        )
    targets.append(
        {
            "target": "shadow adds <= 0.2 ms p50 (candidate 2x slower)",
            "measured": round(shadow_added, 3),
            "met": shadow_added <= 0.2,
        }
    )
    return {
        "settings": asdict(settings),
        "machine": {"cpus": _cpus(), "python": platform.python_version(), "platform": platform.platform()},
        "wall_seconds": round(wall, 1),
        "cells": table,
        "ratios": ratios,
        "shadow": {name: result.as_dict() for name, result in shadow.items()}
        | {"added_p50_ms": round(shadow_added, 3), "paired_rounds": settings.paired_shadow_rounds},
        "targets": targets,
        "errors": sum(r.errors for row in cells.values() for r in row.values())
        + sum(r.errors for r in shadow.values()),
    }


def _cpus() -> int:
    return len(os.sched_getaffinity(0))
