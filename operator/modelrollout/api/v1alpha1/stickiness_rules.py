"""The CEL rules of a sticky split (`spec.strategy.canary.stickiness`).

Apart from `crd_rules` (which re-exports them) so the sticky split's rules stay in one place. The
provider refusal sits on `StrategySpec`, which sees both `traffic.provider` and the canary block.
"""

from __future__ import annotations

from .cel import CelRule
from .enums import TrafficProvider

_ROUTER = (
    "(has(self.traffic) && has(self.traffic.provider) && "
    f"self.traffic.provider == '{TrafficProvider.ROUTER.value}')"
)

STICKINESS_EXACTLY_ONE = CelRule(
    rule="has(self.header) != has(self.cookie)",
    message="stickiness sets exactly one of header and cookie: where the user's identity is read",
)
STICKINESS_NEEDS_ROUTER = CelRule(
    rule=f"!has(self.canary) || !has(self.canary.stickiness) || {_ROUTER}",
    message=(
        "canary.stickiness needs traffic.provider router: only the model router splits by weight "
        "while keeping each user on one version (the gatewayAPI, istio and replicas providers "
        "cannot)"
    ),
    field_path=".canary.stickiness",
    reason="FieldValueForbidden",
)

STICKINESS_STRATEGY_RULES = (STICKINESS_NEEDS_ROUTER,)
"""On `StrategySpec`."""
STICKINESS_RULES: dict[str, tuple[CelRule, ...]] = {"StickinessSpec": (STICKINESS_EXACTLY_ONE,)}
"""On the model of `canary.stickiness`, by the pydantic model's name."""
