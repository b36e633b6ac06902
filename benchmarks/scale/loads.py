"""The two reference loads the operator is compared with, each run alone by the harness.

- The status floor: one status PATCH per rollout per interval and nothing else, the least any
  operator writing an analysis result must cost the apiserver.
- Per-rollout queries: one PromQL query per rollout per metric with `{namespace, model, version}`
  filters, as Flagger and Argo Rollouts query, against the same Prometheus.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

POOL = 8
"""Concurrent calls of either load: enough to finish an interval's calls early at 3,000."""


def run_on_boundaries(first: float, intervals: int, interval: float, tick: Callable[[float], None]) -> None:
    """`tick(boundary)` at `first` and the `intervals - 1` boundaries after it; returns at the end
    of the last interval, so a caller measuring around it measures exactly those intervals."""
    for index in range(intervals):
        boundary = first + index * interval
        time.sleep(max(0.0, boundary - time.time()))
        tick(boundary)
    time.sleep(max(0.0, first + intervals * interval - time.time()))


def status_patches(
    api_client: Any,
    namespace: str,
    statuses: dict[str, dict[str, Any]],
    first: float,
    intervals: int,
    interval: float,
) -> dict[str, float]:
    """Patch every rollout's status once per interval, with its own last status (the operator's,
    so the size and the CRD's validation are the real ones), `lastRun` moved to the boundary."""
    from kubernetes import client

    api = client.CustomObjectsApi(api_client)
    failures = 0

    def patch(name: str, boundary: float) -> None:
        nonlocal failures
        status = copy.deepcopy(statuses[name])
        analysis = status.setdefault("analysis", {})
        analysis["lastRun"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(boundary))
        analysis["runs"] = int(analysis.get("runs") or 0) + 1
        try:
            api.patch_namespaced_custom_object_status(
                "modelrollout.io", "v1alpha1", namespace, "modelrollouts", name, {"status": status}
            )
        except Exception:
            failures += 1

    with ThreadPoolExecutor(POOL) as pool:

        def tick(boundary: float) -> None:
            list(pool.map(lambda name: patch(name, boundary), list(statuses)))

        run_on_boundaries(first, intervals, interval, tick)
    sizes = [len(json.dumps(s)) for s in statuses.values()]
    return {"status_bytes": sum(sizes) / max(1, len(sizes)), "failures": float(failures)}


def per_rollout_queries(namespace: str, models: list[str], interval: float) -> list[str]:
    """Flagger-style queries: one per rollout per metric, each filtered to its own model."""
    window = f"{interval:.0f}s"
    queries = []
    for model in models:
        where = f'namespace="{namespace}",model="{model}",version=~"v1|v2"'
        queries.append(
            "histogram_quantile(0.99, sum by (version, le) "
            f"(rate(model_request_duration_seconds_bucket{{{where}}}[{window}])))"
        )
        queries.append(
            f'sum by (version) (rate(model_requests_total{{{where},outcome="error"}}[{window}])) '
            f"/ sum by (version) (rate(model_requests_total{{{where}}}[{window}]))"
        )
    return queries


def query_per_rollout(
    url: str, queries: list[str], first: float, intervals: int, interval: float
) -> dict[str, float]:
    """Send every query once per interval (a pool of POOL); the slowest interval's wall time."""
    failures, slowest = 0, 0.0

    def ask(promql: str) -> None:
        nonlocal failures
        address = f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(address, timeout=30) as response:
                response.read()
        except OSError:
            failures += 1

    with ThreadPoolExecutor(POOL) as pool:

        def tick(_: float) -> None:
            nonlocal slowest
            t0 = time.monotonic()
            list(pool.map(ask, queries))
            slowest = max(slowest, time.monotonic() - t0)

        run_on_boundaries(first, intervals, interval, tick)
    return {"failures": float(failures), "slowest_interval_seconds": slowest}
