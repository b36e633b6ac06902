"""The operator's apiserver requests per idle rollout per interval, from the audit log: what
`test_scale_requests` and `test_route_requests` hold to issue 22's target."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from modelrollout_dev import LocalCluster, fleet
from modelrollout_dev.audit import OPERATOR_USER, audit_counts, format_counts


@contextmanager
def idle_operator(cluster: LocalCluster, log: Path, prefix: str) -> Iterator[str]:
    """Yields a new namespace that an operator with default flags serves (its log at `log`)."""
    namespace = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kubeconfig = fleet.install_operator(cluster)
    cluster.kubectl("create", "namespace", namespace)
    process = fleet.start_operator(namespace, kubeconfig, log)
    try:
        yield namespace
    finally:
        fleet.stop_operator(process)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def assert_idle_requests_within(
    cluster: LocalCluster, namespace: str, rollouts: int, interval: float, windows: int, target: float
) -> None:
    """Once every rollout of `namespace` has run its analysis twice, `windows` windows of
    `interval` seconds hold at most `target` operator requests per rollout per window, summed
    over the windows (a burst in one, a slow safety resync, is allowed if the others make up for
    it), while every rollout's analysis goes on (few requests not because the operator stalled)."""

    def settled() -> bool:
        seen = fleet.statuses(cluster, namespace)
        return len(seen) == rollouts and all(fleet.analysis_runs(s) >= 2 for s in seen.values())

    fleet.wait_for(settled, 60, "every rollout to have run its analysis twice", every=1.0)
    runs_before = {name: fleet.analysis_runs(s) for name, s in fleet.statuses(cluster, namespace).items()}
    start = datetime.now(UTC)
    time.sleep(windows * interval + 1.0)  # +1: the apiserver writes an entry when the response ends
    runs_after = {name: fleet.analysis_runs(s) for name, s in fleet.statuses(cluster, namespace).items()}

    counted = [
        audit_counts(
            cluster.audit_log,
            OPERATOR_USER,
            start + timedelta(seconds=i * interval),
            start + timedelta(seconds=(i + 1) * interval),
        )
        for i in range(windows)
    ]
    per_window = [sum(window.values()) for window in counted]
    everything: Counter[tuple[str, str]] = sum(counted, Counter())
    total = sum(everything.values())
    assert total > 0, f"no audited request of {OPERATOR_USER} in {cluster.audit_log}"
    stalled = sorted(name for name, runs in runs_after.items() if runs - runs_before[name] < windows - 1)
    assert not stalled, f"analysis did not move on in {windows} intervals for {stalled}"
    shown = format_counts(everything, per=rollouts * windows)
    print(f"{total} operator requests, per window {per_window}, per rollout per interval:\n{shown}")
    allowed = target * rollouts * windows
    assert total <= allowed, (
        f"{total} operator requests in {windows} windows of {interval:.0f} s (per window {per_window}), "
        f"{total / (rollouts * windows):.2f} per rollout per interval, allowed {allowed:.0f} ({target}); "
        f"per rollout per interval by verb and resource:\n{shown}"
    )
