"""The CEL rules of an A/B test (`spec.strategy.abTest` and its goal metric).

Apart from `crd_rules` (which re-exports them) so the A/B test's rules stay in one place.
"""

from __future__ import annotations

from .cel import CelRule, given_durations
from .enums import MetricType, StrategyType
from .route_rules import names_once_rule

_AB_TEST = (
    f"has(self.strategy) && has(self.strategy.type) && self.strategy.type == '{StrategyType.AB_TEST.value}'"
)
_GOALS = f"self.analysis.metrics.filter(m, m.type == '{MetricType.GOAL.value}')"
_HAS_METRICS = "has(self.analysis) && has(self.analysis.metrics)"

GOAL_ONLY_IN_AB_TEST = CelRule(
    rule=f"({_AB_TEST}) || !({_HAS_METRICS}) || size({_GOALS}) == 0",
    message="goal metrics are for strategy.type ABTest: a canary judges non-inferiority only",
    field_path=".analysis.metrics",
    reason="FieldValueForbidden",
)
AB_TEST_NEEDS_ONE_GOAL = CelRule(
    rule=f"!has(self.candidate) || !({_AB_TEST}) || (({_HAS_METRICS}) && size({_GOALS}) == 1)",
    message="an ABTest needs exactly one metric of type goal in spec.analysis.metrics (the others are its guardrails)",
    field_path=".analysis.metrics",
    reason="FieldValueRequired",
)
AB_TEST_DURATION_COVERS_INTERVAL = CelRule(
    rule=(
        f"!({_AB_TEST}) || !has(self.strategy.abTest) || !has(self.analysis) || "
        + given_durations(
            "duration(self.strategy.abTest.duration) >= duration(self.analysis.interval)",
            "self.strategy.abTest.duration",
            "self.analysis.interval",
        )
    ),
    message="strategy.abTest.duration must be at least spec.analysis.interval",
    field_path=".strategy.abTest.duration",
)

# --- spec.strategy.abTest (ABTestStrategy) and spec.strategy (StrategySpec) ----------------------

AB_TEST_SPLIT_OR_SEGMENT = CelRule(
    rule="!has(self.split) || !has(self.segment)",
    message="abTest sets split or segment, not both: the candidate serves a share of all requests or the segment's",
    field_path=".segment",
    reason="FieldValueForbidden",
)
AB_TEST_SEGMENT_NAMES_ONCE = names_once_rule("segment", "abTest")
AB_TEST_SEGMENT_REPLICAS = CelRule(
    rule="!has(self.segmentReplicas) || has(self.segment)",
    message="abTest.segmentReplicas sizes the candidate for a segment; with a split its size follows the split",
    field_path=".segmentReplicas",
    reason="FieldValueForbidden",
)
AB_TEST_STRATEGY_BLOCK_RULES = (
    AB_TEST_SPLIT_OR_SEGMENT,
    AB_TEST_SEGMENT_NAMES_ONCE,
    AB_TEST_SEGMENT_REPLICAS,
)
"""Rules on `ABTestStrategy`."""

_REPLICAS = "(!has(self.traffic) || !has(self.traffic.provider) || self.traffic.provider == 'replicas')"
_ROUTER = "(has(self.traffic) && has(self.traffic.provider) && self.traffic.provider == 'router')"
_SEGMENT = "has(self.abTest) && has(self.abTest.segment)"
REPLICAS_NO_SEGMENT = CelRule(
    rule=f"!({_SEGMENT}) || !{_REPLICAS}",
    message=(
        "abTest.segment needs a traffic provider that routes by request (gatewayAPI, istio or router); "
        "the replicas provider cannot: use abTest.split"
    ),
    field_path=".abTest.segment",
    reason="FieldValueForbidden",
)
ROUTER_EXACT_SEGMENT_VALUES = CelRule(
    rule=f"!({_SEGMENT}) || !{_ROUTER} || self.abTest.segment.all(m, !has(m.headerValue) || has(m.headerValue.exact))",
    message=(
        "the router provider matches header values exactly: use headerValue.exact in abTest.segment "
        "(gatewayAPI and istio also match prefix and regex)"
    ),
    field_path=".abTest.segment",
    reason="FieldValueForbidden",
)
AB_TEST_STRATEGY_RULES = (REPLICAS_NO_SEGMENT, ROUTER_EXACT_SEGMENT_VALUES)
"""Rules on `StrategySpec`, which sees the provider and the segment together, naming the provider."""

AB_TEST_SPEC_RULES = (GOAL_ONLY_IN_AB_TEST, AB_TEST_NEEDS_ONE_GOAL, AB_TEST_DURATION_COVERS_INTERVAL)
"""Rules on `ModelRolloutSpec`, which sees the strategy and the metrics together."""
