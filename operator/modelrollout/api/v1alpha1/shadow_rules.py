"""The CEL rules of a Shadow rollout (`spec.strategy.shadow`).

Apart from `crd_rules` (which re-exports them) so the Shadow strategy's rules stay in one place.
"""

from __future__ import annotations

from .cel import CelRule, given_durations
from .enums import MetricType, StrategyType, TrafficProvider

AGREEMENT_METRIC = "shadow-agreement"
"""The name under which the agreement of classes is judged (`status.analysis.metrics`)."""
SCORE_DIFFERENCE_METRIC = "shadow-score-difference"
"""The name under which the mean absolute score difference is judged."""

_SHADOW = f"has(self.type) && self.type == '{StrategyType.SHADOW.value}'"
_SPEC_SHADOW = (
    f"has(self.strategy) && has(self.strategy.type) && self.strategy.type == '{StrategyType.SHADOW.value}'"
)
_HAS_METRICS = "has(self.analysis) && has(self.analysis.metrics)"

_WHY_NOT = {
    TrafficProvider.REPLICAS: "replicas splits whole replicas and cannot copy requests",
    TrafficProvider.GATEWAY_API: "gatewayAPI mirrors requests but never sees the answers to compare",
    TrafficProvider.ISTIO: "istio mirrors requests but never sees the answers to compare",
}


def _provider_is(provider: TrafficProvider) -> str:
    if provider == TrafficProvider.REPLICAS:
        return "(!has(self.traffic) || !has(self.traffic.provider) || self.traffic.provider == 'replicas')"
    return f"(has(self.traffic) && has(self.traffic.provider) && self.traffic.provider == '{provider.value}')"


SHADOW_NEEDS_ROUTER = {
    provider: CelRule(
        rule=f"!({_SHADOW}) || !{_provider_is(provider)}",
        message=(
            f"strategy.type Shadow needs traffic.provider router, not {provider.value}: only the model "
            f"router compares the candidate's predictions with the stable's ({why})"
        ),
        field_path=".traffic.provider",
        reason="FieldValueForbidden",
    )
    for provider, why in _WHY_NOT.items()
}
"""One rule per provider that cannot run a Shadow rollout, so the message names the one given."""
SHADOW_STRATEGY_RULES = tuple(SHADOW_NEEDS_ROUTER.values())
"""Rules on `StrategySpec`, which sees the type and the provider together."""

SHADOW_NO_DRIFT = CelRule(
    rule=(
        f"!({_SPEC_SHADOW}) || !({_HAS_METRICS}) || "
        f"!self.analysis.metrics.exists(m, m.type == '{MetricType.DRIFT.value}')"
    ),
    message=(
        "a Shadow rollout compares the candidate's predictions with strategy.shadow.minAgreement and "
        "maxScoreDifference; drift metrics read the predictions served to users, and the candidate serves none"
    ),
    field_path=".analysis.metrics",
    reason="FieldValueForbidden",
)
SHADOW_METRIC_NAMES_FREE = CelRule(
    rule=(
        f"!({_SPEC_SHADOW}) || !({_HAS_METRICS}) || !self.analysis.metrics.exists(m, "
        f"m.name == '{AGREEMENT_METRIC}' || m.name == '{SCORE_DIFFERENCE_METRIC}')"
    ),
    message=(
        f"a Shadow rollout reports its comparison as the metrics {AGREEMENT_METRIC} and "
        f"{SCORE_DIFFERENCE_METRIC}: give your metrics other names"
    ),
    field_path=".analysis.metrics",
    reason="FieldValueForbidden",
)
SHADOW_MAX_DURATION_COVERS_INTERVAL = CelRule(
    rule=(
        f"!({_SPEC_SHADOW}) || !has(self.strategy.shadow) || !has(self.analysis) || "
        + given_durations(
            "duration(self.strategy.shadow.maxDuration) >= duration(self.analysis.interval)",
            "self.strategy.shadow.maxDuration",
            "self.analysis.interval",
        )
    ),
    message="strategy.shadow.maxDuration must be at least spec.analysis.interval",
    field_path=".strategy.shadow.maxDuration",
)
SHADOW_NEEDS_PROMETHEUS = CelRule(
    rule=f"!has(self.candidate) || !({_SPEC_SHADOW}) || (has(self.analysis) && has(self.analysis.prometheus))",
    message=(
        "a Shadow rollout reads the router's comparison of the candidate's copies from Prometheus: "
        "set spec.analysis.prometheus"
    ),
    field_path=".analysis.prometheus",
    reason="FieldValueRequired",
)
SHADOW_SPEC_RULES = (
    SHADOW_NO_DRIFT,
    SHADOW_METRIC_NAMES_FREE,
    SHADOW_MAX_DURATION_COVERS_INTERVAL,
    SHADOW_NEEDS_PROMETHEUS,
)
"""Rules on `ModelRolloutSpec`, which sees the strategy and the metrics together."""
