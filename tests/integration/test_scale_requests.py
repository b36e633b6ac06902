"""Fifty idle rollouts cost the apiserver at most 1.2 of the operator's requests each per interval.

Counted by the apiserver itself (its audit log, the operator's ServiceAccount as the user), so
whatever the operator does inside (caches, kopf's own calls, retries) is in the count. The
operator runs as a subprocess with its default flags; every rollout sits in an analysis step of
dryRun metrics against a real (empty) Prometheus, so each interval is one Inconclusive look and
nothing else happens.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelrollout_dev import LocalCluster, fleet
from modelrollout_dev.audit import OPERATOR_USER, audit_counts, format_counts

from ..conftest import PrometheusFactory

pytestmark = pytest.mark.cluster

ROLLOUTS = 50
INTERVAL = 5.0
"""Seconds: each rollout's `analysis.interval`, and the length of one counted window."""
WINDOWS = 3
TARGET = 1.2
"""Operator requests per rollout per interval (issue 22), summed over the windows: a burst in
one window (a slow safety resync) is allowed if the others make up for it."""


@pytest.fixture
def operator(cluster: LocalCluster, tmp_path: Path) -> Iterator[str]:
    """Yields the namespace an operator with default flags serves (its log in tmp_path)."""
    namespace = f"scale-{uuid.uuid4().hex[:8]}"
    kubeconfig = fleet.install_operator(cluster)
    cluster.kubectl("create", "namespace", namespace)
    process = fleet.start_operator(namespace, kubeconfig, tmp_path / "operator.log")
    try:
        yield namespace
    finally:
        fleet.stop_operator(process)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_fifty_idle_rollouts_cost_at_most_1_2_requests_each_per_interval(
    cluster: LocalCluster, operator: str, prometheus_factory: PrometheusFactory
) -> None:
    namespace = operator
    prometheus = prometheus_factory.scraping([])
    # given 50 rollouts idling in a dryRun analysis step, analysed every 5 s
    rollouts = fleet.FleetSpec(
        namespace, ROLLOUTS, prometheus.url, interval=f"{INTERVAL:.0f}s", prefix="idle"
    )
    fleet.create_fleet(cluster, rollouts, create_namespace=False)

    # when the operator has settled: every rollout analysed at least twice
    def settled() -> bool:
        seen = fleet.statuses(cluster, namespace)
        return len(seen) == ROLLOUTS and all(fleet.analysis_runs(s) >= 2 for s in seen.values())

    fleet.wait_for(settled, 60, "every rollout to have run its analysis twice", every=1.0)
    runs_before = {name: fleet.analysis_runs(s) for name, s in fleet.statuses(cluster, namespace).items()}
    start = datetime.now(UTC)
    time.sleep(WINDOWS * INTERVAL + 1.0)  # +1: the apiserver writes an entry when the response ends
    runs_after = {name: fleet.analysis_runs(s) for name, s in fleet.statuses(cluster, namespace).items()}

    # then the three 5 s windows hold at most 1.2 operator requests per rollout per window
    windows = [
        audit_counts(
            cluster.audit_log,
            OPERATOR_USER,
            start + timedelta(seconds=i * INTERVAL),
            start + timedelta(seconds=(i + 1) * INTERVAL),
        )
        for i in range(WINDOWS)
    ]
    per_window = [sum(window.values()) for window in windows]
    everything: Counter[tuple[str, str]] = sum(windows, Counter())
    total = sum(everything.values())
    assert total > 0, f"no audited request of {OPERATOR_USER} in {cluster.audit_log}"
    allowed = TARGET * ROLLOUTS * WINDOWS
    # few requests because the analysis goes on with them, not because the operator stalled
    stalled = sorted(name for name, runs in runs_after.items() if runs - runs_before[name] < WINDOWS - 1)
    assert not stalled, f"analysis did not move on in {WINDOWS} intervals for {stalled}"
    print(
        f"{total} operator requests, per window {per_window}:\n"
        + format_counts(everything, per=ROLLOUTS * WINDOWS)
    )
    assert total <= allowed, (
        f"{total} operator requests in {WINDOWS} windows of {INTERVAL:.0f} s (per window {per_window}), "
        f"{total / (ROLLOUTS * WINDOWS):.2f} per rollout per interval, allowed {allowed:.0f} ({TARGET}); "
        "per rollout per interval by verb and resource:\n" + format_counts(everything, per=ROLLOUTS * WINDOWS)
    )
