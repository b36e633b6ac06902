"""`spec.strategy.abTest`: an A/B test between the stable and the candidate.

Field docstrings become the CRD's descriptions (`kubectl explain`), so they speak to that reader.
"""

from __future__ import annotations

from pydantic import Field

from ._model import ApiModel
from .durations import DURATION_PATTERN

DEFAULT_SPLIT = 50
"""Half the traffic to each version: the split that reaches a verdict with the fewest requests."""


class ABTestStrategy(ApiModel):
    """Serve the candidate a fixed share of traffic and promote it only if it wins: its goal
    metric (the one metric of type `goal`) shown superior and every other metric (the
    guardrails: latency, errors) shown non-inferior."""

    split: int = Field(default=DEFAULT_SPLIT, ge=1, le=99)
    """Percent of traffic the candidate serves for the whole test (1-99, default 50). Exact with
    `gatewayAPI`, `istio` and `router`; `replicas` serves the nearest ratio of whole replicas."""
    duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """Run the test this long and decide at its end: the candidate is promoted if the goal is
    superior then, else `analysis.onInconclusive` applies. Unset: until the sequential test
    decides (superior, or shown not superior by `goal.minEffect`), at most
    `analysis.maxDuration`. A guardrail that fails ends the test at once either way
    (`analysis.onFailure`)."""


class ABTestStatus(ApiModel):
    """`status.abTest`: where the A/B test stands and what its goal shows so far."""

    split: int
    """The candidate's share of traffic the test runs at, in percent."""
    goal: str
    """The goal metric's name."""
    decision: str = "Collecting"
    """Collecting (no verdict yet), Superior (the goal is superior and the guardrails hold, the
    test runs on to its duration), Winner (promoted, or being promoted), NotSuperior (shown not
    superior by `minEffect`, or no verdict at the end: `onInconclusive`), GuardrailFailed, or
    Aborted (by a person)."""
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
