"""Nothing stalls a manual action: `abort` is applied without waiting for an analysis, even when
Prometheus accepts connections and never answers (the worst outage: a refused connection fails at
once, this one waits for every timeout). The daemon's `Runtime.reconcile_once` against the
in-memory apiserver and the real `Reconciler`, `AnalysisBatcher` and Prometheus client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from datetime import timedelta
from typing import TypeVar

import pytest

from modelrollout.api.v1alpha1 import ANNOTATION_ACTION, KIND, Verdict
from modelrollout.controller.analysis_batcher import (
    AnalysisBatcher,
    analysis_deadline,
    analysis_request,
    observation,
)
from modelrollout.controller.handlers import Runtime
from modelrollout.controller.reconcile import now_utc
from modelrollout.controller.settings import OperatorSettings

from ...fixtures.black_hole import black_hole
from ...fixtures.fake_cluster import NAME, NAMESPACE, FakeCluster, at, rollout_spec

T = TypeVar("T")

STEPS = [{"setWeight": 25}, {"analysis": {}}, {"setWeight": 50}]
PROMPT_SECONDS = 2.0
"""An abort is applied within this, whatever Prometheus does (its query timeout here is 1 s)."""


@pytest.fixture
def prometheus_black_hole() -> Iterator[str]:
    with black_hole() as address:
        yield address


def _at_the_analysis_step(prometheus: str) -> FakeCluster:
    """A rollout at its analysis step on the real clock, an interval due, Prometheus at `prometheus`."""
    spec = rollout_spec(STEPS)
    spec["analysis"]["prometheus"] = {"address": prometheus, "timeout": "1s"}
    cluster = FakeCluster.with_rollout(spec)
    cluster.now = now_utc() - timedelta(seconds=40)
    cluster.run_until(at("Progressing", 1))
    loaded = cluster.reconciler.load(NAMESPACE, NAME)
    assert loaded is not None and loaded.spec is not None
    due = analysis_request(NAMESPACE, NAME, loaded.spec, loaded.status, now_utc())
    assert due is not None, "an analysis interval is due: the reconcile would ask Prometheus"
    return cluster


def _runtime(cluster: FakeCluster) -> Runtime:
    client = cluster.client
    batcher = AnalysisBatcher(client, batch_window=0.05)
    return Runtime(OperatorSettings(), client, cluster.reconciler, batcher)


def _written_action(cluster: FakeCluster) -> str | None:
    """The action annotation as the daemon's watched copy of the object shows it."""
    annotations = cluster.client.get(KIND, NAMESPACE, NAME)["metadata"].get("annotations") or {}
    return annotations.get(ANNOTATION_ACTION)


def _assert_aborted_promptly(cluster: FakeCluster, took: float) -> None:
    status = cluster.status()
    assert status["phase"] in ("RollingBack", "RolledBack"), status
    assert status["lastAction"]["verb"] == "abort" and status["lastAction"]["result"] == "aborted"
    assert _written_action(cluster) is None, "the action was consumed"
    assert took < PROMPT_SECONDS, f"the abort took {took:.1f}s"


async def _timed(awaitable: Awaitable[T], within: float) -> tuple[T, float]:
    started = time.monotonic()
    result = await asyncio.wait_for(awaitable, within)
    return result, time.monotonic() - started


def test_an_abort_pending_at_the_read_is_applied_without_asking_prometheus(
    prometheus_black_hole: str,
) -> None:
    cluster = _at_the_analysis_step(prometheus_black_hole)
    cluster.action("abort:1")
    runtime = _runtime(cluster)

    _, took = asyncio.run(
        _timed(runtime.reconcile_once(NAMESPACE, NAME, lambda: _written_action(cluster)), PROMPT_SECONDS)
    )

    _assert_aborted_promptly(cluster, took)


def test_an_abort_written_while_prometheus_black_holes_the_analysis_is_applied_at_once(
    prometheus_black_hole: str,
) -> None:
    cluster = _at_the_analysis_step(prometheus_black_hole)
    runtime = _runtime(cluster)

    async def scenario() -> float:
        reconcile = asyncio.create_task(
            runtime.reconcile_once(NAMESPACE, NAME, lambda: _written_action(cluster))
        )
        await asyncio.sleep(0.5)
        assert not reconcile.done(), "the reconcile waits on the analysis"
        cluster.action("abort:1")
        _, took = await _timed(reconcile, PROMPT_SECONDS)
        return took

    took = asyncio.run(scenario())

    _assert_aborted_promptly(cluster, took)


def test_an_analysis_against_a_black_holed_prometheus_is_no_evidence_within_its_deadline(
    prometheus_black_hole: str,
) -> None:
    cluster = _at_the_analysis_step(prometheus_black_hole)
    loaded = cluster.reconciler.load(NAMESPACE, NAME)
    assert loaded is not None and loaded.spec is not None
    request = analysis_request(NAMESPACE, NAME, loaded.spec, loaded.status, now_utc())
    assert request is not None
    batcher = AnalysisBatcher(cluster.client, batch_window=0.05)

    result, took = asyncio.run(_timed(batcher.evaluate(request), 60))

    # Four queries, each held for its 1 s timeout twice (one retry): 8 s without a deadline.
    assert took < analysis_deadline(request.analysis.prometheus) + 0.5
    assert analysis_deadline(request.analysis.prometheus) == 3.0
    assert result.verdict is Verdict.INCONCLUSIVE and result.source_failed
    assert observation(result) is not None, "an Inconclusive interval (not the final look): the step holds"
    assert "did not finish within 3s" in result.judgement.explanation, result.judgement.explanation
