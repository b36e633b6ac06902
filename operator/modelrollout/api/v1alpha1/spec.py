"""`ModelRollout.spec`: what an ML engineer writes.

Field docstrings become the CRD's descriptions (`kubectl explain`), so they speak to that reader.
Cross-field rules live in `crd_rules.py` as CEL for the CRD; the model validators here check the
same rules with the same messages, so a spec loaded by the operator or the CLI gets the answer
`kubectl apply` gave.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, WithJsonSchema, field_validator, model_validator

from . import crd_rules as rules
from ._model import NAME_PATTERN, ApiModel
from ._model import require as _require
from .abtest import SEGMENT_ROUTE, ABTestStrategy, segment_refusal
from .analysis_spec import AnalysisSpec
from .bandit import BanditStrategy, check_bandit, initial_weight
from .bluegreen import BlueGreenStrategy, PromotionAnalysis, check_blue_green
from .durations import DURATION_PATTERN, parse_duration
from .enums import (
    InconclusivePolicy,
    MetricType,
    StrategyType,
    TrafficProvider,
    UpstreamFailurePolicy,
)
from .int_or_percent import IntOrPercent, is_int_or_percent, is_zero
from .interleaved import InterleavedStrategy, check_interleaved
from .limits import PARAMETER_KEY_MAX_LENGTH, PARAMETER_VALUE_MAX_LENGTH, PARAMETERS_MAX_KEYS
from .notifications import NOTIFICATIONS_MAX, NotificationSpec, names_unique
from .routes import SetCanaryScale, SetHeaderRoute, SetMirrorRoute, step_refusal
from .shadow import ShadowStrategy, check_shadow, shadow_refusal
from .step_analysis import StepAnalysis
from .stickiness import StickinessSpec, stickiness_refusal
from .weights import Percent

PARAMETERS_MESSAGE = (
    f"parameters maps names of at most {PARAMETER_KEY_MAX_LENGTH} characters to numbers, booleans or "
    f"strings of at most {PARAMETER_VALUE_MAX_LENGTH} characters"
)

ParameterValue = Annotated[
    Any,
    WithJsonSchema(
        {
            "description": "A number, a boolean or a string of at most 256 characters.",
            "maxLength": PARAMETER_VALUE_MAX_LENGTH,
            "maxProperties": 0,
            "maxItems": 0,
            "x-kubernetes-preserve-unknown-fields": True,
        }
    ),
]
"""Any JSON value to the CRD's structure (the only way to admit both numbers and strings), held to
a short scalar by validations that apply to one kind each: `maxLength` to a string,
`maxProperties: 0` to an object, `maxItems: 0` to a list. CEL cannot read such a map, so the
length of a name is the operator's check alone (`VersionSpec`: an InvalidSpec condition)."""


def is_short_scalar_parameter(name: str, value: Any) -> bool:
    """What `VersionSpec.parameters` admits: the CRD's checks of a value, and a short name."""
    if len(name) > PARAMETER_KEY_MAX_LENGTH:
        return False
    if isinstance(value, str):
        return len(value) <= PARAMETER_VALUE_MAX_LENGTH
    return not isinstance(value, dict | list) or not value


class VersionSpec(ApiModel):
    """One version of the model: its name, how to run it, and what produced it."""

    version: str = Field(pattern=NAME_PATTERN, max_length=40)
    """The model version, e.g. `v7`. Becomes the label `modelrollout.io/version` and the suffix of
    the Deployment `<rollout-name>-<version>`."""
    template: dict[str, Any] | None = None
    """The PodTemplateSpec of this version (free-form here; checked by a server-side dry-run).
    For the stable version it is required only if its Deployment does not exist yet."""
    parameters: dict[str, ParameterValue] | None = Field(default=None, max_length=PARAMETERS_MAX_KEYS)
    """Training parameters, artefact URI, data snapshot...: recorded as-is in the lineage. At most
    32 names of at most 63 characters, each a number, a boolean or a string of at most 256
    characters."""

    @field_validator("parameters")
    @classmethod
    def _short_scalars(cls, parameters: dict[str, Any] | None) -> dict[str, Any] | None:
        if parameters is not None and not all(is_short_scalar_parameter(k, v) for k, v in parameters.items()):
            raise ValueError(PARAMETERS_MESSAGE)
        return parameters


class PauseStep(ApiModel):
    """Hold the current weights."""

    duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """How long to wait, e.g. `5m`. Without a duration the rollout waits for `resume`."""


class CanaryStep(ApiModel):
    """One step. Exactly one of `setWeight`, `pause`, `analysis`, `setHeaderRoute`,
    `setMirrorRoute` and `setCanaryScale` is set."""

    set_weight: Percent | None = None
    """Share of traffic, in percent, that the candidate receives from this step on: 0 to 100 in
    steps of 0.1 (`0.5`). gatewayAPI and router serve it exactly; istio serves the nearest whole
    percent and replicas the replica ratio (status.effectiveWeights, a WeightApproximated Event)."""
    pause: PauseStep | None = None
    """Wait for a duration, or until resumed."""
    analysis: StepAnalysis | None = None
    """Run the analysis until it reaches a verdict (or `maxDuration`)."""
    set_header_route: SetHeaderRoute | None = None
    """Send the requests with a header or cookie to the candidate, whatever the weights (from
    this step until removed, or the rollout ends). Needs provider gatewayAPI, istio or router."""
    set_mirror_route: SetMirrorRoute | None = None
    """Copy a percentage of requests to the candidate, whose answers are dropped (from this step
    until removed, or the rollout ends). Needs provider gatewayAPI, istio or router."""
    set_canary_scale: SetCanaryScale | None = None
    """Run the candidate at a size apart from its weight (from this step until another
    `setCanaryScale`, or the rollout ends). Needs provider gatewayAPI, istio or router."""

    @model_validator(mode="after")
    def _exactly_one_action(self) -> Self:
        actions = (
            self.set_weight,
            self.pause,
            self.analysis,
            self.set_header_route,
            self.set_mirror_route,
            self.set_canary_scale,
        )
        _require(sum(action is not None for action in actions) == 1, rules.STEP_EXACTLY_ONE)
        return self


class CanaryStrategy(ApiModel):
    """Move traffic to the candidate in steps, judging it on the way."""

    steps: list[CanaryStep] = Field(min_length=1, max_length=32)
    """The steps, in order (at most 32). After the last one the candidate is promoted."""
    max_surge: IntOrPercent = "25%"
    """How many replicas above `spec.replicas` may run while capacity moves between versions: a
    count or a percent of `spec.replicas` (rounded up), as in a Deployment. The version that
    grows gets its new pods first, within this surge."""
    max_unavailable: IntOrPercent = 0
    """How many replicas below `spec.replicas` the available pods may drop while capacity moves:
    a count or a percent (rounded down). 0, the default, means the version that shrinks gives a
    pod up only once the growing version has a new one Available, so the stable never serves
    below the capacity its weight needs. maxSurge and maxUnavailable are not both 0."""
    stickiness: StickinessSpec | None = None
    """Keep each user on one version while the weights hold, and on the candidate once there as
    its weight grows: the user is read from a header or a cookie. Needs traffic.provider router."""

    @field_validator("max_surge", "max_unavailable")
    @classmethod
    def _int_or_percent(cls, value: int | str) -> int | str:
        _require(is_int_or_percent(value), rules.INT_OR_PERCENT)
        return value

    @model_validator(mode="after")
    def _can_move(self) -> Self:
        both_zero = is_zero(self.max_surge) and is_zero(self.max_unavailable)
        _require(not both_zero, rules.SURGE_OR_UNAVAILABLE)
        return self


class GatewayAPITraffic(ApiModel):
    """An HTTPRoute (Gateway API) whose rules to `spec.service` the operator weights per version."""

    http_route: str = Field(alias="httpRoute", pattern=NAME_PATTERN, max_length=253)
    """The HTTPRoute, in the ModelRollout's namespace, that your Gateway serves. The operator owns
    the `backendRefs` of every rule that sends traffic to `spec.service`: it points them at one
    Service per version (`<rollout>-<version>`, created by the operator with the ports of
    `spec.service`) weighted as the steps say, in thousandths (a weight of 0.1% is exact). Other
    rules, their matches and filters, and every other field of the route are left as they are."""


class IstioTraffic(ApiModel):
    """A VirtualService whose routes to `spec.service` the operator weights per version."""

    virtual_service: str = Field(pattern=NAME_PATTERN, max_length=253)
    """The VirtualService, in the ModelRollout's namespace. The operator owns the `route` of
    every `http` entry that routes to `spec.service` (short or full host name): it lists one
    destination per version, subset `<version>`, weighted in whole percent as Istio expects
    (summing to 100): a weight with a decimal is served as the nearest whole-percent split, a
    version with a weight keeping at least 1% (status.effectiveWeights, a WeightApproximated
    Event). Other entries, matches and fields are left as they are."""
    destination_rule: str | None = Field(default=None, pattern=NAME_PATTERN, max_length=253)
    """The DestinationRule holding the versions' subsets. The operator creates and owns it (host
    `spec.service`, one subset per version, selecting `modelrollout.io/version`) and deletes it
    with the ModelRollout. Default: `<rollout>-versions`. Keep no other DestinationRule with
    subsets of the same host."""


class TrafficSpec(ApiModel):
    """How the operator realises weights."""

    provider: TrafficProvider = TrafficProvider.REPLICAS
    """How weights become traffic. `replicas` splits `spec.replicas` between the versions'
    Deployments behind the one Service (coarse: a weight is rounded to whole replicas; status
    shows the share really served and a Warning Event says so). `gatewayAPI` weights the routes
    of an HTTPRoute exactly (to 0.1%), `istio` those of a VirtualService in whole percents; each
    version then runs the replicas
    its weight needs (rounded up). `router` writes the weights, exactly, into the ConfigMap
    `<rollout>-router` of the model router (`python -m modelrollout.router`), with a headless
    Service `<rollout>-<version>` per version for it to find the pods by; capacity as for
    `gatewayAPI`."""
    gateway_api: GatewayAPITraffic | None = Field(default=None, alias="gatewayAPI")
    """The HTTPRoute to weight; required with provider `gatewayAPI`, only with it."""
    istio: IstioTraffic | None = None
    """The VirtualService to weight; required with provider `istio`, only with it."""

    @model_validator(mode="after")
    def _settings_match_provider(self) -> Self:
        for provider, (required, forbidden) in rules.TRAFFIC_PROVIDER_BLOCKS.items():
            block = self.gateway_api if provider is TrafficProvider.GATEWAY_API else self.istio
            _require(self.provider != provider or block is not None, required)
            _require(block is None or self.provider == provider, forbidden)
        return self


class StrategySpec(ApiModel):
    """The strategy type and its settings block."""

    type: StrategyType = StrategyType.CANARY
    """The rollout strategy; its block (e.g. `canary`) must be set once there is a candidate."""
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    """The traffic provider."""
    canary: CanaryStrategy | None = None
    """Steps of a Canary rollout; required when `type` is Canary and a candidate is set."""
    blue_green: BlueGreenStrategy | None = None
    """Settings of a BlueGreen rollout; required when `type` is BlueGreen and a candidate is set.
    Needs traffic.provider gatewayAPI, istio or router."""
    ab_test: ABTestStrategy | None = None
    """The split (or segment) and duration of an A/B test; required when `type` is ABTest and a
    candidate is set."""
    interleaved: InterleavedStrategy | None = None
    """The ranked list, test and limits of an interleaving experiment; required when `type` is
    Interleaved and a candidate is set. Needs traffic.provider router."""
    shadow: ShadowStrategy | None = None
    """The share of requests copied and the margins of a Shadow comparison; required when `type`
    is Shadow and a candidate is set. Needs traffic.provider router."""
    bandit: BanditStrategy | None = None
    """The guards and stop rule of a bandit; required when `type` is Bandit and a candidate is
    set. Needs traffic.provider router."""

    def block(self, strategy: StrategyType) -> BaseModel | None:
        """The settings block of `strategy` (e.g. `canary` for Canary), None when unset."""
        by_alias = {field.alias: name for name, field in type(self).model_fields.items()}
        block: BaseModel | None = getattr(self, by_alias[rules.strategy_block(strategy)])
        return block

    def run_steps(self) -> list[CanaryStep]:
        """The steps the strategy runs, in order: a Canary's own list, or the fixed program of an
        A/B test (`strategy_steps`) or a Shadow comparison (`ShadowStrategy.steps`); empty for a BlueGreen
        rollout and when the block is unset."""
        if self.type == StrategyType.SHADOW:
            if self.shadow is None:
                return []
            mirror, comparison = self.shadow.steps()
            return [CanaryStep(set_mirror_route=mirror), CanaryStep(analysis=comparison)]
        if self.type == StrategyType.AB_TEST:
            if self.ab_test is None:
                return []
            ab_test = self.ab_test
            test = CanaryStep(analysis=StepAnalysis(max_duration=ab_test.duration))
            if ab_test.segment is None:
                return [CanaryStep(set_weight=ab_test.share), test]
            route = CanaryStep(set_header_route=SetHeaderRoute(name=SEGMENT_ROUTE, match=ab_test.segment))
            if ab_test.segment_replicas is None:
                return [route, test]
            scale = CanaryStep(set_canary_scale=SetCanaryScale(replicas=ab_test.segment_replicas))
            return [scale, route, test]
        if self.type == StrategyType.INTERLEAVED:
            if self.interleaved is None:
                return []
            # The candidate answers every ranking request: full size first, then the experiment.
            full_size = CanaryStep(set_canary_scale=SetCanaryScale(weight=100))
            return [full_size, CanaryStep(analysis=StepAnalysis(max_duration=self.interleaved.max_duration))]
        if self.type == StrategyType.BANDIT:
            if self.bandit is None:
                return []
            # The weight step starts the bandit at its first split; the analysis step is the
            # bandit itself (`rollout.bandit` moves the weights every interval within it).
            first = CanaryStep(set_weight=initial_weight(self.bandit))
            return [first, CanaryStep(analysis=StepAnalysis(max_duration=self.bandit.max_duration))]
        return list(self.canary.steps) if self.canary is not None else []

    def on_inconclusive(self) -> InconclusivePolicy | None:
        """The strategy's own `onInconclusive`, overriding `analysis.onInconclusive` (None: none)."""
        if self.type == StrategyType.INTERLEAVED and self.interleaved is not None:
            return self.interleaved.on_inconclusive
        return None

    def analysis_at(self, step: int) -> StepAnalysis | PromotionAnalysis | None:
        """The analysis run at `status.currentStep` (a step's, a BlueGreen stage's)."""
        if self.blue_green is not None:
            return self.blue_green.analysis_at(step)
        steps = self.run_steps()
        return steps[step].analysis if 0 <= step < len(steps) else None

    @model_validator(mode="after")
    def _blocks_match_type(self) -> Self:
        for strategy, rule in zip(StrategyType, rules.STRATEGY_BLOCKS_FOR_TYPE, strict=True):
            _require(self.block(strategy) is None or self.type == strategy, rule)
        refusal = step_refusal(self.traffic.provider, self.canary.steps if self.canary else [])
        _require(refusal is None, refusal or rules.STRATEGY_ROUTE_RULES[0])
        refusal = segment_refusal(self.traffic.provider, self.ab_test)
        _require(refusal is None, refusal or rules.REPLICAS_NO_SEGMENT)
        refusal = stickiness_refusal(self.traffic.provider, self.canary.stickiness if self.canary else None)
        _require(refusal is None, refusal or rules.STICKINESS_NEEDS_ROUTER)
        refusal = shadow_refusal(self.type, self.traffic.provider)
        _require(refusal is None, refusal or rules.REPLICAS_NO_SEGMENT)
        routed = self.traffic.provider in rules.BLUE_GREEN_ROUTING_PROVIDERS
        _require(self.blue_green is None or routed, rules.BLUE_GREEN_NEEDS_ROUTES)
        return self


class Dependency(ApiModel):
    """An upstream model this one consumes (its features, its scores)."""

    model: str = Field(pattern=NAME_PATTERN, max_length=63)
    """`spec.model` of an upstream ModelRollout in the same namespace."""
    criticality: float = Field(default=1.0, ge=0, le=1)
    """How much this model depends on the upstream one (0..1); multiplied along a path."""


class ModelRolloutSpec(ApiModel):
    """What to roll out and how: the stable and candidate versions of one model, the steps that
    move traffic to the candidate, and the analysis that decides between promotion and rollback."""

    model: str = Field(pattern=NAME_PATTERN, max_length=40)
    """The logical model; the label `modelrollout.io/model` on everything the operator owns."""
    service: str = Field(pattern=NAME_PATTERN, max_length=63)
    """The Service clients call. It must select `modelrollout.io/model: <model>`."""
    replicas: int = Field(default=3, ge=1, le=1000)
    """Total replicas split between the versions by their weights (the `replicas` traffic
    provider); an aborted or rolled-back candidate gets none. The scale subresource's replicas: a
    HorizontalPodAutoscaler aimed at the ModelRollout, or `kubectl scale`, sets it, and the
    operator splits the new total at once without changing the rollout's step."""
    stable: VersionSpec
    """The version that is safe to serve."""
    candidate: VersionSpec | None = None
    """The version to roll out; changing it starts a new rollout (aborting a running one)."""
    strategy: StrategySpec = Field(default_factory=StrategySpec)
    """How traffic moves to the candidate."""
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    """How the candidate is judged."""
    depends_on: list[Dependency] = Field(default_factory=list, max_length=16)
    """Upstream models: this rollout waits while one of them is mid-rollout."""
    on_upstream_failure: UpstreamFailurePolicy = UpstreamFailurePolicy.PAUSE
    """What to do when an upstream rollout fails and the path criticality passes the threshold."""
    cascade_threshold: float = Field(default=0.5, ge=0, le=1)
    """Path criticality above which an upstream failure cascades to this rollout."""
    paused: bool = False
    """A lasting pause: no step advances while true."""
    revision_history_limit: int = Field(default=3, ge=0, le=10)
    """Old stable Deployments kept at zero replicas for a quick revert: the versions an `undo`
    can return to at once (`kubectl modelrollout undo [--to-version V]`)."""
    progress_deadline: str = Field(default="10m", pattern=DURATION_PATTERN, max_length=32)
    """How long capacity may take to move (a weight step, the promotion) before the candidate,
    still not Available at its planned size, is Degraded (`ProgressDeadlineExceeded`) and
    `analysis.onFailure` applies: rollback, or pause with the stable at the capacity its weight
    needs. Like a Deployment's progressDeadlineSeconds (600)."""
    notifications: list[NotificationSpec] | None = Field(default=None, max_length=NOTIFICATIONS_MAX)
    """Receivers told of the rollout's transitions (start, steps, pauses, promotion, rollback,
    failure). Unset: the operator's default receivers (`--default-notification`), if any; an
    empty list: none."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        candidate = self.candidate
        _require(candidate is None or candidate.version != self.stable.version, rules.CANDIDATE_DIFFERS)
        for strategy, rule in zip(StrategyType, rules.STRATEGY_BLOCKS_REQUIRED, strict=True):
            chosen = self.strategy.type == strategy
            _require(candidate is None or not chosen or self.strategy.block(strategy) is not None, rule)
        upstream = [dependency.model for dependency in self.depends_on]
        _require(self.model not in upstream, rules.DEPENDS_ON_NOT_SELF)
        _require(len(set(upstream)) == len(upstream), rules.DEPENDS_ON_UNIQUE)
        _require(names_unique(self.notifications), rules.NOTIFICATION_NAMES_UNIQUE)
        self._check_analysis_steps()
        check_blue_green(self.strategy.blue_green, self.analysis)
        self._check_ab_test()
        experiment, provider, has_candidate = (
            self.strategy,
            self.strategy.traffic.provider,
            candidate is not None,
        )
        check_shadow(experiment.type, experiment.shadow, self.analysis, has_candidate)
        check_interleaved(experiment.type, experiment.interleaved, provider, self.analysis, has_candidate)
        check_bandit(experiment.type, experiment.bandit, provider, self.analysis, has_candidate)
        return self

    def _check_ab_test(self) -> None:
        ab_test = self.strategy.type == StrategyType.AB_TEST
        goals = [metric for metric in self.analysis.metrics if metric.type == MetricType.GOAL]
        _require(ab_test or not goals, rules.GOAL_ONLY_IN_AB_TEST)
        _require(self.candidate is None or not ab_test or len(goals) == 1, rules.AB_TEST_NEEDS_ONE_GOAL)
        duration = self.strategy.ab_test.duration if self.strategy.ab_test is not None else None
        interval = parse_duration(self.analysis.interval)
        _require(
            not ab_test or duration is None or parse_duration(duration) >= interval,
            rules.AB_TEST_DURATION_COVERS_INTERVAL,
        )

    def _check_analysis_steps(self) -> None:
        canary = self.strategy.canary
        analyses = [step.analysis for step in canary.steps if step.analysis] if canary else []
        if not analyses:
            return
        _require(bool(self.analysis.metrics), rules.ANALYSIS_STEP_NEEDS_METRICS)
        known = {metric.name for metric in self.analysis.metrics}
        named = {name for analysis in analyses for name in analysis.metrics or ()}
        _require(named <= known, rules.STEP_METRICS_EXIST)
        interval = parse_duration(self.analysis.interval)
        longest_waits = [parse_duration(a.max_duration) for a in analyses if a.max_duration is not None]
        covered = all(wait >= interval for wait in longest_waits)
        _require(covered, rules.STEP_MAX_DURATION_COVERS_INTERVAL)
