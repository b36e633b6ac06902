"""Property: an operator restarted mid-rollout (status kept, memory lost: its `PointStore`, the
observation of the tick) rebuilds the same evidence from status and Prometheus' points as one
that never stopped, across analysis steps whose traffic split differs."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelrollout.api.v1alpha1 import ModelRolloutStatus
from modelrollout.controller.analysis_batcher import analysis_request, observation
from modelrollout.evaluation import evaluate_intervals
from modelrollout.metrics import BatchedQuerier, PointStore, StaticSource

from ...fixtures.carried_steps import error_source
from ...fixtures.rollout_world import T0, World, make_spec, ready

INTERVAL = 30
STEPS = [
    {"setWeight": 10},
    {"analysis": {"maxDuration": "2m"}},
    {"setWeight": 50},
    {"analysis": {"maxDuration": "4m"}},
    {"setWeight": 80},
    {"analysis": {}},
]
ANALYSIS = {
    "interval": f"{INTERVAL}s",
    "maxDuration": "4m",
    "minSamples": 50,
    "onInconclusive": "promote",
    "metrics": [{"name": "errors", "type": "errorRate", "maxRelativeIncrease": 0.2}],
}
"""A relative margin: the cheaper test keeps the property's examples many and the test fast."""
TICKS = 30
LABELS = {"namespace": "team-a", "model": "fraud-scorer"}

counts = st.tuples(st.integers(0, 400), st.integers(0, 12), st.integers(0, 400), st.integers(0, 12))
"""Per interval: candidate requests and errors, stable requests and errors."""


def _source(intervals: list[tuple[int, int, int, int]]) -> StaticSource:
    times = [(T0 + timedelta(seconds=INTERVAL * (i + 1))).timestamp() for i in range(len(intervals))]
    per_version = {
        version: [(c[offset], min(c[offset], c[offset + 1])) for c in intervals]
        for version, offset in (("v8", 0), ("v7", 2))
    }
    return error_source(times, LABELS, per_version)


def _run(source: StaticSource, restart_at: int | None) -> list[tuple[object, ...]]:
    """Every tick's phase, step and analysis status as the operator would write them."""
    world = World(make_spec(STEPS, analysis=ANALYSIS), deployments=ready(v7=3))
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    store = PointStore(clock=lambda: world.now.timestamp() + 0.5)
    seen: list[tuple[object, ...]] = []
    for tick in range(TICKS):
        if tick == restart_at:
            status = ModelRolloutStatus.model_validate(json.loads(status.model_dump_json(by_alias=True)))
            store = PointStore(clock=lambda: world.now.timestamp() + 0.5)
        world.extra.pop("analysis", None)
        request = analysis_request(LABELS["namespace"], "fraud-scorer", world.spec, status, world.now)
        if request is not None:
            (result,) = evaluate_intervals([request], BatchedQuerier(source, store=store))
            world.extra["analysis"] = observation(result)
        status = world.step(status).status
        analysis = status.analysis.model_dump() if status.analysis is not None else None
        seen.append((status.phase, status.current_step, analysis))
        world.now += timedelta(seconds=INTERVAL)
    return seen


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(intervals=st.lists(counts, min_size=TICKS, max_size=TICKS), restart_at=st.integers(1, TICKS - 1))
def test_a_restart_mid_rollout_rebuilds_the_same_evidence(
    intervals: list[tuple[int, int, int, int]], restart_at: int
) -> None:
    source = _source(intervals)

    assert _run(source, restart_at) == _run(source, None)


def test_the_scenario_carries_evidence_into_a_later_step() -> None:
    """The property above is not vacuous: its rollouts reach a later analysis step whose evidence
    starts at the first one."""
    seen = _run(_source([(100, 1, 300, 3)] * TICKS), None)

    later = [analysis for _, step, analysis in seen if step in (3, 5) and analysis and analysis["runs"]]
    assert later, seen
    assert all(a["evidence_started_at"] != a["started_at"] for a in later)
    assert all(a["evidence_intervals"] > a["runs"] for a in later)


def test_the_scenario_cuts_the_carried_evidence_where_the_weight_changed() -> None:
    """The restarts above re-read the split changes too: the later steps' status lists when each
    weight step began moving capacity and when its weight counted as served (the evidence is cut
    there, tests/unit/evaluation/test_carried_segments.py), and never a change before the evidence
    began."""
    seen = _run(_source([(100, 1, 300, 3)] * TICKS), None)

    by_step = {step: analysis for _, step, analysis in seen if step in (1, 3, 5) and analysis}
    assert by_step[1]["split_changes"] == []
    assert len(by_step[3]["split_changes"]) in (1, 2)
    assert by_step[5]["split_changes"][: len(by_step[3]["split_changes"])] == by_step[3]["split_changes"]
    assert len(by_step[5]["split_changes"]) > len(by_step[3]["split_changes"])
    assert all(t > by_step[5]["evidence_started_at"] for t in by_step[5]["split_changes"])
