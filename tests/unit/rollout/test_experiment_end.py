"""How an experiment's rollout ended, read one way for the A/B test, Shadow, Interleaved and
Bandit statuses: the candidate a status is about in this call, and how its rollout stopped
(aborted by a person, superseded, past its progress deadline) or is over without a verdict."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from modelrollout.api.v1alpha1 import AnalysisStatus, ModelRolloutStatus
from modelrollout.rollout import Observations
from modelrollout.rollout._decision_state import Run
from modelrollout.rollout.experiment_end import (
    ABORTED,
    DEADLINE_EXCEEDED,
    SUPERSEDED,
    WITHOUT_VERDICT,
    end_of_run,
    ends_at,
    judged_decision,
    shown_candidate,
)

from ...fixtures.rollout_world import T0, make_spec, stamp, status_at

SPEC = make_spec([{"setWeight": 20}, {"analysis": {"maxDuration": "10m"}}])
"""Step 2 is the experiment's analysis."""
RUNNING = None
"""Nothing but a verdict ends it (running, a failure the verdict names, an undo)."""
NO_VERDICT = WITHOUT_VERDICT


def run_of(status: ModelRolloutStatus, before: ModelRolloutStatus | None = None) -> Run:
    """A `decide` call that starts from `before` (default: `status`) and has reached `status`."""
    run = Run(SPEC, before or status, Observations(generation=1), T0)
    run.status = status
    return run


def ended(phase: str, outcome: str, reason: str, **fields: Any) -> ModelRolloutStatus:
    """`phase` with the candidate's history entry closed as `outcome` for `reason`."""
    status = status_at(phase, outcome=outcome, reason=reason, **fields)
    status.history[-1].finished_at = stamp(T0)
    return status


@pytest.mark.parametrize(
    ("status", "end"),
    [
        pytest.param(status_at("Progressing", step=1), RUNNING, id="running"),
        pytest.param(
            status_at("Paused", step=1, paused_reason="PausedByUser"), RUNNING, id="paused-by-a-user"
        ),
        pytest.param(
            status_at("Paused", step=1, paused_reason="PausedInconclusive"),
            NO_VERDICT,
            id="paused-inconclusive",
        ),
        pytest.param(status_at("Promoting", step=2), NO_VERDICT, id="promoting"),
        pytest.param(
            status_at("RollingBack", step=1, outcome="RolledBack", reason="AnalysisFailed"),
            RUNNING,
            id="rolling-back-on-failure",
        ),
        pytest.param(ended("RolledBack", "RolledBack", "AnalysisFailed", step=1), RUNNING, id="rolled-back"),
        pytest.param(
            status_at("RollingBack", step=1, outcome="RolledBack", reason="AnalysisInconclusive"),
            NO_VERDICT,
            id="rolling-back-inconclusive",
        ),
        pytest.param(
            ended("RolledBack", "RolledBack", "AnalysisInconclusive", step=1),
            NO_VERDICT,
            id="rolled-back-inconclusive",
        ),
        pytest.param(
            ended("RolledBack", "RolledBack", "ProgressDeadlineExceeded", step=0),
            DEADLINE_EXCEEDED,
            id="missed-deadline",
        ),
        pytest.param(
            status_at("Paused", step=1, paused_reason="ProgressDeadlineExceeded"),
            DEADLINE_EXCEEDED,
            id="paused-at-the-deadline",
        ),
        pytest.param(
            status_at("RollingBack", step=1, outcome="Aborted", reason="Aborted"), ABORTED, id="being-aborted"
        ),
        pytest.param(ended("RolledBack", "Aborted", "Aborted", step=1), ABORTED, id="aborted"),
        pytest.param(ended("RolledBack", "RolledBack", "Undone", step=None), RUNNING, id="undone"),
    ],
)
def test_how_the_candidates_rollout_ended(status: ModelRolloutStatus, end: str | None) -> None:
    assert end_of_run(run_of(status), "v8") == end


@pytest.mark.parametrize(
    ("phase", "outcome", "reason", "end"),
    [
        ("Promoted", "Superseded", "candidate removed from the spec", SUPERSEDED),
        ("Pending", "Superseded", "superseded by v9", SUPERSEDED),
        ("Promoted", "Aborted", "Aborted", ABORTED),
        ("Promoted", "RolledBack", "ProgressDeadlineExceeded", DEADLINE_EXCEEDED),
        ("Promoted", "RolledBack", "AnalysisFailed", RUNNING),
    ],
    ids=[
        "superseded-with-the-stable-serving",
        "superseded-while-the-newer-candidate-waits",
        "aborted-then-superseded",
        "missed-deadline-then-superseded",
        "failed-then-superseded",
    ],
)
def test_a_superseded_candidate_ended_as_its_entry_says(
    phase: str, outcome: str, reason: str, end: str | None
) -> None:
    """A supersession leaves the phase Promoted (Pending while the newer candidate waits), which
    says nothing of the experiment: its entry does, Superseded, or the outcome of the rollback
    already under way. (`superseded-with-the-stable-serving` read as over without a verdict
    before: the decision words NotSuperior, Inconclusive, NoPreference, NoStop it did not reach.)"""
    assert end_of_run(run_of(ended(phase, outcome, reason, step=None)), "v8") == end


def test_the_promoted_candidate_is_over_without_a_verdict_unless_its_analysis_passed() -> None:
    """Promoted is what `withoutVerdict` says for any promotion; the strategies read it only
    after the analysis' Pass, which names the winner instead."""
    promoted = ended("Promoted", "Promoted", "", step=None)
    promoted.candidate_version = None
    assert end_of_run(run_of(promoted), "v8") == NO_VERDICT


def test_an_entry_of_another_candidate_says_nothing_of_this_one() -> None:
    aborted = ended("RolledBack", "Aborted", "Aborted", step=1)
    assert end_of_run(run_of(aborted), "v9") == RUNNING
    assert end_of_run(run_of(aborted), None) == RUNNING


def test_the_status_shows_the_running_candidate_then_the_one_that_ended_in_this_call_only() -> None:
    running = status_at("Progressing", step=1)
    assert shown_candidate(run_of(running)) == "v8"
    rolled_back = ended("RolledBack", "RolledBack", "AnalysisFailed", step=1)
    assert shown_candidate(run_of(rolled_back)) == "v8", "a rolled-back candidate stays until retry"
    promoted = ended("Promoted", "Promoted", "", step=None, stable="v8")
    promoted.candidate_version = None
    assert shown_candidate(run_of(promoted, before=status_at("Promoting", step=2))) == "v8", (
        "promoted in this very call: read once more, from the analysis that ended it"
    )
    assert shown_candidate(run_of(promoted)) is None, "ended before this call: the status stays as it was"


@pytest.mark.parametrize(
    ("status", "verdict", "decision"),
    [
        pytest.param(status_at("Progressing", step=1), None, "Collecting", id="collecting"),
        pytest.param(status_at("Promoting", step=2), "Pass", "Agrees", id="passed"),
        pytest.param(
            ended("RolledBack", "RolledBack", "AnalysisFailed", step=1), "Fail", "Differs", id="failed"
        ),
        pytest.param(
            ended("RolledBack", "RolledBack", "AnalysisInconclusive", step=1),
            "Inconclusive",
            "Inconclusive",
            id="no-verdict",
        ),
        pytest.param(
            ended("RolledBack", "Aborted", "Aborted", step=1), "Inconclusive", "Aborted", id="aborted"
        ),
        pytest.param(
            status_at("RollingBack", step=2, outcome="Aborted", reason="Aborted"),
            "Pass",
            "Agrees",
            id="aborted-after-a-pass",
        ),
        pytest.param(
            ended("Promoted", "Superseded", "superseded by v9", step=None),
            "Inconclusive",
            "Superseded",
            id="superseded",
        ),
        pytest.param(
            ended("RolledBack", "RolledBack", "ProgressDeadlineExceeded", step=0),
            None,
            "DeadlineExceeded",
            id="missed-deadline-before-any-look",
        ),
    ],
)
def test_an_experiment_decided_by_its_analysis_names_the_verdict_first(
    status: ModelRolloutStatus, verdict: str | None, decision: str
) -> None:
    if verdict is not None:
        status.analysis = AnalysisStatus(started_at=stamp(T0), verdict=verdict)
    words = {"passed": "Agrees", "failed": "Differs", "without_verdict": "Inconclusive"}
    assert judged_decision(run_of(status), "v8", **words) == decision


def test_the_experiment_ends_at_its_steps_deadline_and_keeps_it_once_it_has_left_its_steps() -> None:
    analysing = status_at("Progressing", step=1, analysis_started=T0)
    assert ends_at(run_of(analysing), None) == stamp(T0 + timedelta(minutes=10))
    promoted = ended("Promoted", "Promoted", "", step=None)
    assert ends_at(run_of(promoted), "2030-01-01T00:10:00Z") == "2030-01-01T00:10:00Z"
