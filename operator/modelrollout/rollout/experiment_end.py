"""How an experiment's rollout stands, read one way for every strategy whose status names a
decision (an A/B test, a Shadow comparison, an interleaving experiment, a bandit): which candidate
the status is about in this call, whether a person aborted its rollout, and whether it is over
without a verdict. Each strategy names the outcome in its own words; reading it in one place keeps
the four from disagreeing about the same history entry."""

from __future__ import annotations

from dataclasses import dataclass

from ..api.v1alpha1 import Outcome, Phase, Reason, Verdict, format_timestamp
from ._decision_state import Run
from .timing import analysis_deadline

__all__ = ["COLLECTING", "EndOfRun", "end_of_run", "ends_at", "judged_decision", "shown_candidate"]

COLLECTING = "Collecting"
"""Every experiment's decision while nothing has decided it yet."""


@dataclass(frozen=True)
class EndOfRun:
    aborted: bool
    """A person aborted the rollout of the candidate."""
    without_verdict: bool
    """It paused or ended on an Inconclusive analysis, or is promoting or promoted regardless
    (the strategies read this only once the analysis has neither passed nor failed)."""


def shown_candidate(run: Run) -> str | None:
    """The candidate an experiment's status shows in this call: the running one, else the one
    whose rollout ended in this very call (a promotion may finish in the call that decided it),
    read once more from the analysis that ended it. None once it ended before this call: the
    status stays as it was, so the last experiment's outcome stays readable."""
    return run.candidate or run.before.candidate_version


def ends_at(run: Run, shown: str | None) -> str | None:
    """When the experiment's analysis runs out of time: its step's deadline while one runs, else
    what the status `shown` said (the time it had, once the rollout has left its steps)."""
    deadline = analysis_deadline(run.spec, run.status)
    return format_timestamp(deadline) if deadline is not None else shown


def end_of_run(run: Run, candidate: str | None) -> EndOfRun:
    """Where the rollout of `candidate` stands, read from its history entry: the open one while
    it runs or rolls back, the closed one once it has ended (the newest entry either way)."""
    status = run.status
    last = status.history[-1] if status.history and status.history[-1].candidate == candidate else None
    reason = last.reason if last is not None else ""
    without_verdict = (
        status.paused_reason == Reason.PAUSED_INCONCLUSIVE.value
        or reason == Reason.ANALYSIS_INCONCLUSIVE.value
        or status.phase in (Phase.PROMOTING, Phase.PROMOTED)
    )
    aborted = last is not None and last.outcome == Outcome.ABORTED.value
    return EndOfRun(aborted=aborted, without_verdict=without_verdict)


def judged_decision(run: Run, candidate: str, *, passed: str, failed: str, without_verdict: str) -> str:
    """The decision of an experiment whose analysis' verdict names its outcome (the A/B test,
    Shadow), in that strategy's words: the last Pass or Fail, else a person's abort, else over
    without a verdict, else `COLLECTING`."""
    analysis = run.status.analysis
    verdict = analysis.verdict if analysis is not None else None
    if verdict == Verdict.FAIL:
        return failed
    if verdict == Verdict.PASS:
        return passed
    end = end_of_run(run, candidate)
    if end.aborted:
        return "Aborted"
    return without_verdict if end.without_verdict else COLLECTING
