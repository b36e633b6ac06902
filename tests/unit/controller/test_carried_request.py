"""The controller fills the request's evidence start from status, so the window a restarted
operator reads is the one it read before; the judgement's span goes back into status."""

from __future__ import annotations

from datetime import timedelta

from modelrollout.analysis import Judgement
from modelrollout.api.v1alpha1 import AnalysisStatus, ModelRolloutStatus, Verdict, format_timestamp
from modelrollout.controller.analysis_batcher import analysis_request, observation
from modelrollout.evaluation import EvaluationResult

from ...fixtures.rollout_world import T0, make_spec, stamp, status_at

STEPS = [{"setWeight": 10}, {"analysis": {}}, {"setWeight": 50}, {"analysis": {}}]
FIRST = T0
SECOND = T0 + timedelta(minutes=5)
NOW = SECOND + timedelta(minutes=2, seconds=5)


def _status(evidence: str | None = stamp(FIRST)) -> ModelRolloutStatus:
    status = status_at("Progressing", step=3, weight=50, step_started=SECOND)
    status.analysis = AnalysisStatus(started_at=stamp(SECOND), evidence_started_at=evidence)
    return status


def test_the_request_carries_the_evidence_start_recorded_in_status() -> None:
    spec = make_spec(STEPS, analysis={"interval": "30s", "maxDuration": "10m"})

    request = analysis_request("team-a", "fraud", spec, _status(), NOW)

    assert request is not None
    assert (request.started_at, request.evidence_start) == (SECOND, FIRST)
    assert request.carries


def test_restart_per_step_reads_only_the_step() -> None:
    spec = make_spec(STEPS, analysis={"interval": "30s", "maxDuration": "10m", "evidence": "restartPerStep"})

    request = analysis_request("team-a", "fraud", spec, _status(), NOW)

    assert request is not None and not request.carries
    assert request.evidence_start == SECOND


def test_a_status_written_before_evidence_carried_starts_at_the_step() -> None:
    spec = make_spec(STEPS, analysis={"interval": "30s", "maxDuration": "10m"})

    request = analysis_request("team-a", "fraud", spec, _status(evidence=None), NOW)

    assert request is not None and request.evidence_start == SECOND


def test_the_observation_holds_the_span_of_the_evidence() -> None:
    spec = make_spec(STEPS, analysis={"interval": "30s", "maxDuration": "10m"})
    request = analysis_request("team-a", "fraud", spec, _status(), NOW)
    assert request is not None
    result = EvaluationResult(
        request=request,
        evaluated_at=request.evaluated_at,
        final=False,
        intervals=4,
        evidence_intervals=14,
        judgement=Judgement(verdict=Verdict.INCONCLUSIVE, score=0.0, explanation=""),
        metrics=(),
    )

    observed = observation(result)

    assert observed is not None and observed.evidence_intervals == 14
    assert result.status().evidence_started_at == format_timestamp(FIRST)
