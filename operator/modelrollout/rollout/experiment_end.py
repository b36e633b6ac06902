"""How an experiment's last rollout stands, for the strategies whose status names a decision (an
A/B test, a Shadow comparison): aborted by a person, or over without a verdict."""

from __future__ import annotations

from dataclasses import dataclass

from ..api.v1alpha1 import Phase, Reason
from ._decision_state import Run

__all__ = ["EndOfRun", "end_of_run"]


@dataclass(frozen=True)
class EndOfRun:
    aborted: bool
    """A person aborted the rollout of the candidate."""
    without_verdict: bool
    """It paused or ended on an Inconclusive analysis, or is promoting or promoted regardless."""


def end_of_run(run: Run, candidate: str | None) -> EndOfRun:
    """Where the rollout of `candidate` stands, read from the history entry it ended with."""
    status = run.status
    last = status.history[-1] if status.history and status.history[-1].candidate == candidate else None
    reason = last.reason if last is not None else ""
    without_verdict = (
        status.paused_reason == Reason.PAUSED_INCONCLUSIVE.value
        or reason == Reason.ANALYSIS_INCONCLUSIVE.value
        or status.phase in (Phase.PROMOTING, Phase.PROMOTED)
    )
    return EndOfRun(aborted=reason == Reason.ABORTED.value, without_verdict=without_verdict)
