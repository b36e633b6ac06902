"""What became of a version: the `outcome` of a lineage entry.

The vocabulary is `api.v1alpha1.Outcome`, shared with the rollout state machine that records
it; this module only says which outcomes make a version a target for undo.
"""

from __future__ import annotations

from modelrollout.api.v1alpha1 import Outcome

__all__ = ["GOOD_OUTCOMES", "Outcome"]

GOOD_OUTCOMES: frozenset[str] = frozenset({Outcome.STABLE, Outcome.PROMOTED})
"""Outcomes of versions known to serve well: the only targets for undo."""
