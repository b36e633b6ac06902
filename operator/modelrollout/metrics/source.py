"""The `MetricSource` interface every metrics provider implements (Flagger's shape).

A source answers PromQL: instant queries at a time, range queries over a window at a step, and
whether it is reachable at all. Two outcomes must never be confused by callers:

* an empty list: the query ran and matched nothing. That is "no data", not zero.
* `MetricSourceError`: the query could not be answered (unreachable, timeout, bad query). The
  analysis treats it as Inconclusive, never as a pass and never as a failure; its subclass
  `MetricSourceRefused` is a configuration error the operator will not work around.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

Point = tuple[float, float]
"""(unix seconds, value): Prometheus' own representation of one sample."""


class MetricSourceError(Exception):
    """The source could not answer; carries a message a person can act on."""


class MetricSourceRefused(MetricSourceError):
    """The operator will not query this source as the spec configures it (plain http with
    credentials, an address outside the allow-list, an unlabelled Secret...). Unlike an outage it
    ends only when a person fixes the spec or the operator's flags, so the analysis reports it as
    a configuration error with `configuration_error` as the reason."""

    def __init__(self, message: str, configuration_error: str) -> None:
        super().__init__(message)
        self.configuration_error = configuration_error


def check_step(step: float) -> None:
    """MetricSourceError for a range query's step that is not a positive number of seconds, so
    every source refuses it alike (and before any request is sent)."""
    if not math.isfinite(step) or step <= 0:
        raise MetricSourceError(f"invalid step {step!r}: must be a positive number of seconds")


@dataclass(frozen=True)
class Series:
    """One series of an instant query's result."""

    labels: Mapping[str, str]
    value: float
    """May be NaN when the PromQL expression produced NaN (e.g. 0/0): callers treat it as no data."""
    timestamp: float
    """Unix seconds of the evaluation."""


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range query's result, its points in time order."""

    labels: Mapping[str, str]
    points: tuple[Point, ...]


@runtime_checkable
class MetricSource(Protocol):
    """Where metric values come from. Implementations raise `MetricSourceError`, nothing else."""

    def query(self, promql: str, at: datetime) -> list[Series]:
        """Evaluate `promql` at one instant."""
        ...

    def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[RangeSeries]:
        """Evaluate `promql` at `start`, `start + step`, ... up to `end` (inclusive); `step` in seconds."""
        ...

    def is_online(self) -> bool:
        """Whether the source answers at all (a trivial query succeeds)."""
        ...
