"""What became of a version: the `outcome` of a lineage entry.

The API field is a plain string so an old status with an unfamiliar value still loads; this enum is
the vocabulary the operator writes.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["GOOD_OUTCOMES", "Outcome"]


class Outcome(StrEnum):
    """`status.lineage[].outcome`."""

    STABLE = "Stable"
    """Served as the stable version without being rolled out by the operator: the first version
    seen, or one a person set as `spec.stable` by hand."""
    PROGRESSING = "Progressing"
    """The candidate of the rollout under way."""
    PROMOTED = "Promoted"
    """Passed its rollout and became the stable version. It keeps this outcome after a newer
    version replaces it, so it stays a target for undo."""
    ROLLED_BACK = "RolledBack"
    """Taken out of traffic after a failed analysis (or an undo away from it)."""
    ABORTED = "Aborted"
    """Taken out of traffic by a person."""
    SUPERSEDED = "Superseded"
    """Taken out of traffic because a newer candidate replaced it mid-rollout."""


GOOD_OUTCOMES: frozenset[str] = frozenset({Outcome.STABLE, Outcome.PROMOTED})
"""Outcomes of versions known to serve well: the only targets for undo."""
