"""The CEL rules of the route steps (`setHeaderRoute`, `setMirrorRoute`, `setCanaryScale`) and of
what each traffic provider can serve of them.

Split from `crd_rules` (which re-exports them) because the provider refusals read both
`strategy.traffic` and `strategy.canary.steps`, and so sit on `StrategySpec`: a step a provider
cannot serve is refused at `kubectl apply` with the provider named, never approximated.
"""

from __future__ import annotations

from .cel import CelRule

_REPLICAS = "(!has(self.traffic) || !has(self.traffic.provider) || self.traffic.provider == 'replicas')"
"""`strategy.traffic.provider` is `replicas`, written or by default."""
_ROUTER = "(has(self.traffic) && has(self.traffic.provider) && self.traffic.provider == 'router')"
_STEPS = "has(self.canary) && has(self.canary.steps)"
ROUTE_PROVIDERS = "gatewayAPI, istio or router"


def _no_step(kind: str, message: str, provider: str = _REPLICAS, extra: str = "") -> CelRule:
    """Refuses steps of `kind` (those for which `extra`, a CEL condition on the step `s`, holds
    too) while `provider` holds."""
    condition = f"has(s.{kind})" + (f" && {extra}" if extra else "")
    return CelRule(
        rule=f"!({_STEPS}) || !{provider} || !self.canary.steps.exists(s, {condition})",
        message=message,
        field_path=".canary.steps",
        reason="FieldValueForbidden",
    )


# --- spec.strategy (StrategySpec) ----------------------------------------------------------------

REPLICAS_NO_HEADER_ROUTE = _no_step(
    "setHeaderRoute",
    f"setHeaderRoute needs a traffic provider that routes by request ({ROUTE_PROVIDERS}); "
    "the replicas provider cannot",
)
REPLICAS_NO_MIRROR_ROUTE = _no_step(
    "setMirrorRoute",
    f"setMirrorRoute needs a traffic provider that can copy requests ({ROUTE_PROVIDERS}); "
    "the replicas provider cannot",
)
REPLICAS_NO_CANARY_SCALE = _no_step(
    "setCanaryScale",
    f"setCanaryScale needs a traffic provider that routes by weight ({ROUTE_PROVIDERS}); the "
    "replicas provider splits traffic by replica count, so the candidate's replicas are its weight",
)
ROUTER_EXACT_HEADER_VALUES = _no_step(
    "setHeaderRoute",
    "the router provider matches header values exactly: use headerValue.exact (gatewayAPI and "
    "istio also match prefix and regex)",
    provider=_ROUTER,
    extra=(
        "has(s.setHeaderRoute.match) && s.setHeaderRoute.match.exists(m, has(m.headerValue) && "
        "!has(m.headerValue.exact))"
    ),
)
ROUTER_MIRRORS_ALL = _no_step(
    "setMirrorRoute",
    "the router provider mirrors a share of all requests (its shadow): setMirrorRoute takes no "
    "match with it (gatewayAPI and istio mirror matching requests)",
    provider=_ROUTER,
    extra="has(s.setMirrorRoute.match)",
)
ROUTER_ONE_MIRROR = CelRule(
    rule=(
        f"!({_STEPS}) || !{_ROUTER} || self.canary.steps.all(s, !has(s.setMirrorRoute) || "
        "self.canary.steps.all(t, !has(t.setMirrorRoute) || t.setMirrorRoute.name == s.setMirrorRoute.name))"
    ),
    message="the router provider has one mirror (its shadow): every setMirrorRoute step names the same route",
    field_path=".canary.steps",
    reason="FieldValueForbidden",
)

# --- the steps ------------------------------------------------------------------------------------

VALUE_MATCH_EXACTLY_ONE = CelRule(
    rule="(has(self.exact) ? 1 : 0) + (has(self.prefix) ? 1 : 0) + (has(self.regex) ? 1 : 0) == 1",
    message="headerValue sets exactly one of exact, prefix and regex",
)
ROUTE_MATCH_EXACTLY_ONE = CelRule(
    rule="has(self.headerName) ? (has(self.headerValue) && !has(self.cookie)) : (has(self.cookie) && !has(self.headerValue))",
    message="a match is either headerName with headerValue, or cookie",
)


def names_once_rule(field: str, owner: str) -> CelRule:
    """The list of matches `self.<field>` names each header once and holds one cookie at most
    (`routes.names_once`); `owner` names the list's parent in the message."""
    return CelRule(
        rule=(
            f"!has(self.{field}) || (self.{field}.filter(m, has(m.cookie)).size() <= 1 && self.{field}.all(m, "
            f"!has(m.headerName) || self.{field}.exists_one(n, has(n.headerName) && "
            "n.headerName.lowerAscii() == m.headerName.lowerAscii())))"
        ),
        message=f"{owner}.{field} names each header once and holds at most one cookie",
        field_path=f".{field}",
    )


def _names_once(step: str) -> CelRule:
    return names_once_rule("match", step)


HEADER_MATCH_NAMES_ONCE = _names_once("setHeaderRoute")
MIRROR_MATCH_NAMES_ONCE = _names_once("setMirrorRoute")
CANARY_SCALE_EXACTLY_ONE = CelRule(
    rule=(
        "(has(self.replicas) ? 1 : 0) + (has(self.weight) ? 1 : 0) + "
        "(has(self.matchTrafficWeight) && self.matchTrafficWeight ? 1 : 0) == 1"
    ),
    message="setCanaryScale sets exactly one of replicas, weight and matchTrafficWeight: true",
)

STRATEGY_ROUTE_RULES = (
    REPLICAS_NO_HEADER_ROUTE,
    REPLICAS_NO_MIRROR_ROUTE,
    REPLICAS_NO_CANARY_SCALE,
    ROUTER_EXACT_HEADER_VALUES,
    ROUTER_MIRRORS_ALL,
    ROUTER_ONE_MIRROR,
)
"""The refusals on `StrategySpec`, each naming the provider that cannot serve the step."""

ROUTE_RULES: dict[str, tuple[CelRule, ...]] = {
    "ValueMatch": (VALUE_MATCH_EXACTLY_ONE,),
    "RouteMatch": (ROUTE_MATCH_EXACTLY_ONE,),
    "SetHeaderRoute": (HEADER_MATCH_NAMES_ONCE,),
    "SetMirrorRoute": (MIRROR_MATCH_NAMES_ONCE,),
    "SetCanaryScale": (CANARY_SCALE_EXACTLY_ONE,),
}
"""Rules on the step models, by the pydantic model's name."""
