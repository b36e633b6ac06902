"""`ModelRollout.status`: what the operator reports. Lists are capped so the object stays small."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ._model import ApiModel
from .abtest import ABTestStatus
from .bandit import BanditStatus
from .bluegreen import BlueGreenStatus
from .enums import Phase, Verdict
from .interleaved import InterleavedStatus
from .routes import CanaryScale, RoutesStatus
from .shadow import ShadowStatus
from .weights import Percent

HISTORY_LIMIT = 20
"""`status.history` keeps the last 20 rollouts."""
LINEAGE_LIMIT = 50
"""`status.lineage` keeps the last 50 versions (the oldest fall off first)."""


class Condition(ApiModel):
    """The metav1.Condition shape."""

    type: str
    """Ready, Progressing, AnalysisPassing or Degraded."""
    status: Literal["True", "False", "Unknown"]
    """Whether the condition holds; Unknown while it cannot be told."""
    reason: str
    """A CamelCase reason, one of the documented constants (e.g. `AnalysisFailed`)."""
    message: str = ""
    """The details for a person."""
    last_transition_time: str
    """When `status` last changed (RFC 3339)."""
    observed_generation: int | None = None
    """The `metadata.generation` the condition was computed from."""


class MetricResult(ApiModel):
    """One metric's evidence from the last analysis interval."""

    name: str
    """The metric's name in `spec.analysis.metrics`."""
    verdict: Verdict
    """This metric's verdict: Pass, Fail or Inconclusive."""
    stable: float | None = None
    """Stable version's value (rate, mean, quantile... per the metric type)."""
    candidate: float | None = None
    """Candidate version's value."""
    effect: float | None = None
    """Candidate minus stable, or relative change, as `explanation` says (for `fixedTest:
    mannWhitney`, the chance that a candidate request is slower than a stable one, 0.5 for none)."""
    interval_low: float | None = None
    """Lower end of the confidence interval/sequence of the effect."""
    interval_high: float | None = None
    """Upper end of the confidence interval/sequence of the effect."""
    p_value: float | None = None
    """Fixed-horizon p-value of the test (method `fixed`)."""
    e_value: float | None = None
    """Evidence against the candidate (sequential): the metric fails once it reaches its threshold,
    1/alpha or a little more where part of alpha covers an unknown stable rate; the explanation
    names the threshold used."""
    cohens_d: float | None = None
    """Latency only: Cohen's d, the difference of the versions' binned mean log latencies in
    pooled standard deviations (by Cohen's rule of thumb 0.2 is small, 0.8 large). Descriptive:
    it helps read the size of a change and decides nothing."""
    hedges_g: float | None = None
    """Latency only: Hedges' g, Cohen's d with the small-sample bias correction; equal to d for
    all practical purposes once both versions have more than a few dozen requests."""
    samples_stable: int | None = None
    """Requests (or observations) of the stable version the evidence rests on."""
    samples_candidate: int | None = None
    """Requests (or observations) of the candidate version the evidence rests on."""
    dry_run: bool = False
    """The metric was measured and shown but did not decide."""
    configuration_error: str | None = Field(default=None, max_length=64)
    """`MetricNotFound` or `MetricShapeInvalid` when the metric's query is wrong rather than the
    candidate undecided: it can never pass, and `explanation` names the query."""
    explanation: str = ""
    """One sentence a person can read."""


class AnalysisStatus(ApiModel):
    """The last analysis interval: the combined verdict and each metric's evidence."""

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
    evidence_started_at: str | None = None
    """Where the evidence this step judges begins (RFC 3339): the start of the rollout's first
    analysis step when `analysis.evidence` is `carry`, else this step's start. Kept across steps
    in status, so a restarted operator re-reads the same window from Prometheus."""
    evidence_intervals: int = 0
    """Complete intervals the last verdict's evidence spans, across steps when it carries."""
    split_changes: list[str] = Field(default_factory=list, max_length=64)
    """When the canary's traffic split changed within the evidence span (RFC 3339): a weight step
    starting its capacity move and its weight counting as served, at most two per step of the
    (at most 32) steps. The carried evidence counts each stretch of constant split on its own;
    cleared when the evidence restarts, kept in status so a restarted operator cuts the same
    stretches."""
    message: str = ""
    """Why the verdict is what it is, in one sentence."""
    metrics: list[MetricResult] = Field(default_factory=list, max_length=32)
    """Evidence per metric."""


class LineageEntry(ApiModel):
    """One version of the model and what became of it."""

    version: str
    """The model version."""
    parent: str | None = None
    """The stable version this one was rolled out from."""
    parameters: dict[str, Any] | None = None
    """`parameters` of the version's spec, as they were when it was rolled out."""
    outcome: str
    """Stable, Promoted, RolledBack, Aborted, Superseded, Progressing."""
    created_at: str | None = None
    """When the version was first seen (RFC 3339)."""
    promoted_at: str | None = None
    """When it became the stable version (RFC 3339)."""
    rolled_back_at: str | None = None
    """When its rollout was rolled back or aborted (RFC 3339)."""
    reason: str = ""
    """Why it ended the way it did."""
    metrics: list[MetricResult] | None = Field(default=None, max_length=32)
    """The metrics at decision time."""


class HistoryEntry(ApiModel):
    """One finished rollout."""

    candidate: str
    """The version that was rolled out."""
    stable: str
    """The stable version it was compared with."""
    outcome: str
    """Promoted, RolledBack, Aborted or Superseded."""
    reason: str = ""
    """Why it ended that way."""
    started_at: str | None = None
    """When the rollout started (RFC 3339)."""
    finished_at: str | None = None
    """When it reached its outcome (RFC 3339)."""


class ActionRecord(ApiModel):
    """The last manual action consumed, so a restart never applies it twice."""

    verb: str
    """promote, promote-full, abort, pause, resume, retry or undo."""
    nonce: str
    """The nonce of the `modelrollout.io/action` annotation, which makes the action unique."""
    at: str
    """When the action was applied (RFC 3339)."""
    result: str = ""
    """What the action did, or why it was refused."""


class ModelRolloutStatus(ApiModel):
    """What the operator observed and decided; written only by the operator."""

    phase: Phase = Phase.PENDING
    """Pending, Progressing, Paused, Promoting, Promoted, RollingBack, RolledBack or Failed."""
    message: str = ""
    """What the operator is doing or waiting for, in one sentence."""
    observed_generation: int | None = None
    """The `metadata.generation` of the spec this status reflects."""
    stable_version: str | None = None
    """The version that is safe to serve (after a promotion: the promoted candidate)."""
    candidate_version: str | None = None
    """The version being rolled out, if any."""
    candidate_weight: Percent = Field(default=0, validate_default=True)
    """Candidate's share of traffic in percent (a scalar for printer columns)."""
    weights: dict[str, Percent] = Field(default_factory=dict)
    """Share of traffic per version, in percent, as the steps ask for it."""
    effective_weights: dict[str, Percent] = Field(default_factory=dict)
    """Share of traffic per version, in percent, as the traffic provider really serves it:
    `weights` themselves with `gatewayAPI` and `router`; with `istio` the nearest whole percents (a
    VirtualService weight is an integer); with `replicas` the ratio of the versions'
    replicas, which is coarser (at 3 replicas a 5% step serves 33%)."""
    routes: RoutesStatus | None = None
    """The header routes and mirrors in force besides the weights (`setHeaderRoute`,
    `setMirrorRoute`), and an Interleaved experiment's merged rankings, which the traffic
    provider's route objects say; unset when there are none.
    Everything goes back to the stable when the rollout promotes, aborts, rolls back or is undone."""
    canary_scale: CanaryScale | None = None
    """The candidate's size apart from its weight (`setCanaryScale`), while in force."""
    replicas: int | None = Field(default=None, ge=0)
    """Replicas of this rollout across its versions: the `spec.replicas` of every version's
    Deployment, summed as the operator's last reconcile left them. The scale subresource's current
    replicas (`kubectl scale`, HPA): equal to `spec.replicas` at rest, above it while Promoting
    holds the old stable at its size, and counting a version still being retired."""
    selector: str | None = None
    """The label selector (`modelrollout.io/rollout=<name>`) of every version's pods of this
    rollout: what an HPA averages its pod metrics over."""
    current_step: int | None = None
    """Index of the step being executed; equal to the number of steps once all are done."""
    step_started_at: str | None = None
    """When the current step started (RFC 3339); pause durations count from here."""
    rollout_started_at: str | None = None
    """When the current rollout started (RFC 3339)."""
    progress_started_at: str | None = None
    """When the capacity move under way (a weight step, the promotion) started (RFC 3339):
    `spec.progressDeadline` counts from here, across restarts. Unset when no move is under way."""
    paused_reason: str | None = None
    """Why the rollout is paused (a condition reason), while it is."""
    analysis: AnalysisStatus | None = None
    """The last analysis interval's verdict and evidence."""
    blue_green: BlueGreenStatus | None = None
    """A BlueGreen rollout's stage, preview Service and switch times, while one is under way."""
    ab_test: ABTestStatus | None = None
    """An A/B test's split, its goal's effect, interval and verdict, and how far it has come."""
    interleaved: InterleavedStatus | None = None
    """An interleaving experiment's impressions, wins per side, evidence and decision."""
    shadow: ShadowStatus | None = None
    """A Shadow comparison's agreement, score difference, their intervals and verdicts."""
    bandit: BanditStatus | None = None
    """A bandit's posteriors, P(best), weights and estimated regret at its last decision."""
    conditions: list[Condition] = Field(default_factory=list, max_length=8)
    """Ready, Progressing, AnalysisPassing and Degraded, in the metav1.Condition shape."""
    history: list[HistoryEntry] = Field(default_factory=list, max_length=HISTORY_LIMIT)
    """The last 20 finished rollouts with outcome and reason."""
    lineage: list[LineageEntry] = Field(default_factory=list, max_length=LINEAGE_LIMIT)
    """Every version with its parent, parameters, outcome and timestamps (the last 50)."""
    stable_path: list[str] = Field(default_factory=list, max_length=LINEAGE_LIMIT)
    """The stable version's ancestry from the first version known, oldest first, ending with the
    stable itself: how the model got to what serves now."""
    last_good_version: str | None = None
    """The most recent version with a good outcome (Stable or Promoted)."""
    previous_good_version: str | None = None
    """The good version that was the stable before the current one: where an undo would return."""
    last_action: ActionRecord | None = None
    """The last manual action consumed, so a restart never applies it twice."""
    kopf: dict[str, Any] | None = None
    """kopf's own bookkeeping (free-form)."""
