"""`spec.strategy.abTest`: an A/B test between the stable and the candidate.

Field docstrings become the CRD's descriptions (`kubectl explain`), so they speak to that reader.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from . import abtest_rules as rules
from ._model import ApiModel
from ._model import require as _require
from .cel import CelRule
from .durations import DURATION_PATTERN
from .enums import TrafficProvider
from .routes import MATCHES_MAX, Matches, names_once

DEFAULT_SPLIT = 50
"""Half the traffic to each version: the split that reaches a verdict with the fewest requests."""
SEGMENT_ROUTE = "ab-test"
"""The name of the header route a segment becomes (`status.routes.headers`)."""


class ABTestStrategy(ApiModel):
    """Serve the candidate a fixed share of traffic, or a segment of requests, and promote it
    only if it wins: its goal metric (the one metric of type `goal`) shown superior and every
    other metric (the guardrails: latency, errors) shown non-inferior. At most one of `split`
    and `segment`; neither: a split of 50."""

    split: int | None = Field(default=None, ge=1, le=99)
    """Percent of traffic the candidate serves for the whole test (1-99; 50 when neither this nor
    `segment` is set). Exact with `gatewayAPI`, `istio` and `router`; `replicas` serves the
    nearest ratio of whole replicas."""
    segment: Matches | None = Field(default=None, min_length=1, max_length=MATCHES_MAX)
    """The requests the candidate serves for the whole test: those with these headers or this
    cookie (conditions that must all hold, as a `setHeaderRoute`'s `match`: at most 8, each
    header once, one cookie at most); every other request goes to the stable. The candidate
    runs `segmentReplicas` replicas. Needs provider gatewayAPI, istio or router (router: exact header values
    only). The test compares the segment with everyone else, so choose a segment that is a
    random sample of users (e.g. a cookie your edge sets at random), or the effect measured is
    the segment's, not the candidate's."""
    segment_replicas: int | None = Field(default=None, ge=1, le=1000)
    """With `segment`: the candidate's replicas while it serves the segment (default 1); size it
    for the segment's share of the traffic. The replicas are Available before the segment is
    routed to the candidate."""
    duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """Run the test this long and decide at its end: the candidate is promoted if the goal is
    superior then, else `analysis.onInconclusive` applies. Unset: until the sequential test
    decides (superior, or shown not superior by `goal.minEffect`), at most
    `analysis.maxDuration`. A guardrail that fails ends the test at once either way
    (`analysis.onFailure`)."""

    @model_validator(mode="after")
    def _split_or_segment(self) -> Self:
        _require(self.split is None or self.segment is None, rules.AB_TEST_SPLIT_OR_SEGMENT)
        _require(names_once(self.segment), rules.AB_TEST_SEGMENT_NAMES_ONCE)
        _require(self.segment_replicas is None or self.segment is not None, rules.AB_TEST_SEGMENT_REPLICAS)
        return self

    @property
    def share(self) -> int | None:
        """The candidate's percent of traffic, None when it serves a segment instead."""
        if self.segment is not None:
            return None
        return self.split if self.split is not None else DEFAULT_SPLIT


def segment_refusal(provider: TrafficProvider, ab_test: ABTestStrategy | None) -> CelRule | None:
    """The rule of `abtest_rules.AB_TEST_STRATEGY_RULES` a segment breaks with `provider` (None:
    the provider serves it): the refusal the CRD gives, for pydantic."""
    segment = ab_test.segment if ab_test is not None else None
    if segment is None:
        return None
    if provider == TrafficProvider.REPLICAS:
        return rules.REPLICAS_NO_SEGMENT
    values = [match.header_value for match in segment if match.header_value is not None]
    if provider == TrafficProvider.ROUTER and any(value.exact is None for value in values):
        return rules.ROUTER_EXACT_SEGMENT_VALUES
    return None


class ABTestStatus(ApiModel):
    """`status.abTest`: where the A/B test stands and what its goal shows so far."""

    split: int | None = None
    """The candidate's share of traffic the test runs at, in percent (unset with a segment)."""
    segment: Matches | None = Field(default=None, max_length=MATCHES_MAX)
    """The requests the candidate serves instead of a share (`spec.strategy.abTest.segment`)."""
    goal: str
    """The goal metric's name."""
    decision: str = "Collecting"
    """Collecting (no verdict yet), Superior (the goal is superior and the guardrails hold, the
    test runs on to its duration), Winner (promoted, or being promoted), NotSuperior (shown not
    superior by `minEffect`, or no verdict at the end: `onInconclusive`), GuardrailFailed, or,
    when the rollout stopped before a verdict: Aborted (by a person), Superseded (the spec asked
    for a newer candidate, or none), DeadlineExceeded (capacity missed `spec.progressDeadline`:
    `onFailure`). A verdict reached stands: a winner aborted while promoted stays Winner (the
    abort is in `phase` and `history`)."""
    verdict: str | None = None
    """The goal's verdict at the last look: Pass (superior), Fail (shown not superior) or
    Inconclusive."""
    stable: float | None = None
    """The stable's goal value (a rate or a mean)."""
    candidate: float | None = None
    """The candidate's goal value."""
    effect: float | None = None
    """Candidate minus stable, in the goal's units."""
    interval_low: float | None = None
    """Lower end of the anytime-valid confidence interval of the effect."""
    interval_high: float | None = None
    """Upper end of that interval."""
    e_value: float | None = None
    """Evidence that the candidate is better by more than `minEffect`; it wins at 1/alpha."""
    samples_stable: int | None = None
    """Requests (or observations, for a mean) of the stable the goal rests on."""
    samples_candidate: int | None = None
    """Requests (or observations) of the candidate."""
    started_at: str | None = None
    """When the test started collecting evidence, the split served (RFC 3339)."""
    ends_at: str | None = None
    """When it ends at the latest: after `duration`, or `analysis.maxDuration` (RFC 3339)."""
    intervals: int = 0
    """Analysis intervals judged so far."""
    message: str = ""
    """The goal's explanation at the last look."""
