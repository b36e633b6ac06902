"""`status.history`: one entry per rollout, newest last, at most `HISTORY_LIMIT` (oldest dropped).

An entry is open (no `finishedAt`) while its rollout runs. Its `outcome` is Progressing until the
candidate's fate is known; a rollback sets the outcome and reason when it starts and `finishedAt`
when the candidate is at zero, so the reason survives a restart in between.
"""

from __future__ import annotations

from ..api.v1alpha1 import HISTORY_LIMIT, HistoryEntry, ModelRolloutStatus, Outcome

__all__ = ["close_entry", "decide_entry", "old_stables", "open_entry", "running_entry"]


def open_entry(status: ModelRolloutStatus, candidate: str, stable: str, at: str) -> None:
    entry = HistoryEntry(candidate=candidate, stable=stable, outcome=Outcome.PROGRESSING.value, started_at=at)
    status.history = [*status.history, entry][-HISTORY_LIMIT:]


def running_entry(status: ModelRolloutStatus, candidate: str) -> HistoryEntry | None:
    if status.history:
        entry = status.history[-1]
        if entry.candidate == candidate and entry.finished_at is None:
            return entry
    return None


def decide_entry(status: ModelRolloutStatus, candidate: str, outcome: Outcome, reason: str) -> None:
    """The outcome is known (a rollback or promotion starts) but not yet realised."""
    entry = running_entry(status, candidate)
    if entry is not None:
        entry.outcome = outcome.value
        entry.reason = reason


def close_entry(
    status: ModelRolloutStatus, candidate: str, outcome: Outcome | None, reason: str | None, at: str
) -> HistoryEntry | None:
    """Finishes the open entry; a None outcome or reason keeps what `decide_entry` set."""
    entry = running_entry(status, candidate)
    if entry is None:
        return None
    if outcome is not None:
        entry.outcome = outcome.value
    if reason is not None:
        entry.reason = reason
    entry.finished_at = at
    return entry


def old_stables(status: ModelRolloutStatus, limit: int) -> list[str]:
    """The stables that promotions replaced, newest first, without the serving one: the
    Deployments `revisionHistoryLimit` keeps for a quick revert."""
    found: list[str] = []
    for entry in reversed(status.history):
        if entry.outcome != Outcome.PROMOTED.value:
            continue
        if entry.stable != status.stable_version and entry.stable not in found:
            found.append(entry.stable)
    return found[:limit]
