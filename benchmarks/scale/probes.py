"""What the benchmark reads while it runs: a process's CPU and memory from /proc, Prometheus' own
query counter, and a watch on every ModelRollout that notes when each status moved."""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TICKS = os.sysconf("SC_CLK_TCK")
QUERY_HANDLERS = ("/api/v1/query", "/api/v1/query_range")


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User plus system CPU the process (or one of its threads) has used since it started."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class CpuMeter:
    """CPU seconds used by some processes between `start()` and `stop()`. A name may be a
    process's main thread alone: for the operator that is its event loop, apart from the threads
    that reconcile and analyse."""

    pids: dict[str, int]
    main_threads: tuple[str, ...] = ()
    """Names (keys of `pids`) whose main thread is metered too, as `<name>:main`."""
    _begin: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0

    def start(self) -> CpuMeter:
        self._begin = self._read()
        self.wall = time.monotonic()
        return self

    def stop(self) -> dict[str, float]:
        self.wall = time.monotonic() - self.wall
        self.used = {name: seconds - self._begin[name] for name, seconds in self._read().items()}
        return self.used

    def _read(self) -> dict[str, float]:
        read = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        for name in self.main_threads:
            read[f"{name}:main"] = cpu_seconds(self.pids[name], self.pids[name])
        return read


def prometheus_queries(url: str) -> float:
    """Queries Prometheus has answered since it started (instant and range), from its /metrics."""
    return _query_handlers_sum(url, "prometheus_http_requests", "_total")


def prometheus_query_seconds(url: str) -> float:
    """Seconds Prometheus has spent answering queries (instant and range) since it started, from
    its own request-duration histogram: the operator sends a tick's queries one after another, so
    their sum over a tick is how long the tick waited for Prometheus."""
    return _query_handlers_sum(url, "prometheus_http_request_duration_seconds", "_sum")


def _query_handlers_sum(url: str, family_name: str, suffix: str) -> float:
    """One of Prometheus' own series summed over its query handlers, read from its /metrics."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name != family_name:
            continue
        for sample in family.samples:
            if sample.name.endswith(suffix) and sample.labels.get("handler") in QUERY_HANDLERS:
                total += sample.value
    return total


def boundary_after(moment: float, interval: float) -> float:
    """The first multiple of `interval` (seconds since the epoch) after `moment`: the operator's grid."""
    return (int(moment // interval) + 1) * interval


class RolloutWatch:
    """A watch on every ModelRollout of a namespace (as the admin): when each got into analysis and
    when each `status.analysis.lastRun` first showed a given boundary."""

    def __init__(self, api_client: Any, namespace: str) -> None:
        from kubernetes import client

        self._api = client.CustomObjectsApi(api_client)
        self._namespace = namespace
        self._stop = threading.Event()
        self.in_analysis: dict[str, float] = {}
        """Name -> wall time the watch first saw `analysis.startedAt`."""
        self.runs: dict[str, int] = {}
        self.last_run_seen: dict[str, dict[float, float]] = defaultdict(dict)
        """Name -> {boundary (epoch seconds) -> wall time first seen as lastRun}."""
        self.errors = 0
        self._thread = threading.Thread(target=self._run, name="rollout-watch", daemon=True)

    def start(self) -> RolloutWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        from kubernetes import watch

        version = ""
        while not self._stop.is_set():
            stream = watch.Watch()
            try:
                for event in stream.stream(
                    self._api.list_namespaced_custom_object,
                    "modelrollout.io", "v1alpha1", self._namespace, "modelrollouts",
                    resource_version=version or None, timeout_seconds=30, allow_watch_bookmarks=True,
                ):  # fmt: skip
                    obj = event["object"]
                    version = obj["metadata"]["resourceVersion"]
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._note(obj, time.time())
                    if self._stop.is_set():
                        stream.stop()
                        break
            except Exception:  # an expired resourceVersion or a dropped stream: list again
                self.errors += 1
                version = ""
                time.sleep(0.5)

    def _note(self, obj: dict[str, Any], now: float) -> None:
        name = obj["metadata"]["name"]
        analysis = (obj.get("status") or {}).get("analysis") or {}
        if analysis.get("startedAt") and name not in self.in_analysis:
            self.in_analysis[name] = now
        self.runs[name] = int(analysis.get("runs") or 0)
        last_run = analysis.get("lastRun")
        if last_run:
            boundary = datetime.fromisoformat(last_run.replace("Z", "+00:00")).timestamp()
            self.last_run_seen[name].setdefault(boundary, now)

    def latencies(self, boundaries: list[float], interval: float) -> tuple[list[float], int]:
        """Seconds from each boundary to each rollout's status showing it, and how many due
        rollouts never showed it before the next boundary (skipped)."""
        seen, skipped = [], 0
        for name in self.in_analysis:
            for boundary in boundaries:
                at = self.last_run_seen[name].get(boundary)
                if at is None or at - boundary > interval:
                    skipped += 1
                else:
                    seen.append(at - boundary)
        return seen, skipped


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
