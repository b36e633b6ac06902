"""CEL rules of the BlueGreen strategy (`spec.strategy.blueGreen`), with the messages pydantic raises.

Kept apart from `crd_rules` (which gathers them) so the BlueGreen model and its rules read together.
"""

from __future__ import annotations

from .cel import CelRule, given_durations, quoted
from .enums import MetricType, StrategyType, TrafficProvider

BLUE_GREEN_ROUTING_PROVIDERS = (TrafficProvider.GATEWAY_API, TrafficProvider.ISTIO, TrafficProvider.ROUTER)
"""Providers whose routes can hold a full-size version at zero traffic (the preview)."""
BLUE_GREEN_CANDIDATE_ONLY_METRIC_TYPES = (MetricType.CUSTOM, MetricType.RESOURCE)
"""Metric types judged on the candidate alone: after the switch the old version serves nothing,
so a comparison with it has no evidence to stand on."""

_BLUE_GREEN = "has(self.strategy) && has(self.strategy.blueGreen)"
_SPEC_METRICS = "has(self.analysis) && has(self.analysis.metrics)"

BLUE_GREEN_NEEDS_ROUTES = CelRule(
    rule=(
        f"!has(self.blueGreen) || (has(self.traffic) && has(self.traffic.provider) && "
        f"self.traffic.provider in {quoted(tuple(p.value for p in BLUE_GREEN_ROUTING_PROVIDERS))})"
    ),
    message=(
        f"strategy.type {StrategyType.BLUE_GREEN.value} cannot work with traffic.provider "
        f"{TrafficProvider.REPLICAS.value}: behind the one Service a full-size candidate would serve at "
        "once; choose gatewayAPI, istio or router"
    ),
    field_path=".traffic.provider",
)
"""On `StrategySpec`, which sees both the block and the provider."""


def _analysis_rules(block: str) -> tuple[CelRule, ...]:
    path = f"self.strategy.blueGreen.{block}"
    present = f"{_BLUE_GREEN} && has({path})"
    return (
        CelRule(
            rule=f"!({present}) || ({_SPEC_METRICS} && size(self.analysis.metrics) > 0)",
            message=f"strategy.blueGreen.{block} needs at least one metric in spec.analysis.metrics",
            field_path=".analysis.metrics",
            reason="FieldValueRequired",
        ),
        CelRule(
            rule=(
                f"!({present}) || !has({path}.metrics) || {path}.metrics.all(n, "
                f"{_SPEC_METRICS} && self.analysis.metrics.exists(m, m.name == n))"
            ),
            message=f"every name in strategy.blueGreen.{block}.metrics must be a metric in spec.analysis.metrics",
            field_path=f".strategy.blueGreen.{block}.metrics",
        ),
        CelRule(
            rule=f"!({present}) || !has(self.analysis) || "
            + given_durations(
                f"duration({path}.maxDuration) >= duration(self.analysis.interval)",
                f"{path}.maxDuration",
                "self.analysis.interval",
            ),
            message=f"strategy.blueGreen.{block}.maxDuration must be at least spec.analysis.interval",
            field_path=f".strategy.blueGreen.{block}.maxDuration",
        ),
    )


BLUE_GREEN_PRE_PROMOTION_RULES = _analysis_rules("prePromotionAnalysis")
BLUE_GREEN_POST_PROMOTION_RULES = _analysis_rules("postPromotionAnalysis")
_POST = "self.strategy.blueGreen.postPromotionAnalysis"
BLUE_GREEN_POST_PROMOTION_CANDIDATE_ONLY = CelRule(
    rule=(
        f"!({_BLUE_GREEN} && has({_POST})) || (has({_POST}.metrics) && {_POST}.metrics.all(n, "
        f"{_SPEC_METRICS} && self.analysis.metrics.exists(m, m.name == n && "
        f"m.type in {quoted(tuple(t.value for t in BLUE_GREEN_CANDIDATE_ONLY_METRIC_TYPES))})))"
    ),
    message=(
        "strategy.blueGreen.postPromotionAnalysis.metrics must name custom or resource metrics only: after "
        "the switch the old version serves no traffic to compare the candidate with"
    ),
    field_path=".strategy.blueGreen.postPromotionAnalysis.metrics",
)

BLUE_GREEN_SPEC_RULES = (
    *BLUE_GREEN_PRE_PROMOTION_RULES,
    *BLUE_GREEN_POST_PROMOTION_RULES,
    BLUE_GREEN_POST_PROMOTION_CANDIDATE_ONLY,
)
"""On `ModelRolloutSpec`, which sees the strategy and `spec.analysis`."""
