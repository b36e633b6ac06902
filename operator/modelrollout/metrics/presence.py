"""Presence queries asked at a cost that does not grow with what Prometheus retains.

Whether a model has a series at all within `PRESENCE_LOOKBACK` (a day) tells "no errors yet"
from "misnamed" (`queries`). Asked as one query over the whole fleet, Prometheus loads every
sample of every matching series of that day, on every tick: at 1,000 models, a 12-bucket
histogram scraped every 5 s is 18,000 series and 311 million samples to decode by the end of a
day (not refused: `--query.max-samples` bounds the samples held at once, one series' window
here, not those read), and the query costs more with each scrape before that. So a tick asks in
two steps: every model over the last two analysis intervals (about
the samples the range queries read), then the whole day only for the models the first step did
not find, with matchers that select only their series (a model that never had the series costs
an index lookup).

`BatchedQuerier` does the asking; a query it cannot narrow (no selections to narrow to, or a
selector it does not parse) is sent as it was, over the whole fleet and the whole day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from .points import LabelIndex, Selector, series_labels
from .queries import PRESENCE_LOOKBACK, series_presence
from .source import MetricSourceError, Series
from .templates import escape_label_value, escape_regex_literal


@dataclass(frozen=True)
class Presence:
    """What a presence query asks, so the querier can ask it in two steps."""

    series: str
    """The selector whose existence is asked: a metric name, optionally with matchers."""
    recent: float
    """Seconds the first step looks back over the whole fleet: two analysis intervals, which
    hold at least four scrapes (a scrape interval is at most half the analysis interval)."""
    lookback: float = PRESENCE_LOOKBACK


@dataclass
class HeldPresence:
    """A tick's answer so far: the series found, and the selections asked over the whole lookback
    (found or not); later batches of the tick ask only for the selections not settled yet."""

    answer: list[Series]
    settled: set[Selector] = field(default_factory=set)
    complete: bool = False
    """The whole fleet was asked over the whole lookback: nothing is left to ask."""

    def unsettled(self, selectors: Collection[Selector]) -> list[Selector]:
        if self.complete:
            return []
        found = LabelIndex(self.answer, series_labels)
        return sorted(s for s in selectors if s not in self.settled and not found.pick(s))


Send = Callable[[str, datetime], "list[Series] | MetricSourceError"]
"""One instant query to the source (counted, and refused past the deadline, by the querier)."""


def ask_presence(
    send: Send,
    full_text: str,
    presence: Presence,
    at: datetime,
    selectors: Collection[Selector],
    held: HeldPresence | None,
) -> HeldPresence | MetricSourceError:
    """`held` completed for `selectors` (a new one when None). An error leaves `held` as it was."""
    if not selectors or () in selectors:  # the whole answer is wanted: nothing to narrow to
        return held if held is not None and held.complete else _whole(send, full_text, at)
    if held is None:
        recent = send(series_presence(presence.series, presence.recent), at)
        if isinstance(recent, MetricSourceError):
            return recent
        held = HeldPresence(list(recent))
    missing = held.unsettled(selectors)
    if not missing:
        return held
    narrowed = narrowed_selector(presence.series, missing)
    if narrowed is None:  # the whole fleet over the whole lookback holds what `held` found
        return _whole(send, full_text, at)
    found = send(series_presence(narrowed, presence.lookback), at)
    if isinstance(found, MetricSourceError):
        return found
    held.answer = [*held.answer, *found]
    held.settled.update(missing)
    return held


def _whole(send: Send, full_text: str, at: datetime) -> HeldPresence | MetricSourceError:
    answer = send(full_text, at)
    return answer if isinstance(answer, MetricSourceError) else HeldPresence(list(answer), complete=True)


_SELECTOR = re.compile(r"\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(?:\{([^{}]*)\})?\s*")
"""A metric name with optional matchers, no braces inside them (anything else is not narrowed)."""


def narrowed_selector(series: str, selectors: Collection[Selector]) -> str | None:
    """`series` with matchers that keep only the series of `selectors` (their union, or a little
    more: one matcher per label), or None when `series` is not a plain selector."""
    match = _SELECTOR.fullmatch(series)
    if match is None:
        return None
    values: dict[str, set[str]] = {}
    for selector in selectors:
        for name, value in selector:
            values.setdefault(name, set()).add(value)
    added = [_matcher(name, sorted(values[name])) for name in sorted(values)]
    existing = (match.group(2) or "").strip().rstrip(",").strip()
    return f"{match.group(1)}{{{', '.join([existing, *added] if existing else added)}}}"


def _matcher(name: str, values: list[str]) -> str:
    if len(values) == 1:
        return f'{name}="{escape_label_value(values[0])}"'
    return f'{name}=~"{"|".join(escape_regex_literal(value) for value in values)}"'
