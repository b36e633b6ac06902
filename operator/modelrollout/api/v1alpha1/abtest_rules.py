"""The CEL rules of an A/B test (`spec.strategy.abTest` and its goal metric).

Apart from `crd_rules` (which re-exports them) so the A/B test's rules stay in one place.
"""

from __future__ import annotations

from .cel import CelRule, given_durations
from .enums import MetricType, StrategyType

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

AB_TEST_SPEC_RULES = (GOAL_ONLY_IN_AB_TEST, AB_TEST_NEEDS_ONE_GOAL, AB_TEST_DURATION_COVERS_INTERVAL)
"""Rules on `ModelRolloutSpec`, which sees the strategy and the metrics together."""
