"""The decision word every experiment's status block shows once its rollout stopped in a way
the experiment did not decide: a newer candidate superseded it, its capacity missed
`progressDeadline`, or a person aborted it (after a verdict or before one). The four strategies
(A/B test, Shadow, Interleaved, Bandit) follow one rule (`rollout.experiment_end`): a verdict
reached stands, else the stop is named, never a verdict word the experiment did not reach."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modelrollout.api.v1alpha1 import (
    INTERLEAVING_METRIC,
    AnalysisStatus,
    BanditStatus,
    MetricResult,
    ModelRolloutSpec,
    ModelRolloutStatus,
    Reason,
    Verdict,
)
from modelrollout.rollout import Observations
from modelrollout.rollout._decision_state import Run
from modelrollout.rollout.abtest import ab_test_status
from modelrollout.rollout.bandit import steer_bandit
from modelrollout.rollout.interleaved import interleaved_status
from modelrollout.rollout.shadow import shadow_status

from ...fixtures.rollout_world import T0, stamp, status_at
from .test_abtest import GOAL, ab_spec
from .test_bandit_machine import bandit_spec
from .test_interleaved import interleaved_spec
from .test_shadow import shadow_spec


def _ab(run: Run) -> str | None:
    run.status.ab_test = ab_test_status(run)
    return run.status.ab_test.decision if run.status.ab_test is not None else None


def _shadow(run: Run) -> str | None:
    run.status.shadow = shadow_status(run)
    return run.status.shadow.decision if run.status.shadow is not None else None


def _interleaved(run: Run) -> str | None:
    run.status.interleaved = interleaved_status(run)
    return run.status.interleaved.decision if run.status.interleaved is not None else None


def _bandit(run: Run) -> str | None:
    steer_bandit(run)
    return run.status.bandit.decision if run.status.bandit is not None else None


Shows = Callable[[Run], str | None]
STRATEGIES: dict[str, tuple[Callable[[], ModelRolloutSpec], Shows, str, str]] = {
    "abTest": (ab_spec, _ab, "Winner", "GuardrailFailed"),
    "shadow": (shadow_spec, _shadow, "Agrees", "Differs"),
    "interleaved": (interleaved_spec, _interleaved, "CandidatePreferred", "StablePreferred"),
    "bandit": (bandit_spec, _bandit, "CandidateBest", "GuardrailFailed"),
}
"""Each strategy's spec, its status block's decision after this call (kept in the status, as
`decide` keeps it), and its words for a Pass
and for a Fail (of every metric, the bandit's guardrails)."""


def judged(status: ModelRolloutStatus, verdict: Verdict | None) -> ModelRolloutStatus:
    """`status` with the experiment's analysis at `verdict` (its test metrics too), as the bandit
    shows it: its winner once its Pass stopped it on the candidate."""
    if verdict is not None:
        tests = [MetricResult(name=name, verdict=verdict) for name in (GOAL["name"], INTERLEAVING_METRIC)]
        status.analysis = AnalysisStatus(started_at=stamp(T0), runs=3, verdict=verdict, metrics=tests)
    status.bandit = BanditStatus(candidate="v8", winner="v8" if verdict == Verdict.PASS else None)
    return status


def decide(strategy: str, before: ModelRolloutStatus, after: ModelRolloutStatus) -> tuple[str | None, Run]:
    spec, shows, _, _ = STRATEGIES[strategy]
    run = Run(spec(), before, Observations(generation=1), T0)
    run.status = after
    return shows(run), run


def released(before: ModelRolloutStatus, phase: str, verdict: Verdict | None) -> ModelRolloutStatus:
    """The status `transitions.supersede` leaves after `before`: nothing running, `phase`
    (Promoted once the candidate is removed, Pending while the newer candidate waits), the
    candidate's entry closed as `before` had it (its caller sets the outcome)."""
    after = judged(status_at(phase, step=None, candidate=None), verdict)
    after.history = [entry.model_copy() for entry in before.history]
    after.history[-1].finished_at = stamp(T0)
    return after


def superseded(
    phase: str, why: str, verdict: Verdict | None
) -> tuple[ModelRolloutStatus, ModelRolloutStatus]:
    """The call in which `transitions.supersede` stopped v8 at its analysis step."""
    before = judged(status_at("Progressing", step=1), verdict)
    after = released(before, phase, verdict)
    after.history[-1].outcome, after.history[-1].reason = "Superseded", why
    return before, after


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    ("phase", "why", "verdict"),
    [
        pytest.param("Promoted", "candidate removed from the spec", Verdict.INCONCLUSIVE, id="removed"),
        pytest.param("Pending", "superseded by v9", Verdict.INCONCLUSIVE, id="v9-waits"),
        pytest.param("Promoted", "superseded by v9", None, id="before-any-look"),
    ],
)
def test_a_candidate_superseded_mid_experiment_shows_superseded(
    strategy: str, phase: str, why: str, verdict: Verdict | None
) -> None:
    before, after = superseded(phase, why, verdict)
    decision, run = decide(strategy, before, after)
    assert decision == "Superseded"
    decided = [event for event in run.events if event.reason == Reason.INTERLEAVING_DECIDED]
    assert decided == [], "no preference was decided: no Event says one was"
    again, _ = decide(strategy, after, after.model_copy(deep=True))
    assert again == "Superseded", "the next calls keep the block as it was"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_verdict_reached_before_the_candidate_was_superseded_stands(strategy: str) -> None:
    before, after = superseded("Promoted", "superseded by v9", Verdict.PASS)
    before.phase = "Promoting"
    assert decide(strategy, before, after)[0] == STRATEGIES[strategy][2]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_failure_rolling_back_when_the_candidate_was_superseded_keeps_its_verdict(strategy: str) -> None:
    before = judged(
        status_at("RollingBack", step=1, outcome="RolledBack", reason="AnalysisFailed"), Verdict.FAIL
    )
    after = released(before, "Promoted", Verdict.FAIL)  # a rollback under way keeps its outcome
    assert decide(strategy, before, after)[0] == STRATEGIES[strategy][3]


def deadline(phase: str, step: int, verdict: Verdict | None) -> ModelRolloutStatus:
    if phase == "Paused":  # onFailure: pause
        status = status_at(phase, step=step, paused_reason="ProgressDeadlineExceeded")
    else:
        status = status_at(phase, step=step, outcome="RolledBack", reason="ProgressDeadlineExceeded")
    return judged(status, verdict)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    "status",
    [
        pytest.param(deadline("RollingBack", 0, None), id="rolling-back-from-the-weight-step"),
        pytest.param(deadline("RolledBack", 0, None), id="rolled-back-from-the-weight-step"),
        pytest.param(deadline("RollingBack", 1, Verdict.INCONCLUSIVE), id="rolling-back-mid-analysis"),
        pytest.param(deadline("RolledBack", 1, Verdict.INCONCLUSIVE), id="rolled-back-mid-analysis"),
        pytest.param(deadline("Paused", 1, Verdict.INCONCLUSIVE), id="paused-for-a-person"),
    ],
)
def test_a_missed_progress_deadline_shows_deadline_exceeded(
    strategy: str, status: ModelRolloutStatus
) -> None:
    assert decide(strategy, status, status.model_copy(deep=True))[0] == "DeadlineExceeded"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_deadline_rollback_superseded_before_it_finished_still_shows_deadline_exceeded(
    strategy: str,
) -> None:
    before = deadline("RollingBack", 1, Verdict.INCONCLUSIVE)
    after = released(before, "Promoted", Verdict.INCONCLUSIVE)
    assert decide(strategy, before, after)[0] == "DeadlineExceeded"


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("phase", ["RollingBack", "RolledBack"])
def test_an_abort_after_a_pass_keeps_the_verdict_as_the_finding(strategy: str, phase: str) -> None:
    status = judged(status_at(phase, step=1, outcome="Aborted", reason="Aborted"), Verdict.PASS)
    assert decide(strategy, status, status.model_copy(deep=True))[0] == STRATEGIES[strategy][2]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("verdict", [None, Verdict.INCONCLUSIVE], ids=["before-any-look", "no-verdict-yet"])
def test_an_abort_before_a_verdict_shows_aborted(strategy: str, verdict: Verdict | None) -> None:
    status = judged(status_at("RolledBack", step=0 if verdict is None else 1, outcome="Aborted"), verdict)
    assert decide(strategy, status, status.model_copy(deep=True))[0] == "Aborted"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_winner_whose_promotion_missed_the_deadline_keeps_its_verdict(strategy: str) -> None:
    """The same rule as an abort after a Pass: the finding stands; the Degraded condition and
    the entry's reason say the promotion's capacity never came."""
    status = judged(deadline("RolledBack", 1, None), Verdict.PASS)
    assert decide(strategy, status, status.model_copy(deep=True))[0] == STRATEGIES[strategy][2]


@pytest.mark.parametrize(
    ("strategy", "word"),
    [
        ("abTest", "NotSuperior"),
        ("shadow", "Inconclusive"),
        ("interleaved", "NoPreference"),
        ("bandit", "NoStop"),
    ],
)
def test_a_candidate_promoted_by_a_person_before_its_analysis_began_is_over_without_a_verdict(
    strategy: str, word: str
) -> None:
    """`promote-full` at the weight step: each strategy's word for no verdict, as when it comes
    after the analysis began (not Collecting: nothing is collected any more)."""
    before = judged(status_at("Progressing", step=0), None)
    after = released(before, "Promoted", None)
    after.history[-1].outcome = "Promoted"
    assert decide(strategy, before, after)[0] == word
