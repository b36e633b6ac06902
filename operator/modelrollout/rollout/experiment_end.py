"""How an experiment's rollout stands, read one way for every strategy whose status names a
decision (an A/B test, a Shadow comparison, an interleaving experiment, a bandit): which candidate
the status is about in this call, and how its rollout stopped before the experiment decided.
Each strategy names its verdicts in its own words; reading the rest in one place keeps the four
from disagreeing about the same history entry.

The one rule (`experiment_decision`): a verdict the experiment reached is its finding and stands,
whatever became of the rollout afterwards. A person who aborts a candidate already judged the
winner (or supersedes it while it is being promoted) stops the rollout, not the finding: the
status block still says the candidate won, which is what the person needs to know to retry it
later, while `status.phase` and `status.history[].outcome` say the rollout was aborted. Only
without a verdict does the block name how the rollout stopped (`STOPS`), and it never shows a
verdict word the experiment did not reach.
"""

from __future__ import annotations

from ..api.v1alpha1 import Outcome, Phase, Reason, Verdict, format_timestamp
from ._decision_state import Run
from .timing import analysis_deadline

__all__ = [
    "ABORTED",
    "COLLECTING",
    "DEADLINE_EXCEEDED",
    "SUPERSEDED",
    "WITHOUT_VERDICT",
    "end_of_run",
    "ends_at",
    "experiment_decision",
    "judged_decision",
    "shown_candidate",
]

COLLECTING = "Collecting"
"""Every experiment's decision while nothing has decided it yet."""
ABORTED = "Aborted"
"""A person aborted the rollout before the experiment reached a verdict."""
SUPERSEDED = "Superseded"
"""The spec stopped asking for the candidate (a newer one, or none) before the experiment
reached a verdict: the experiment was cut short, not decided."""
DEADLINE_EXCEEDED = "DeadlineExceeded"
"""The candidate's capacity did not reach its plan within `spec.progressDeadline` before the
experiment reached a verdict (`onFailure` rolled it back, or paused it for a person)."""
STOPS = (ABORTED, SUPERSEDED, DEADLINE_EXCEEDED)
"""The words every strategy shows, as they are, for a rollout stopped before a verdict."""
WITHOUT_VERDICT = "WithoutVerdict"
"""`end_of_run`'s word for an experiment over (or on hold) with no verdict: `maxDuration`
passed (`onInconclusive`), or a person promoted regardless. Each strategy says it its own way."""


def shown_candidate(run: Run) -> str | None:
    """The candidate an experiment's status shows in this call: the running one, else the one
    whose rollout ended in this very call (a promotion may finish in the call that decided it,
    a supersession releases the candidate in the call that stops it), read once more from the
    analysis that ended it. None once it ended before this call: the status stays as it was, so
    the last experiment's outcome stays readable."""
    return run.candidate or run.before.candidate_version


def ends_at(run: Run, shown: str | None) -> str | None:
    """When the experiment's analysis runs out of time: its step's deadline while one runs, else
    what the status `shown` said (the time it had, once the rollout has left its steps)."""
    deadline = analysis_deadline(run.spec, run.status)
    return format_timestamp(deadline) if deadline is not None else shown


def end_of_run(run: Run, candidate: str | None) -> str | None:
    """How the rollout of `candidate` stopped or ended, read from its history entry (the open
    one while it runs or rolls back, the closed one once it has ended: the newest entry either
    way): one of `STOPS`, `WITHOUT_VERDICT`, or None while nothing but a verdict can end it.

    The entry, not the phase, says why: a supersession leaves the phase Promoted (or Pending
    while the newer candidate waits), and a rollback under way when the candidate was
    superseded keeps its own outcome and reason."""
    status = run.status
    last = status.history[-1] if status.history and status.history[-1].candidate == candidate else None
    outcome = last.outcome if last is not None else ""
    reason = last.reason if last is not None else ""
    if outcome == Outcome.ABORTED.value:
        return ABORTED
    if outcome == Outcome.SUPERSEDED.value:
        return SUPERSEDED
    deadline = Reason.PROGRESS_DEADLINE_EXCEEDED.value
    if reason == deadline or (last is not None and status.paused_reason == deadline):
        return DEADLINE_EXCEEDED
    if (
        status.paused_reason == Reason.PAUSED_INCONCLUSIVE.value
        or reason == Reason.ANALYSIS_INCONCLUSIVE.value
    ):
        return WITHOUT_VERDICT
    if outcome == Outcome.ROLLED_BACK.value:
        return None  # a failure (its verdict names it) or an undo, superseded mid-rollback or not
    return WITHOUT_VERDICT if status.phase in (Phase.PROMOTING, Phase.PROMOTED) else None


def experiment_decision(run: Run, candidate: str, reached: str | None, *, without_verdict: str) -> str:
    """The decision a strategy's status block shows (the module's rule): `reached`, the verdict
    word the strategy read from its analysis, if any; else how the rollout stopped; else
    `without_verdict` (the strategy's word) once it is over without one; else `COLLECTING`."""
    if reached is not None:
        return reached
    end = end_of_run(run, candidate)
    if end is None:
        return COLLECTING
    return without_verdict if end == WITHOUT_VERDICT else end


def judged_decision(run: Run, candidate: str, *, passed: str, failed: str, without_verdict: str) -> str:
    """`experiment_decision` for an experiment whose analysis' verdict is its verdict (the A/B
    test, Shadow), in that strategy's words for a Pass and a Fail."""
    analysis = run.status.analysis
    verdict = analysis.verdict if analysis is not None else None
    reached = passed if verdict == Verdict.PASS else failed if verdict == Verdict.FAIL else None
    return experiment_decision(run, candidate, reached, without_verdict=without_verdict)
