"""Where the evidence of an analysis step begins, kept in status so a restarted operator reads
the same window: the rollout's first analysis step while it carries, and a fresh start for a new
candidate, with `restartPerStep`, and when a person resumes a failed analysis."""

from __future__ import annotations

from datetime import datetime, timedelta

from modelrollout.api.v1alpha1 import ModelRolloutStatus, Verdict, parse_timestamp
from modelrollout.rollout import ActionVerb, AnalysisObservation, ManualAction, analysis_window

from ...fixtures.rollout_world import World, drive, make_spec, ready

STEPS = [
    {"setWeight": 10},
    {"analysis": {}},
    {"setWeight": 50},
    {"pause": {"duration": "1m"}},
    {"analysis": {}},
]
ANALYSIS = {"interval": "30s", "maxDuration": "2m", "onInconclusive": "promote"}


def _world(**analysis: object) -> tuple[World, ModelRolloutStatus]:
    world = World(make_spec(STEPS, analysis={**ANALYSIS, **analysis}), deployments=ready(v7=3))
    status = ModelRolloutStatus.model_validate(
        {"phase": "Promoted", "stableVersion": "v7", "weights": {"v7": 100}}
    )
    return world, status


def _at_step(world: World, status: ModelRolloutStatus, index: int) -> ModelRolloutStatus:
    status, _ = drive(world, status, verdict=Verdict.INCONCLUSIVE, until=lambda s: s.current_step == index)
    return status


def _starts(status: ModelRolloutStatus) -> tuple[datetime | None, datetime | None]:
    assert status.analysis is not None
    return parse_timestamp(status.analysis.started_at), parse_timestamp(status.analysis.evidence_started_at)


def test_the_evidence_of_a_later_step_starts_at_the_first_analysis_step() -> None:
    world, status = _world()
    first_start, first_evidence = _starts(_at_step(world, status, 1))
    assert first_evidence == first_start

    later = _at_step(world, _at_step(world, status, 1), 4)

    started, evidence = _starts(later)
    assert started is not None and first_start is not None and started > first_start
    assert evidence == first_start


def test_restart_per_step_starts_every_step_afresh() -> None:
    world, status = _world(evidence="restartPerStep")

    started, evidence = _starts(_at_step(world, status, 4))

    assert evidence == started


def test_a_new_candidate_starts_its_own_evidence() -> None:
    world, status = _world()
    status = _at_step(world, status, 4)
    world.spec = make_spec(STEPS, candidate="v9", analysis=ANALYSIS)

    status = _at_step(world, status, 1)

    assert status.candidate_version == "v9"
    started, evidence = _starts(status)
    assert evidence == started


def test_resuming_a_failed_analysis_starts_its_evidence_again() -> None:
    world, status = _world(onFailure="pause")
    status = _at_step(world, status, 4)
    first = _starts(status)[1]
    status, _ = drive(world, status, verdict=Verdict.FAIL, until=lambda s: s.phase.value == "Paused")
    world.extra["action"] = ManualAction(ActionVerb.RESUME, "r1")

    status = world.step(status).status

    started, evidence = _starts(status)
    assert evidence == started and first is not None and started is not None and started > first


def test_a_judgement_records_how_many_intervals_its_evidence_spans() -> None:
    world, status = _world()
    status = _at_step(world, status, 4)
    world.now += timedelta(seconds=95)
    _, end = analysis_window(world.spec, status, world.now)
    world.extra["analysis"] = AnalysisObservation(
        verdict=Verdict.INCONCLUSIVE, evaluated_at=end, evidence_intervals=9
    )

    status = world.step(status).status

    assert status.analysis is not None
    assert (status.analysis.runs, status.analysis.evidence_intervals) == (1, 9)


def test_the_weight_change_before_a_pause_is_recorded_where_it_happened() -> None:
    """The 50% step is followed by a one-minute pause: the split changed when the weight did, not
    when the next analysis step began, and that is the time status keeps for the evidence."""
    world, status = _world()
    at_weight = _at_step(world, _at_step(world, status, 1), 3)
    assert at_weight.step_started_at is not None and at_weight.analysis is not None
    changed = at_weight.analysis.split_changes

    later = _at_step(world, at_weight, 4)

    assert later.analysis is not None
    assert changed and later.analysis.split_changes == changed
    started = parse_timestamp(later.analysis.started_at)
    assert started is not None
    assert all((parse_timestamp(t) or started) < started for t in changed)


def test_split_changes_are_cleared_when_the_evidence_restarts() -> None:
    world, status = _world(evidence="restartPerStep")

    later = _at_step(world, status, 4)

    assert later.analysis is not None and later.analysis.split_changes == []


def test_past_the_bound_the_evidence_restarts_rather_than_forget_a_change() -> None:
    from modelrollout.rollout._decision_state import MAX_SPLIT_CHANGES, Run
    from modelrollout.rollout.observations import Observations

    world, status = _world()
    status = _at_step(world, status, 1)
    assert status.analysis is not None
    status.analysis.split_changes = [
        f"2030-01-01T00:{i // 60:02d}:{i % 60:02d}Z" for i in range(MAX_SPLIT_CHANGES)
    ]
    run = Run(world.spec, status, Observations(generation=1), world.now + timedelta(hours=1))

    run.note_split_change()

    analysis = run.status.analysis
    assert analysis is not None and analysis.split_changes == []
    assert parse_timestamp(analysis.evidence_started_at) == world.now + timedelta(hours=1)
