"""A repeated announcement is one Event whose `count` grows: the core/v1 event series.

An analysis step that goes on hears the same verdict every interval (`EmitEvent.repeats`). As a
new Event each time, 1,000 rollouts at a 30 s interval would post 2,000 Events a minute that say
nothing new. Kubernetes' own recorder (client-go's EventCorrelator) folds such repeats into the
Event already posted, bumping `count` and `lastTimestamp`; so do we, and write less often still:
the first occurrence is posted at once, the repeats are counted in memory, and the count (with
the newest message, as client-go's aggregator keeps it) is written by one PATCH of the Event
when the series ends (another Event of the rollout, a transition, is announced) or when
`EventSeriesSettings.flush_seconds` have passed since it was last written.

A series is known by its rollout (uid included: a rollout deleted and created again under the
same name starts afresh), the Event's type and its reason: the message may vary within it (a
score, a metric's value); the count of intervals is never in it.

Nothing here survives the process, deliberately: a repeat is not a transition, so it is not
staged in the outbox annotation (which would cost two writes per interval). A crash or restart
loses at most the count bumps not yet written, and the next repeat starts a new Event; the
transitions themselves are still announced exactly once (`outbox`). Memory is one series per
rollout at most, dropped by `forget` when the rollout goes away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..api.v1alpha1 import MESSAGE_MAX_LENGTH, cut, format_timestamp
from ..k8s import KubeClient, KubeError, NotFound
from ..rollout import EmitEvent

__all__ = ["EventSeries", "EventSeriesSettings"]

log = logging.getLogger("modelrollout.events")


@dataclass
class EventSeriesSettings:
    flush_seconds: float = 1800.0
    """Longest a repeated announcement's count goes unwritten while the repeats go on: one PATCH
    of its Event per this many seconds, however short the interval (a transition writes it at
    once). Also keeps the Event alive past the apiserver's `--event-ttl` (an hour by default),
    which every write renews."""


@dataclass
class _Series:
    """One rollout's repeated announcement and the Event that carries it."""

    uid: str | None
    event_name: str
    type: str
    reason: str
    message: str
    first_seen: datetime
    count: int = 1
    written_count: int = 1
    last_seen: datetime = field(init=False)
    written_at: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.last_seen = self.written_at = self.first_seen

    def continues(self, uid: str | None, event: EmitEvent) -> bool:
        return (self.uid, self.type, self.reason) == (uid, event.type, str(event.reason))


@dataclass
class EventSeries:
    """The series in progress, per rollout (`namespace/name`)."""

    client: KubeClient
    settings: EventSeriesSettings = field(default_factory=EventSeriesSettings)
    _series: dict[str, _Series] = field(default_factory=dict)

    def repeat(self, involved: dict[str, Any], event: EmitEvent, now: datetime) -> None:
        """Counts one more occurrence of a repeated announcement on `involved` (a ModelRollout
        as read): the first is posted as a new Event, the rest go into its count."""
        key, uid = _key(involved), involved["metadata"].get("uid")
        series = self._series.get(key)
        if series is not None and series.continues(uid, event):
            series.count += 1
            series.message = event.message
            series.last_seen = now
            return
        self.end(involved)
        name = _event_name(involved, now)
        try:
            self.client.create_event(involved, event.type, str(event.reason), event.message, name=name)
        except KubeError as error:  # best effort, as every Event: the next repeat tries again
            log.info("%s: the Event %s was not posted: %s", key, event.reason, error)
            return
        self._series[key] = _Series(uid, name, event.type, str(event.reason), event.message, now)

    def flush_due(self, involved: dict[str, Any], now: datetime) -> None:
        """Writes the count of the rollout's series if it moved and went unwritten for
        `flush_seconds`. Called at the end of every reconcile, so a series whose repeats stopped
        without a transition (Prometheus silent) still gets its count out."""
        key = _key(involved)
        series = self._series.get(key)
        if series is None or series.count == series.written_count:
            return
        if (now - series.written_at).total_seconds() >= self.settings.flush_seconds:
            self._write(key, series, involved, now)

    def end(self, involved: dict[str, Any]) -> None:
        """Another Event of the rollout is about to be posted: the series in progress is over,
        its count written if it moved, so the Events read in order of time."""
        key = _key(involved)
        series = self._series.pop(key, None)
        if series is not None and series.count != series.written_count:
            self._write(key, series, involved, series.last_seen)

    def forget(self, namespace: str, name: str) -> None:
        """The rollout is gone: its series with it, unwritten count included (its Events go too)."""
        self._series.pop(f"{namespace}/{name}", None)

    def count(self, namespace: str, name: str) -> int:
        """Occurrences counted in the rollout's series in progress (0: none)."""
        series = self._series.get(f"{namespace}/{name}")
        return 0 if series is None else series.count

    def __len__(self) -> int:
        return len(self._series)

    def _write(self, key: str, series: _Series, involved: dict[str, Any], now: datetime) -> None:
        patch = {
            "count": series.count,
            "lastTimestamp": format_timestamp(series.last_seen),
            "message": cut(series.message, MESSAGE_MAX_LENGTH),
        }
        series.written_at = now  # a refused write is not retried before the next flush either
        try:
            self.client.patch_event(involved["metadata"]["namespace"], series.event_name, patch)
        except NotFound:  # expired (`--event-ttl`) or deleted: the next repeat posts a new one
            self._series.pop(key, None)
            return
        except KubeError as error:
            log.info("%s: the count of Event %s was not written: %s", key, series.event_name, error)
            return
        series.written_count = series.count


def _key(involved: dict[str, Any]) -> str:
    meta = involved["metadata"]
    return f"{meta['namespace']}/{meta['name']}"


def _event_name(involved: dict[str, Any], now: datetime) -> str:
    """Named as client-go's recorder names Events (object name and the time in nanoseconds, in
    hex): known without reading the answer, so the series can be patched by name."""
    nanoseconds = int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000
    return f"{involved['metadata']['name']}.{nanoseconds:x}"
