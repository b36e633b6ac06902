"""`spec.strategy.shadow`: the candidate judged on mirrored copies of users' requests.

Field docstrings become the CRD's descriptions (`kubectl explain`), so they speak to that reader.
"""

from __future__ import annotations

from pydantic import Field

from . import shadow_rules as rules
from ._model import ApiModel
from ._model import require as _require
from .analysis_spec import AnalysisSpec
from .cel import CelRule
from .durations import DURATION_PATTERN
from .enums import MetricType, StrategyType, TrafficProvider
from .experiment_checks import check_experiment_bounds
from .routes import SetMirrorRoute
from .shadow_rules import AGREEMENT_METRIC, SCORE_DIFFERENCE_METRIC
from .step_analysis import StepAnalysis

__all__ = [
    "AGREEMENT_METRIC",
    "MIRROR_NAME",
    "SCORE_DIFFERENCE_METRIC",
    "ShadowStatus",
    "ShadowStrategy",
    "check_shadow",
    "shadow_refusal",
]

MIRROR_NAME = "shadow"
"""The name of the mirror a Shadow rollout puts in force (`status.routes.mirrors`)."""
DEFAULT_MIN_AGREEMENT = 0.95
DEFAULT_MAX_SCORE_DIFFERENCE = 0.05


class ShadowStrategy(ApiModel):
    """Copy users' requests to the candidate, which never answers a user (its weight stays 0),
    and compare what it would have said with what the stable said: the share of requests whose
    predicted classes agree, the mean absolute difference of the scores, and the candidate's
    latency and errors on its copies (the metrics of `spec.analysis.metrics`, the candidate's
    read from the router's shadow series) against the stable's on the requests it served. Pass
    promotes the candidate to the stable at once; Fail removes the mirror (`analysis.onFailure`).
    Needs `traffic.provider: router`, the only provider that compares predictions."""

    percentage: int = Field(default=100, ge=1, le=100)
    """Percent of users' requests copied to the candidate (1-100, default 100). The copies never
    delay the users' answers; fewer copies only take longer to reach a verdict."""
    max_duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """The longest the comparison runs; the sequential tests end it as soon as they decide.
    Without a verdict by then, `analysis.onInconclusive` applies. Default:
    `analysis.maxDuration`."""
    min_agreement: float = Field(default=DEFAULT_MIN_AGREEMENT, ge=0, lt=1)
    """The candidate passes only if the share of compared requests whose predicted classes all
    equal the stable's is shown to be at least this (non-inferiority, e.g. 0.95); shown to be
    below it, it fails. A score without a class is the class `score >= 0.5`. 0: agreement is
    measured and shown, never deciding."""
    max_score_difference: float = Field(default=DEFAULT_MAX_SCORE_DIFFERENCE, gt=0, le=1)
    """The candidate passes only if the mean absolute difference between its scores and the
    stable's is shown to be at most this; shown to be above it, it fails. Read from the router's
    histogram of differences, whose buckets end at 1: meant for scores between 0 and 1 (a
    difference above 1 can never pass). 1: measured and shown, never deciding."""

    def steps(self) -> tuple[SetMirrorRoute, StepAnalysis]:
        """The program it runs as canary steps: the mirror in force (once the candidate has an
        Available pod), then one analysis until a verdict or `maxDuration`."""
        mirror = SetMirrorRoute(name=MIRROR_NAME, percentage=self.percentage)
        return mirror, StepAnalysis(max_duration=self.max_duration)


def shadow_refusal(strategy: StrategyType, provider: TrafficProvider) -> CelRule | None:
    """The rule of `shadow_rules.SHADOW_NEEDS_ROUTER` a Shadow rollout breaks with `provider`."""
    return rules.SHADOW_NEEDS_ROUTER.get(provider) if strategy == StrategyType.SHADOW else None


def check_shadow(
    strategy: StrategyType, shadow: ShadowStrategy | None, analysis: AnalysisSpec, has_candidate: bool
) -> None:
    """`shadow_rules.SHADOW_SPEC_RULES`, for pydantic."""
    if strategy != StrategyType.SHADOW:
        return
    longest = shadow.max_duration if shadow is not None else None
    check_experiment_bounds(
        longest,
        analysis,
        has_candidate,
        rules.SHADOW_NEEDS_PROMETHEUS,
        rules.SHADOW_MAX_DURATION_COVERS_INTERVAL,
    )
    _require(all(m.type != MetricType.DRIFT for m in analysis.metrics), rules.SHADOW_NO_DRIFT)
    reserved = {AGREEMENT_METRIC, SCORE_DIFFERENCE_METRIC}
    _require(all(m.name not in reserved for m in analysis.metrics), rules.SHADOW_METRIC_NAMES_FREE)


class ShadowStatus(ApiModel):
    """`status.shadow`: what the comparison of the candidate's copies with the stable shows."""

    percentage: int
    """Percent of users' requests copied to the candidate."""
    decision: str = "Collecting"
    """Collecting (no verdict yet), Agrees (the comparison passed: promoted, or being promoted),
    Differs (it failed: rolled back), Inconclusive (no verdict by maxDuration:
    `onInconclusive`), or, when the rollout stopped before a verdict: Aborted (by a person),
    Superseded (the spec asked for a newer candidate, or none), DeadlineExceeded (capacity missed
    `spec.progressDeadline`: `onFailure`). A verdict reached stands: an abort after Agrees keeps
    Agrees (the abort is in `phase` and `history`)."""
    verdict: str | None = None
    """The analysis' verdict at the last look: Pass, Fail or Inconclusive."""
    agreement: float | None = None
    """Share of compared requests whose predicted classes agree with the stable's."""
    agreement_low: float | None = None
    """Lower end of the anytime-valid confidence interval of the agreement."""
    agreement_high: float | None = None
    """Upper end of that interval."""
    agreement_verdict: str | None = None
    """Pass (at least `minAgreement`), Fail (below it) or Inconclusive."""
    score_difference: float | None = None
    """Mean absolute difference between the candidate's scores and the stable's."""
    score_difference_low: float | None = None
    """Lower end of the anytime-valid confidence interval of the mean difference."""
    score_difference_high: float | None = None
    """Upper end of that interval."""
    score_difference_verdict: str | None = None
    """Pass (at most `maxScoreDifference`), Fail (above it) or Inconclusive."""
    compared: int | None = None
    """Requests whose predictions were compared (copies the candidate answered)."""
    scores_compared: int | None = None
    """Scores compared (a request may carry several)."""
    started_at: str | None = None
    """When the comparison started collecting evidence, the mirror in force (RFC 3339)."""
    ends_at: str | None = None
    """When it ends at the latest (`maxDuration`, RFC 3339)."""
    intervals: int = 0
    """Analysis intervals judged so far."""
    message: str = ""
    """The analysis' explanation at the last look."""
