"""The CEL rules of a bandit (`spec.strategy.bandit`), apart from `crd_rules` (which registers
them) so the bandit's rules stay in one place."""

from __future__ import annotations

from .cel import CelRule, given_durations
from .enums import StrategyType, TrafficProvider

_BANDIT = (
    f"has(self.strategy) && has(self.strategy.type) && self.strategy.type == '{StrategyType.BANDIT.value}'"
)


def _provider_is(provider: TrafficProvider) -> str:
    if provider == TrafficProvider.REPLICAS:
        return "(!has(self.traffic) || !has(self.traffic.provider) || self.traffic.provider == 'replicas')"
    return f"(has(self.traffic) && has(self.traffic.provider) && self.traffic.provider == '{provider.value}')"


BANDIT_NEEDS_ROUTER: dict[TrafficProvider, CelRule] = {
    provider: CelRule(
        rule=f"!has(self.bandit) || !{_provider_is(provider)}",
        message=(
            f"strategy.bandit needs traffic.provider router, not {provider.value}: only the model router "
            "counts each version's pulls and takes rewards at /feedback"
        ),
        field_path=".bandit",
        reason="FieldValueForbidden",
    )
    for provider in TrafficProvider
    if provider != TrafficProvider.ROUTER
}
"""Rules on `StrategySpec`, one per other provider so the message names the provider given."""

BANDIT_MAX_DURATION_COVERS_INTERVAL = CelRule(
    rule=(
        f"!({_BANDIT}) || !has(self.strategy.bandit) || !has(self.analysis) || "
        + given_durations(
            "duration(self.strategy.bandit.maxDuration) >= duration(self.analysis.interval)",
            "self.strategy.bandit.maxDuration",
            "self.analysis.interval",
        )
    ),
    message="strategy.bandit.maxDuration must be at least spec.analysis.interval",
    field_path=".strategy.bandit.maxDuration",
)
BANDIT_NEEDS_PROMETHEUS = CelRule(
    rule=f"!has(self.candidate) || !({_BANDIT}) || (has(self.analysis) && has(self.analysis.prometheus))",
    message=(
        "a Bandit reads the router's reward counters from Prometheus: spec.analysis.prometheus is required "
        "(a Prometheus that scrapes the router)"
    ),
    field_path=".analysis.prometheus",
    reason="FieldValueRequired",
)
BANDIT_SPEC_RULES = (BANDIT_MAX_DURATION_COVERS_INTERVAL, BANDIT_NEEDS_PROMETHEUS)
"""Rules on `ModelRolloutSpec`, which sees the strategy and the analysis together."""
