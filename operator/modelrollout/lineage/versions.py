"""The version lineage of one model: which version came from which, and what became of each.

Every version is a node holding its `LineageEntry`; an edge runs from the stable version a
candidate was rolled out from to the candidate. Each version has one parent, so the graph is a
forest. A re-rollout never re-parents a version onto its own descendant (an undo to v8 after v9
keeps v8's parent v7): the history stays acyclic and `ancestors` stays meaningful.

Status keeps the last `LINEAGE_LIMIT` entries in the order versions first appeared; the oldest
fall off first, but never the current stable or the candidate under way. A parent that fell off
still appears by name at the end of `ancestors`, since the entry that names it survives.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import networkx as nx

from modelrollout.api.v1alpha1 import (
    LINEAGE_LIMIT,
    LineageEntry,
    MetricResult,
    Outcome,
    format_timestamp,
    parse_timestamp,
)

from .outcomes import GOOD_OUTCOMES

__all__ = ["UnknownVersionError", "VersionLineage"]

_EARLIEST = datetime.min.replace(tzinfo=UTC)
"""Where an entry without a (readable) timestamp sorts: before everything that has one, so a
hand-edited status reorders nothing it did not touch."""


class UnknownVersionError(KeyError):
    """A query named a version the lineage has never seen (or has dropped)."""


class VersionLineage:
    """Versions of one model as a networkx DiGraph; built from and written back to status."""

    def __init__(self) -> None:
        self._entries: dict[str, LineageEntry] = {}
        """In the order versions first appeared: the order of `status.lineage`."""
        self._graph: Any = nx.DiGraph()
        self._stable: str | None = None

    @classmethod
    def from_status(cls, entries: Sequence[LineageEntry]) -> VersionLineage:
        """The current stable is the good version that most recently became stable, so it need
        not be stored separately. A duplicated version (a hand-edited status) keeps its last entry."""
        lineage = cls()
        for entry in entries:
            lineage._entries.pop(entry.version, None)
            lineage._entries[entry.version] = entry.model_copy(deep=True)
        lineage._relink()
        good = lineage._good_in_stable_order()
        lineage._stable = good[-1] if good else None
        return lineage

    def to_status(self) -> list[LineageEntry]:
        """At most `LINEAGE_LIMIT` entries. Recording keeps at most one version Progressing, so
        the protected entries always fit; only a hand-edited status can force one of them out."""
        versions = list(self._entries)
        excess = len(versions) - LINEAGE_LIMIT
        if excess > 0:
            protected = {v for v in versions if self._is_protected(v)}
            dropped = [v for v in versions if v not in protected][:excess]
            if len(dropped) < excess:
                others = [v for v in versions if v in protected and v != self._stable]
                dropped += others[: excess - len(dropped)]
            gone = set(dropped)
            versions = [v for v in versions if v not in gone]
        return [self._entries[v].model_copy(deep=True) for v in versions]

    @property
    def stable(self) -> str | None:
        return self._stable

    def versions(self) -> list[str]:
        return list(self._entries)

    def entry(self, version: str) -> LineageEntry:
        return self._require(version).model_copy(deep=True)

    def __contains__(self, version: object) -> bool:
        return version in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    # Recording. Every call is idempotent, because a reconcile may run twice after a restart.

    def record_stable(self, version: str, parameters: dict[str, Any] | None, at: datetime) -> None:
        """The first version seen, or a version a person made the stable by hand. A version
        already recorded keeps its history and only becomes the stable again."""
        if version == self._stable:
            return
        known = self._entries.get(version)
        if known is None:
            self._add(version, Outcome.STABLE, parameters, at)
        else:
            outcome = known.outcome if known.outcome in GOOD_OUTCOMES else Outcome.STABLE.value
            self._update(version, outcome=outcome, promoted_at=format_timestamp(at))
        self._stable = version

    def record_candidate(
        self, version: str, parent: str | None, parameters: dict[str, Any] | None, at: datetime
    ) -> None:
        """A rollout started. Another version still Progressing is marked Superseded, since one
        ModelRollout runs one candidate at a time. A known version is rolled out again: its entry
        is reset to Progressing, keeping created_at (when it first appeared)."""
        if version == self._stable:
            raise ValueError(f"version {version!r} is the stable version; it cannot be a candidate")
        for other, entry in list(self._entries.items()):
            if other != version and entry.outcome == Outcome.PROGRESSING:
                self.record_superseded(other, at, reason=f"superseded by {version}")
        known = self._entries.get(version)
        if known is None:
            self._add(version, Outcome.PROGRESSING, parameters, at)
        elif known.outcome == Outcome.PROGRESSING:
            self._update(version, parameters=copy.deepcopy(parameters))
        else:
            self._update(
                version,
                parameters=copy.deepcopy(parameters),
                outcome=Outcome.PROGRESSING.value,
                rolled_back_at=None,
                reason="",
                metrics=None,
            )
        self._adopt(version, parent)

    def record_promoted(
        self, version: str, at: datetime, metrics: Sequence[MetricResult] | None = None, reason: str = ""
    ) -> None:
        """The version became the stable; the old stable becomes its parent (unless that would
        make the version its own ancestor, as in an undo) and keeps its own outcome."""
        if version == self._stable and self._require(version).outcome in GOOD_OUTCOMES:
            return
        self._ensure(version, at)
        self._adopt(version, self._stable)
        self._update(
            version,
            outcome=Outcome.PROMOTED.value,
            promoted_at=format_timestamp(at),
            reason=reason,
            **_metrics_update(metrics),
        )
        self._stable = version

    def record_rolled_back(
        self, version: str, at: datetime, reason: str = "", metrics: Sequence[MetricResult] | None = None
    ) -> None:
        self._close(version, Outcome.ROLLED_BACK, at, reason, metrics)

    def record_aborted(
        self, version: str, at: datetime, reason: str = "", metrics: Sequence[MetricResult] | None = None
    ) -> None:
        self._close(version, Outcome.ABORTED, at, reason, metrics)

    def record_superseded(
        self, version: str, at: datetime, reason: str = "", metrics: Sequence[MetricResult] | None = None
    ) -> None:
        self._close(version, Outcome.SUPERSEDED, at, reason, metrics)

    # Queries.

    def ancestors(self, version: str) -> list[str]:
        """Nearest first: the parent, its parent, ... up to the first version still known."""
        self._require(version)
        chain: list[str] = []
        current = version
        while True:
            parents: list[str] = list(self._graph.predecessors(current))
            if not parents:
                break
            current = parents[0]
            chain.append(current)
        dangling = self._entries[current].parent
        if dangling is not None and dangling not in self._entries:
            chain.append(dangling)
        return chain

    def path_from_root(self, version: str) -> list[str]:
        """Oldest first, ending with `version` itself."""
        return [*reversed(self.ancestors(version)), version]

    def promoted_versions(self) -> list[str]:
        """Every version that serves well (Promoted, or Stable), in the order it last became the
        stable: the choices for an undo."""
        return self._good_in_stable_order()

    def last_good(self, before: str | None = None) -> str | None:
        """The good version that most recently became the stable. With `before`, the one that
        became the stable before `before` did (for a version that never served: before it was
        first rolled out), which is the target of an undo away from `before`."""
        good = self._good_in_stable_order()
        if before is not None:
            self._require(before)
            cutoff = self._stable_order_key(before)
            good = [v for v in good if v != before and self._stable_order_key(v) < cutoff]
        return good[-1] if good else None

    # Helpers.

    def _require(self, version: str) -> LineageEntry:
        try:
            return self._entries[version]
        except KeyError:
            raise UnknownVersionError(version) from None

    def _update(self, version: str, **changes: Any) -> None:
        self._entries[version] = self._entries[version].model_copy(update=changes)

    def _add(self, version: str, outcome: Outcome, parameters: dict[str, Any] | None, at: datetime) -> None:
        """Parentless at first: `_adopt` then sets the parent only if no cycle follows (an old
        entry may still name this version as its dropped parent)."""
        self._entries[version] = LineageEntry(
            version=version,
            parameters=copy.deepcopy(parameters),
            outcome=outcome.value,
            created_at=format_timestamp(at),
        )
        self._relink()

    def _ensure(self, version: str, at: datetime) -> None:
        """Status can lose an entry (a hand edit, or the cap on an old status); recording must
        still work, so an unseen version is added as rolled out from the current stable."""
        if version not in self._entries:
            self._add(version, Outcome.PROGRESSING, None, at)
            self._adopt(version, self._stable)

    def _adopt(self, version: str, parent: str | None) -> None:
        if parent is None or parent == version or self._entries[version].parent == parent:
            return
        if parent in self._entries and self._descends_from(parent, version):
            return
        self._update(version, parent=parent)
        self._relink()

    def _descends_from(self, version: str, ancestor: str) -> bool:
        return version == ancestor or ancestor in self.ancestors(version)

    def _close(
        self,
        version: str,
        outcome: Outcome,
        at: datetime,
        reason: str,
        metrics: Sequence[MetricResult] | None,
    ) -> None:
        """Taking a version out of traffic; the first recorded time and reason win on a repeat."""
        if version == self._stable:
            raise ValueError(f"version {version!r} is the stable version; promote another one first")
        self._ensure(version, at)
        if self._entries[version].outcome == outcome:
            return
        self._update(
            version,
            outcome=outcome.value,
            rolled_back_at=format_timestamp(at),
            reason=reason,
            **_metrics_update(metrics),
        )

    def _relink(self) -> None:
        """Edges follow the `parent` fields; an edge that would close a cycle (only possible in a
        hand-edited status) is left out, so the earlier entry's link wins."""
        self._graph = nx.DiGraph()
        self._graph.add_nodes_from(self._entries)
        for version, entry in self._entries.items():
            parent = entry.parent
            if parent is None or parent not in self._entries or parent == version:
                continue
            if nx.has_path(self._graph, version, parent):
                continue
            self._graph.add_edge(parent, version)

    def _is_protected(self, version: str) -> bool:
        return version == self._stable or self._entries[version].outcome == Outcome.PROGRESSING

    def _stable_order_key(self, version: str) -> tuple[datetime, int]:
        """When the version last became the stable (promotedAt, else createdAt), ties broken by
        the order of appearance."""
        entry = self._entries[version]
        became_stable = entry.promoted_at if entry.outcome in GOOD_OUTCOMES else None
        return parse_timestamp(became_stable or entry.created_at) or _EARLIEST, list(self._entries).index(
            version
        )

    def _good_in_stable_order(self) -> list[str]:
        good = [v for v, entry in self._entries.items() if entry.outcome in GOOD_OUTCOMES]
        return sorted(good, key=self._stable_order_key)


def _metrics_update(metrics: Sequence[MetricResult] | None) -> dict[str, Any]:
    """Metrics are only replaced when new ones are given: a manual decision has none."""
    if metrics is None:
        return {}
    return {"metrics": [metric.model_copy(deep=True) for metric in metrics]}
