"""The BlueGreen strategy: `spec.strategy.blueGreen` and `status.blueGreen`.

The candidate runs at full size (or `previewReplicas`) beside the stable, reachable only through
its own Service `<rollout>-<candidate>` (the preview); the analysis judges it on the traffic sent
there against the stable on the live traffic. Then the route switches all live traffic to it at
once, the old version stays at full size for `scaleDownDelay` (an abort until then switches back
at once), and is scaled to zero.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from . import crd_rules as rules
from ._model import ApiModel
from ._model import require as _require
from .analysis_spec import AnalysisSpec
from .durations import DURATION_PATTERN, parse_duration
from .step_analysis import StepAnalysis

__all__ = ["BlueGreenStage", "BlueGreenStatus", "BlueGreenStrategy", "PromotionAnalysis", "check_blue_green"]


class BlueGreenStage(StrEnum):
    """Where a BlueGreen rollout stands (`status.blueGreen.stage`), in order; `status.currentStep`
    holds the stage's order, so the rollout's step column counts through them."""

    PREVIEW = "Preview"
    """The candidate scales up beside the stable; live traffic stays on the stable."""
    PRE_PROMOTION_ANALYSIS = "PrePromotionAnalysis"
    """The candidate, at zero live weight, is judged on the traffic sent to its preview Service."""
    AWAITING_PROMOTION = "AwaitingPromotion"
    """`autoPromotion: false`: the switch waits for `kubectl modelrollout promote` (Paused)."""
    SWITCHING = "Switching"
    """The candidate grows from `previewReplicas` to full size before it takes the live traffic."""
    POST_PROMOTION_ANALYSIS = "PostPromotionAnalysis"
    """The live traffic is on the candidate; the old version waits at full size while the
    candidate is judged on its own (custom and resource metrics)."""
    SCALE_DOWN_DELAY = "ScaleDownDelay"
    """The live traffic is on the candidate; the old version stays at full size until
    `status.blueGreen.scaleDownAt`, then goes to zero as the candidate becomes the stable (Promoting)."""

    @property
    def order(self) -> int:
        return list(BlueGreenStage).index(self)

    @property
    def switched(self) -> bool:
        """The live traffic is on the candidate."""
        return self.order >= BlueGreenStage.POST_PROMOTION_ANALYSIS.order


class PromotionAnalysis(StepAnalysis):
    """An analysis around the switch: which of `spec.analysis.metrics` it runs (after the switch,
    name the custom or resource metrics), and its own maxDuration."""


class BlueGreenStrategy(ApiModel):
    """Run the candidate at full size behind a preview Service, judge it there, then switch all
    traffic to it at once. Needs a traffic provider that routes (gatewayAPI, istio or router)."""

    preview_replicas: int | None = Field(default=None, ge=1, le=1000)
    """Replicas of the candidate before the switch (at most `spec.replicas`); it grows to
    `spec.replicas` just before the switch. Default: `spec.replicas` from the start."""
    pre_promotion_analysis: PromotionAnalysis | None = None
    """Judge the candidate on its preview traffic against the stable on the live traffic, with
    `spec.analysis`'s metrics and policies, before the switch. `{}` runs every metric."""
    auto_promotion: bool = True
    """Switch as soon as the candidate is ready (and its pre-promotion analysis passed). False:
    pause (AwaitingPromotion) until `kubectl modelrollout promote`."""
    post_promotion_analysis: PromotionAnalysis | None = None
    """Judge the candidate again after the switch, on the live traffic, with the old version held
    at full size: a failure (`onFailure: rollback`) switches all traffic back at once. The old
    version serves nothing then, so it names `custom` or `resource` metrics, judged on the
    candidate alone."""
    scale_down_delay: str = Field(default="30s", pattern=DURATION_PATTERN, max_length=32)
    """How long the old version stays at full size after the switch (after the post-promotion
    analysis passed, when there is one): until then an abort switches all traffic back at once."""

    def analysis_at(self, index: int) -> PromotionAnalysis | None:
        """The analysis of the stage with this index (`status.currentStep`), None for the others."""
        if index == BlueGreenStage.PRE_PROMOTION_ANALYSIS.order:
            return self.pre_promotion_analysis
        if index == BlueGreenStage.POST_PROMOTION_ANALYSIS.order:
            return self.post_promotion_analysis
        return None


def check_blue_green(strategy: BlueGreenStrategy | None, analysis: AnalysisSpec) -> None:
    """The cross-field rules `bluegreen_rules` gives the apiserver, with the same messages."""
    if strategy is None:
        return
    known = {metric.name: metric.type for metric in analysis.metrics}
    interval = parse_duration(analysis.interval)
    blocks = (
        (strategy.pre_promotion_analysis, rules.BLUE_GREEN_PRE_PROMOTION_RULES),
        (strategy.post_promotion_analysis, rules.BLUE_GREEN_POST_PROMOTION_RULES),
    )
    for block, (needs_metrics, names_exist, covers_interval) in blocks:
        if block is None:
            continue
        _require(bool(known), needs_metrics)
        _require(set(block.metrics or ()) <= set(known), names_exist)
        _require(
            block.max_duration is None or parse_duration(block.max_duration) >= interval, covers_interval
        )
    post = strategy.post_promotion_analysis
    if post is not None:
        alone = rules.BLUE_GREEN_CANDIDATE_ONLY_METRIC_TYPES
        _require(
            post.metrics is not None and all(known.get(name) in alone for name in post.metrics),
            rules.BLUE_GREEN_POST_PROMOTION_CANDIDATE_ONLY,
        )


class BlueGreenStatus(ApiModel):
    """Where a BlueGreen rollout stands; cleared when it ends."""

    stage: BlueGreenStage
    """Preview, PrePromotionAnalysis, AwaitingPromotion, Switching, PostPromotionAnalysis or
    ScaleDownDelay."""
    preview_service: str
    """The candidate's own Service (`<rollout>-<candidate>`): send preview traffic here."""
    active_version: str
    """The version the live traffic goes to."""
    switched_at: str | None = None
    """When the live traffic switched to the candidate (RFC 3339)."""
    scale_down_at: str | None = None
    """When the old version goes to zero (RFC 3339), once the candidate is accepted."""
