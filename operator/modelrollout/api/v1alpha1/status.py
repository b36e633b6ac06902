"""`ModelRollout.status`: what the operator reports. Lists are capped so the object stays small."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .enums import Phase, Verdict
from .spec import ApiModel

HISTORY_LIMIT = 20
"""`status.history` keeps the last 20 rollouts."""
LINEAGE_LIMIT = 50
"""`status.lineage` keeps the last 50 versions (the oldest fall off first)."""


class Condition(ApiModel):
    """The metav1.Condition shape."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""
    last_transition_time: str
    """RFC 3339."""
    observed_generation: int | None = None


class MetricResult(ApiModel):
    """One metric's evidence from the last analysis interval."""

    name: str
    verdict: Verdict
    stable: float | None = None
    """Stable version's value (rate, mean, quantile... per the metric type)."""
    candidate: float | None = None
    """Candidate version's value."""
    effect: float | None = None
    """Candidate minus stable, or relative change, as `explanation` says."""
    interval_low: float | None = None
    """Lower end of the confidence interval/sequence of the effect."""
    interval_high: float | None = None
    """Upper end of the confidence interval/sequence of the effect."""
    p_value: float | None = None
    e_value: float | None = None
    """Evidence against the candidate (sequential); >= 1/alpha means failure."""
    samples_stable: int | None = None
    samples_candidate: int | None = None
    dry_run: bool = False
    explanation: str = ""
    """One sentence a person can read."""


class AnalysisStatus(ApiModel):
    verdict: Verdict | None = None
    """Combined verdict of the last interval."""
    score: float | None = None
    """Kayenta-style score, 0..100."""
    started_at: str | None = None
    """When the current analysis step started (RFC 3339)."""
    last_run: str | None = None
    """When the metrics were last queried (RFC 3339)."""
    runs: int = 0
    """Intervals evaluated in this analysis step."""
    message: str = ""
    metrics: list[MetricResult] = Field(default_factory=list, max_length=32)


class LineageEntry(ApiModel):
    version: str
    parent: str | None = None
    """The stable version this one was rolled out from."""
    parameters: dict[str, Any] | None = None
    outcome: str
    """Stable, Promoted, RolledBack, Aborted, Superseded, Progressing."""
    created_at: str | None = None
    promoted_at: str | None = None
    rolled_back_at: str | None = None
    reason: str = ""
    metrics: list[MetricResult] | None = Field(default=None, max_length=32)
    """The metrics at decision time."""


class HistoryEntry(ApiModel):
    candidate: str
    stable: str
    outcome: str
    reason: str = ""
    started_at: str | None = None
    finished_at: str | None = None


class ActionRecord(ApiModel):
    """The last manual action consumed, so a restart never applies it twice."""

    verb: str
    nonce: str
    at: str
    result: str = ""


class ModelRolloutStatus(ApiModel):
    phase: Phase = Phase.PENDING
    message: str = ""
    observed_generation: int | None = None
    stable_version: str | None = None
    """The version that is safe to serve (after a promotion: the promoted candidate)."""
    candidate_version: str | None = None
    candidate_weight: int = 0
    """Candidate's share of traffic in percent (a scalar for printer columns)."""
    weights: dict[str, int] = Field(default_factory=dict)
    """Share of traffic per version, in percent."""
    current_step: int | None = None
    """Index of the step being executed; equal to the number of steps once all are done."""
    step_started_at: str | None = None
    """When the current step started (RFC 3339); pause durations count from here."""
    rollout_started_at: str | None = None
    paused_reason: str | None = None
    analysis: AnalysisStatus | None = None
    conditions: list[Condition] = Field(default_factory=list, max_length=8)
    history: list[HistoryEntry] = Field(default_factory=list, max_length=HISTORY_LIMIT)
    lineage: list[LineageEntry] = Field(default_factory=list, max_length=LINEAGE_LIMIT)
    last_action: ActionRecord | None = None
    kopf: dict[str, Any] | None = None
    """kopf's own bookkeeping (free-form)."""
