"""The CEL rules of an interleaving experiment (`spec.strategy.interleaved`).

Apart from `crd_rules` (which re-exports them) so the experiment's rules stay in one place.
"""

from __future__ import annotations

from .cel import CelRule, given_durations
from .enums import StrategyType, TrafficProvider

_INTERLEAVED = f"has(self.strategy) && has(self.strategy.type) && self.strategy.type == '{StrategyType.INTERLEAVED.value}'"

# --- spec.strategy (StrategySpec) ----------------------------------------------------------------

INTERLEAVED_NEEDS_ROUTER = CelRule(
    rule=(
        f"!has(self.type) || self.type != '{StrategyType.INTERLEAVED.value}' || "
        f"(has(self.traffic) && has(self.traffic.provider) && self.traffic.provider == '{TrafficProvider.ROUTER.value}')"
    ),
    message=(
        "strategy.type Interleaved needs traffic.provider router: only the model router merges two "
        "versions' rankings and credits clicks (the replicas, gatewayAPI and istio providers cannot)"
    ),
    field_path=".traffic.provider",
)
INTERLEAVED_STRATEGY_RULES = (INTERLEAVED_NEEDS_ROUTER,)
"""Rules on `StrategySpec`, which sees the type and the provider together."""

# --- spec (ModelRolloutSpec) ---------------------------------------------------------------------

INTERLEAVED_NEEDS_PROMETHEUS = CelRule(
    rule=f"!has(self.candidate) || !({_INTERLEAVED}) || (has(self.analysis) && has(self.analysis.prometheus))",
    message=(
        "an Interleaved experiment needs analysis.prometheus: the operator reads the router's "
        "impressions and wins from it"
    ),
    field_path=".analysis.prometheus",
    reason="FieldValueRequired",
)
INTERLEAVED_MAX_DURATION_COVERS_INTERVAL = CelRule(
    rule=(
        f"!({_INTERLEAVED}) || !has(self.strategy.interleaved) || !has(self.analysis) || "
        + given_durations(
            "duration(self.strategy.interleaved.maxDuration) >= duration(self.analysis.interval)",
            "self.strategy.interleaved.maxDuration",
            "self.analysis.interval",
        )
    ),
    message="strategy.interleaved.maxDuration must be at least spec.analysis.interval",
    field_path=".strategy.interleaved.maxDuration",
)
INTERLEAVED_SPEC_RULES = (INTERLEAVED_NEEDS_PROMETHEUS, INTERLEAVED_MAX_DURATION_COVERS_INTERVAL)
"""Rules on `ModelRolloutSpec`, which sees the strategy and the analysis together."""
