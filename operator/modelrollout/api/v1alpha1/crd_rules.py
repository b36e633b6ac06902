"""Cross-field rules of the ModelRollout spec, as CEL for the CRD and as messages for pydantic.

The apiserver checks these at `kubectl apply` time (`x-kubernetes-validations`); the pydantic
validators in `spec.py` raise the same `message`, so the operator and the CLI reject a spec with
the words a person already saw from `kubectl`. Rules are keyed by the pydantic model they sit on
and evaluated with `self` bound to that object.

Rules guard optional and defaulted fields with `has()`: the apiserver checks a `default: {}`
against them before the nested defaults are filled in. Every list and string a rule iterates
over is bounded (`maxItems`/`maxLength` in `spec.py`), so the apiserver's CEL cost estimate
stays far below its budget.
"""

from __future__ import annotations

from .abtest_rules import *  # noqa: F403  (re-exported like the analysis rules)
from .abtest_rules import AB_TEST_SPEC_RULES, AB_TEST_STRATEGY_BLOCK_RULES, AB_TEST_STRATEGY_RULES
from .analysis_rules import *  # noqa: F403  (re-exported: every rule is read as crd_rules.X)
from .analysis_rules import ANALYSIS_RULES
from .bandit_rules import BANDIT_NEEDS_ROUTER, BANDIT_SPEC_RULES
from .bluegreen_rules import *  # noqa: F403  (re-exported as crd_rules.BLUE_GREEN_*)
from .bluegreen_rules import BLUE_GREEN_NEEDS_ROUTES, BLUE_GREEN_SPEC_RULES
from .cel import CelRule as CelRule
from .cel import given_durations
from .enums import StrategyType, TrafficProvider
from .int_or_percent import cel_is_int_or_percent, cel_is_zero
from .interleaved_rules import *  # noqa: F403  (re-exported as crd_rules.INTERLEAVED_*)
from .interleaved_rules import INTERLEAVED_SPEC_RULES, INTERLEAVED_STRATEGY_RULES
from .route_rules import *  # noqa: F403  (re-exported, as the analysis rules)
from .route_rules import ROUTE_RULES, STRATEGY_ROUTE_RULES
from .shadow_rules import *  # noqa: F403  (re-exported as crd_rules.SHADOW_*)
from .shadow_rules import SHADOW_SPEC_RULES, SHADOW_STRATEGY_RULES
from .stickiness_rules import *  # noqa: F403  (re-exported as crd_rules.STICKINESS_*)
from .stickiness_rules import STICKINESS_RULES, STICKINESS_STRATEGY_RULES
from .weights import PERCENT_TENTHS

NAME_MAX_LENGTH = 63
"""`metadata.name` becomes the value of the label `modelrollout.io/rollout`."""


def strategy_block(strategy: StrategyType) -> str:
    """The `spec.strategy` field holding the settings of a strategy type (`Canary` -> `canary`,
    `ABTest` -> `abTest`): the leading capitals lowered, but for one that starts the next word."""
    name = strategy.value
    leading = len(name) - len(name.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    lowered = leading - 1 if 1 < leading < len(name) else leading
    return name[:lowered].lower() + name[lowered:]


# --- spec (ModelRolloutSpec) ---------------------------------------------------------------------

STRATEGY_BLOCKS_REQUIRED = tuple(
    CelRule(
        rule=(
            f"!has(self.candidate) || (has(self.strategy) && (self.strategy.type != '{strategy.value}' || "
            f"has(self.strategy.{strategy_block(strategy)})))"
        ),
        message=(
            f"strategy.{strategy_block(strategy)} is required when strategy.type is {strategy.value} "
            "and a candidate is set"
        ),
        field_path=f".strategy.{strategy_block(strategy)}",
        reason="FieldValueRequired",
    )
    for strategy in StrategyType
)
"""One rule per strategy type: a candidate needs the settings of the chosen strategy. Without a
candidate (a ModelRollout that only runs the stable version) there is nothing to roll out."""

CANDIDATE_DIFFERS = CelRule(
    rule="!has(self.candidate) || self.candidate.version != self.stable.version",
    message="candidate.version must differ from stable.version",
    field_path=".candidate.version",
)
DEPENDS_ON_NOT_SELF = CelRule(
    rule="!has(self.dependsOn) || self.dependsOn.all(d, d.model != self.model)",
    message="dependsOn must not name this rollout's own model",
    field_path=".dependsOn",
)
DEPENDS_ON_UNIQUE = CelRule(
    rule="!has(self.dependsOn) || self.dependsOn.all(d, self.dependsOn.exists_one(e, e.model == d.model))",
    message="dependsOn must name each model once",
    field_path=".dependsOn",
)
NOTIFICATION_NAMES_UNIQUE = CelRule(
    rule=(
        "!has(self.notifications) || "
        "self.notifications.all(n, self.notifications.exists_one(m, m.name == n.name))"
    ),
    message="notifications must name each receiver once",
    field_path=".notifications",
)
NOTIFICATION_EVENTS_UNIQUE = CelRule(
    rule="!has(self.events) || self.events.all(e, self.events.exists_one(f, f == e))",
    message="notification events must name each event once",
    field_path=".events",
)
_CANARY_STEPS = "has(self.strategy) && has(self.strategy.canary)"
_SPEC_METRICS = "has(self.analysis) && has(self.analysis.metrics)"
STEP_METRICS_EXIST = CelRule(
    rule=(
        f"!({_CANARY_STEPS}) || self.strategy.canary.steps.all(s, !has(s.analysis) || "
        "!has(s.analysis.metrics) || s.analysis.metrics.all(n, "
        f"{_SPEC_METRICS} && self.analysis.metrics.exists(m, m.name == n)))"
    ),
    message="every name in a step's analysis.metrics must be a metric in spec.analysis.metrics",
    field_path=".strategy.canary.steps",
)
ANALYSIS_STEP_NEEDS_METRICS = CelRule(
    rule=(
        f"!({_CANARY_STEPS}) || !self.strategy.canary.steps.exists(s, has(s.analysis)) || "
        f"({_SPEC_METRICS} && size(self.analysis.metrics) > 0)"
    ),
    message="an analysis step needs at least one metric in spec.analysis.metrics",
    field_path=".analysis.metrics",
    reason="FieldValueRequired",
)
STEP_MAX_DURATION_COVERS_INTERVAL = CelRule(
    rule=(
        f"!({_CANARY_STEPS}) || !has(self.analysis) || self.strategy.canary.steps.all(s, "
        "!has(s.analysis) || "
        + given_durations(
            "duration(s.analysis.maxDuration) >= duration(self.analysis.interval)",
            "s.analysis.maxDuration",
            "self.analysis.interval",
        )
        + ")"
    ),
    message="a step's analysis.maxDuration must be at least spec.analysis.interval",
    field_path=".strategy.canary.steps",
)

# --- spec.strategy (StrategySpec) ----------------------------------------------------------------

STRATEGY_BLOCKS_FOR_TYPE = tuple(
    CelRule(
        rule=f"!has(self.{strategy_block(strategy)}) || self.type == '{strategy.value}'",
        message=f"strategy.{strategy_block(strategy)} is set but strategy.type is not {strategy.value}",
        field_path=f".{strategy_block(strategy)}",
        reason="FieldValueForbidden",
    )
    for strategy in StrategyType
)
"""One rule per strategy type: its settings block only goes with that type."""

# --- spec.strategy.traffic (TrafficSpec) ---------------------------------------------------------

_PROVIDER_BLOCKS = {TrafficProvider.GATEWAY_API: "gatewayAPI", TrafficProvider.ISTIO: "istio"}
"""The settings block of each provider that has one (its field in `spec.strategy.traffic`)."""

TRAFFIC_PROVIDER_BLOCKS = {
    provider: (
        CelRule(
            rule=f"!has(self.provider) || self.provider != '{provider.value}' || has(self.{block})",
            message=f"traffic.{block} is required when traffic.provider is {provider.value}",
            field_path=f".{block}",
            reason="FieldValueRequired",
        ),
        CelRule(
            rule=f"!has(self.{block}) || (has(self.provider) && self.provider == '{provider.value}')",
            message=f"traffic.{block} is set but traffic.provider is not {provider.value}",
            field_path=f".{block}",
            reason="FieldValueForbidden",
        ),
    )
    for provider, block in _PROVIDER_BLOCKS.items()
}
"""Per provider with settings: (its block is required with it, its block goes only with it). A
rule on a step kind a provider cannot serve (a header route with `replicas`) sits on
`StrategySpec`, which sees both `traffic.provider` and the steps, and names the provider."""

# --- spec.strategy.canary.steps[*] (CanaryStep) --------------------------------------------------

STEP_KINDS = ("setWeight", "pause", "analysis", "setHeaderRoute", "setMirrorRoute", "setCanaryScale")
"""The fields of a step, of which it sets exactly one."""
STEP_EXACTLY_ONE = CelRule(
    rule=" + ".join(f"(has(self.{kind}) ? 1 : 0)" for kind in STEP_KINDS) + " == 1",
    message="a step sets exactly one of setWeight, pause, analysis, setHeaderRoute, setMirrorRoute and setCanaryScale",
)

# --- spec.strategy.canary (CanaryStrategy) -------------------------------------------------------

INT_OR_PERCENT = CelRule(
    rule=f"{cel_is_int_or_percent('maxSurge')} && {cel_is_int_or_percent('maxUnavailable')}",
    message="maxSurge and maxUnavailable are a count of replicas (0..10000) or a percent such as '25%'",
)
SURGE_OR_UNAVAILABLE = CelRule(
    rule=(
        "!has(self.maxSurge) || !has(self.maxUnavailable) || "
        f"!({cel_is_zero('maxSurge')} && {cel_is_zero('maxUnavailable')})"
    ),
    message="maxSurge and maxUnavailable must not both be 0: capacity could never move",
    field_path=".maxUnavailable",
)

# --- the whole object ----------------------------------------------------------------------------

NAME_FITS_LABEL = CelRule(
    rule=f"size(self.metadata.name) <= {NAME_MAX_LENGTH}",
    message=f"metadata.name must be at most {NAME_MAX_LENGTH} characters: it becomes a label value",
)

ROOT_RULES = (NAME_FITS_LABEL,)
"""Rules on the ModelRollout object itself (they may read `metadata.name`)."""

RULES: dict[str, tuple[CelRule, ...]] = {
    "ModelRolloutSpec": (
        CANDIDATE_DIFFERS,
        *STRATEGY_BLOCKS_REQUIRED,
        DEPENDS_ON_NOT_SELF,
        DEPENDS_ON_UNIQUE,
        NOTIFICATION_NAMES_UNIQUE,
        STEP_METRICS_EXIST,
        ANALYSIS_STEP_NEEDS_METRICS,
        STEP_MAX_DURATION_COVERS_INTERVAL,
        *BLUE_GREEN_SPEC_RULES,
        *AB_TEST_SPEC_RULES,
        *INTERLEAVED_SPEC_RULES,
        *SHADOW_SPEC_RULES,
        *BANDIT_SPEC_RULES,
    ),
    "StrategySpec": (
        *STRATEGY_BLOCKS_FOR_TYPE,
        BLUE_GREEN_NEEDS_ROUTES,
        *STRATEGY_ROUTE_RULES,
        *AB_TEST_STRATEGY_RULES,
        *STICKINESS_STRATEGY_RULES,
        *INTERLEAVED_STRATEGY_RULES,
        *SHADOW_STRATEGY_RULES,
        *BANDIT_NEEDS_ROUTER.values(),
    ),
    "ABTestStrategy": AB_TEST_STRATEGY_BLOCK_RULES,
    "TrafficSpec": tuple(rule for pair in TRAFFIC_PROVIDER_BLOCKS.values() for rule in pair),
    "CanaryStep": (STEP_EXACTLY_ONE, PERCENT_TENTHS),
    "NotificationSpec": (NOTIFICATION_EVENTS_UNIQUE,),
    "CanaryStrategy": (INT_OR_PERCENT, SURGE_OR_UNAVAILABLE),
    **ANALYSIS_RULES,
    **ROUTE_RULES,
    **STICKINESS_RULES,
}
"""CEL rules by the name of the pydantic model (the `$defs` key) whose schema carries them."""
