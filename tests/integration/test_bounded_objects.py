"""The largest ModelRollout the CRD admits, on a real apiserver, stays far below etcd's limit once
the operator has written its status: with a Prometheus answering every query with a 200 KB
error page, and a lineage already full of the largest entries.

The operator's own `Reconciler` runs against the apiserver (`ApiKubeClient`); the analysis is
the real evaluation against a loopback HTTP server playing Prometheus.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import STATUS_MAX_BYTES, Phase, stored_size
from modelrollout.controller.analysis_batcher import analysis_request, observation
from modelrollout.controller.outbox import ANNOTATION_PENDING_EVENTS
from modelrollout.controller.reconcile import Reconciler
from modelrollout.evaluation import evaluate_interval
from modelrollout.k8s import ApiKubeClient
from modelrollout.metrics import PrometheusSource
from modelrollout_dev import LocalCluster

from ..fixtures.loopback import answering
from ..fixtures.worst_case import STABLE, long_name, parameters, worst_case_spec
from .test_crd_validation import manifest, rollouts  # noqa: F401  (the CRD installed, a namespace)

OBJECT_BOUND = 256 * 1024
"""The whole object, spec at its largest, as the README states."""
ERROR_PAGE = json.dumps({"status": "error", "errorType": "bad_data", "error": "<" * 200_000}).encode()


@pytest.fixture
def failing_prometheus() -> Iterator[PrometheusSource]:
    """Every query answered with a 400 and a 200 KB error body."""
    with answering(400, ERROR_PAGE) as address:
        yield PrometheusSource(address, timeout=5, retries=0)


def full_lineage() -> dict[str, Any]:
    """A status as a long-lived rollout leaves it: 48 old versions with the largest parameters and
    reasons, and 20 finished rollouts (written by the test, under the apiserver's own limit)."""
    old = [
        {"version": f"v{index:03d}", "parent": "v000", "outcome": "RolledBack", "parameters": parameters(),
         "reason": "r" * 2000, "createdAt": "2030-01-01T00:00:00Z"}
        for index in range(48)
    ]  # fmt: skip
    history = [
        {"candidate": f"v{index:03d}", "stable": "v000", "outcome": "RolledBack", "reason": "h" * 2000}
        for index in range(20)
    ]
    return {"lineage": old, "history": history}


def read(cluster: LocalCluster, namespace: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        cluster.kubectl("get", "mro", name, "-n", namespace, "-o", "json").stdout
    )
    return result


@pytest.mark.cluster
def test_the_largest_rollout_stays_small_with_a_200kb_error_from_prometheus(
    rollouts: tuple[LocalCluster, str],  # noqa: F811
    failing_prometheus: PrometheusSource,
    tmp_path: Path,
) -> None:
    cluster, namespace = rollouts
    # Given the largest spec the CRD admits, its Service and its 16 upstream models
    model, service = long_name("worst", 40), long_name("svc")
    upstream = [long_name(f"up{index:02d}", 40) for index in range(16)]  # a model name: at most 40
    stable_only = [{"model": name, "service": name, "stable": {"version": "v1"}} for name in upstream]
    documents = "---\n".join(manifest(spec, spec["model"], namespace) for spec in stable_only)
    cluster.kubectl("apply", "--server-side", "-f", "-", input=documents)
    cluster.kubectl("create", "service", "clusterip", service, "--tcp=80:8080", "-n", namespace)
    spec = worst_case_spec(model, service, upstream)
    cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest(spec, model, namespace))
    seeded = tmp_path / "status.json"  # too long for a command line
    seeded.write_text(json.dumps({"status": full_lineage()}))
    cluster.kubectl(
        "patch",
        "mro",
        model,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        f"--patch-file={seeded}",
    )
    assert stored_size(read(cluster, namespace, model)["status"]) > 4 * STATUS_MAX_BYTES, "seeded large"

    # When the operator's reconciler brings it to its first analysis step
    reconciler = Reconciler(ApiKubeClient(cluster.api_client()))
    deadline = time.monotonic() + 20
    while True:
        loaded = reconciler.load(namespace, model)
        assert loaded is not None and loaded.spec is not None, loaded and loaded.spec_error
        if loaded.status.phase is Phase.PROGRESSING and loaded.status.current_step == 1:
            break
        assert time.monotonic() < deadline, f"never reached the analysis step: {loaded.status.message}"
        reconciler.reconcile(loaded, None)
        time.sleep(0.3)
    # and judges an interval in which every query got a 200 KB error page
    now = datetime.now(UTC) + timedelta(seconds=65)  # a whole interval after the step started
    request = analysis_request(namespace, model, loaded.spec, loaded.status, now)
    assert request is not None
    judged = observation(evaluate_interval(request, failing_prometheus))
    assert judged is not None
    reconciler.reconcile(loaded, judged, now)

    # Then what the apiserver stores is far below etcd's limit, and the evidence is there, cut
    stored = read(cluster, namespace, model)
    status = stored["status"]
    assert stored_size(status) <= STATUS_MAX_BYTES, stored_size(status)
    assert stored_size(stored) <= OBJECT_BOUND, stored_size(stored)
    assert ANNOTATION_PENDING_EVENTS not in stored["metadata"].get("annotations", {})
    analysis = status["analysis"]
    assert len(analysis["metrics"]) == 16 and analysis["lastRun"]
    assert any("<<<" in metric["explanation"] for metric in analysis["metrics"]), analysis["metrics"][0]
    assert all(len(metric["explanation"]) <= 1024 for metric in analysis["metrics"])
    lineage = {entry["version"]: entry for entry in status["lineage"]}
    assert len(lineage) == 50 and lineage[STABLE]["parameters"] == spec["stable"]["parameters"]
