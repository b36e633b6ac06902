"""`ModelRollout.spec`: what an ML engineer writes.

Field docstrings become the CRD's descriptions (`kubectl explain`), so they speak to that reader.
Cross-field rules live in `crd_rules.py` as CEL for the CRD; the model validators here check the
same rules with the same messages, so a spec loaded by the operator or the CLI gets the answer
`kubectl apply` gave.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from . import crd_rules as rules
from .durations import DURATION_PATTERN, parse_duration
from .enums import (
    AnalysisMethod,
    DriftStatistic,
    FailurePolicy,
    FixedTest,
    InconclusivePolicy,
    MetricType,
    StrategyType,
    TrafficProvider,
    UpstreamFailurePolicy,
)

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""A DNS-1123 label: model names and versions become parts of object names and label values."""

MetricName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
"""The name of an entry of `spec.analysis.metrics`."""


def _require(holds: bool, rule: rules.CelRule) -> None:
    """Raise the CEL rule's own message, so pydantic and the apiserver say the same thing."""
    if not holds:
        raise ValueError(rule.message)


class ApiModel(BaseModel):
    """Base of every API object: camelCase on the wire, snake_case in Python, docstrings as docs."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="ignore",
    )


class VersionSpec(ApiModel):
    """One version of the model: its name, how to run it, and what produced it."""

    version: str = Field(pattern=NAME_PATTERN, max_length=40)
    """The model version, e.g. `v7`. Becomes the label `modelrollout.io/version` and the suffix of
    the Deployment `<rollout-name>-<version>`."""
    template: dict[str, Any] | None = None
    """The PodTemplateSpec of this version (free-form here; checked by a server-side dry-run).
    For the stable version it is required only if its Deployment does not exist yet."""
    parameters: dict[str, Any] | None = None
    """Training parameters, artefact URI, data snapshot...: recorded as-is in the lineage."""


class PauseStep(ApiModel):
    """Hold the current weights."""

    duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """How long to wait, e.g. `5m`. Without a duration the rollout waits for `resume`."""


class StepAnalysis(ApiModel):
    """Judge the candidate at the current weights before the next step."""

    metrics: list[MetricName] | None = Field(
        default=None, min_length=1, max_length=32, json_schema_extra={"x-kubernetes-list-type": "set"}
    )
    """Names of `spec.analysis.metrics` to run at this step, each once; all of them when omitted."""
    max_duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """Overrides `spec.analysis.maxDuration` for this step."""

    @field_validator("metrics")
    @classmethod
    def _metrics_once(cls, metrics: list[str] | None) -> list[str] | None:
        if metrics is not None and len(set(metrics)) != len(metrics):
            raise ValueError("a step names each metric once")
        return metrics


class CanaryStep(ApiModel):
    """One step. Exactly one of `setWeight`, `pause` and `analysis` is set."""

    set_weight: int | None = Field(default=None, ge=0, le=100)
    """Share of traffic, in percent, that the candidate receives from this step on."""
    pause: PauseStep | None = None
    """Wait for a duration, or until resumed."""
    analysis: StepAnalysis | None = None
    """Run the analysis until it reaches a verdict (or `maxDuration`)."""

    @model_validator(mode="after")
    def _exactly_one_action(self) -> Self:
        actions = (self.set_weight, self.pause, self.analysis)
        _require(sum(action is not None for action in actions) == 1, rules.STEP_EXACTLY_ONE)
        return self


class CanaryStrategy(ApiModel):
    """Move traffic to the candidate in steps, judging it on the way."""

    steps: list[CanaryStep] = Field(min_length=1, max_length=50)
    """The steps, in order. After the last one the candidate is promoted."""


class TrafficSpec(ApiModel):
    """How the operator realises weights."""

    provider: TrafficProvider = TrafficProvider.REPLICAS
    """How weights become traffic. `replicas` splits `spec.replicas` between the versions'
    Deployments behind the one Service (coarse: a weight is rounded to whole replicas)."""


class StrategySpec(ApiModel):
    """The strategy type and its settings block."""

    type: StrategyType = StrategyType.CANARY
    """The rollout strategy; its block (e.g. `canary`) must be set once there is a candidate."""
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    """The traffic provider."""
    canary: CanaryStrategy | None = None
    """Steps of a Canary rollout; required when `type` is Canary and a candidate is set."""

    def block(self, strategy: StrategyType) -> BaseModel | None:
        """The settings block of `strategy` (e.g. `canary` for Canary), None when unset."""
        by_alias = {field.alias: name for name, field in type(self).model_fields.items()}
        block: BaseModel | None = getattr(self, by_alias[rules.strategy_block(strategy)])
        return block

    @model_validator(mode="after")
    def _blocks_match_type(self) -> Self:
        for strategy, rule in zip(StrategyType, rules.STRATEGY_BLOCKS_FOR_TYPE, strict=True):
            _require(self.block(strategy) is None or self.type == strategy, rule)
        return self


class SecretKeyRef(ApiModel):
    """A key of a Secret in the ModelRollout's namespace."""

    name: str = Field(max_length=253)
    """Name of a Secret in the ModelRollout's namespace."""
    key: str = Field(max_length=253)
    """Key inside the Secret."""


class PrometheusAuth(ApiModel):
    """Either a bearer token or basic auth (username and password)."""

    bearer_token: SecretKeyRef | None = None
    """A bearer token read from a Secret."""
    username: SecretKeyRef | None = None
    """Basic-auth user name read from a Secret."""
    password: SecretKeyRef | None = None
    """Basic-auth password read from a Secret."""

    @model_validator(mode="after")
    def _one_complete_kind(self) -> Self:
        _require((self.username is None) == (self.password is None), rules.BASIC_AUTH_PAIRED)
        _require(self.bearer_token is None or self.username is None, rules.ONE_AUTH_KIND)
        return self


class PrometheusSpec(ApiModel):
    """Where the metrics come from."""

    address: str = Field(pattern=r"^https?://", max_length=2048)
    """Base URL of the Prometheus HTTP API, e.g. `http://prometheus.monitoring:9090`."""
    timeout: str = Field(default="10s", pattern=DURATION_PATTERN, max_length=32)
    """Timeout of one query; a timeout makes the interval Inconclusive, never a failure."""
    auth: PrometheusAuth | None = None
    """Credentials for a protected Prometheus."""
    insecure_skip_verify: bool = False
    """Skip TLS certificate verification (testing only)."""
    ca_secret: SecretKeyRef | None = None
    """A CA bundle (PEM) to verify the Prometheus server with."""


class ThresholdRange(ApiModel):
    """Flagger-compatible bounds on a custom query's value (the candidate's)."""

    min: float | None = None
    """The value must be at least this."""
    max: float | None = None
    """The value must be at most this."""

    @model_validator(mode="after")
    def _bounded_and_ordered(self) -> Self:
        _require(self.min is not None or self.max is not None, rules.THRESHOLD_RANGE_BOUNDED)
        _require(self.min is None or self.max is None or self.min <= self.max, rules.THRESHOLD_RANGE_ORDERED)
        return self


class MetricSpec(ApiModel):
    """One metric the candidate is judged on."""

    name: str = Field(pattern=NAME_PATTERN, max_length=63)
    """A name, unique in the list; shown in status and events."""
    type: MetricType
    """`latency` and `errorRate` are compared between versions with sequential tests, `drift`
    compares prediction histograms, `custom` checks a PromQL value against `thresholdRange`,
    `resource` guards CPU/memory of the candidate's pods, `errorPattern` counts log patterns."""
    query: str | None = Field(default=None, max_length=4096)
    """PromQL template overriding the type's default. Variables: `{{model}}`, `{{version}}`,
    `{{namespace}}`, `{{interval}}`, `{{name}}`; values are escaped."""
    metric_name: str | None = Field(default=None, pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", max_length=200)
    """Base metric name for the type's default queries (e.g. `model_request_duration_seconds`)."""
    patterns: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, min_length=1, max_length=32
    )
    """For `errorPattern`: the values of the counter's `pattern` label to count (each matched
    literally); every pattern when absent."""
    threshold_range: ThresholdRange | None = None
    """Bounds for `custom` (and optionally any metric's candidate value)."""
    max_relative_increase: float | None = Field(default=None, ge=0, le=10)
    """Non-inferiority margin as a fraction: 0.10 allows the candidate 10% worse than stable."""
    max_absolute_increase: float | None = Field(default=None, ge=0, le=1)
    """Non-inferiority margin in absolute units (error rate: 0.005 is half a percentage point)."""
    fixed_test: FixedTest | None = None
    """The classical test when `analysis.method` is `fixed`: `welch` (default) or `mannWhitney`
    for `latency`; `twoProportionZ` (default), `chiSquare` or `gTest` for `errorRate` and
    `errorPattern`. `chiSquare` and `gTest` are two-sided tests without a margin: they Fail only
    when the rates differ significantly and the candidate is worse than the margin, and Pass when
    the observed effect is within it."""
    statistic: DriftStatistic | None = None
    """Drift distance for `drift` metrics."""
    max: float | None = None
    """Largest allowed drift distance (or resource usage for `resource`)."""
    critical: bool = False
    """A failure of a critical metric fails the analysis whatever the other metrics say."""
    weight: float = Field(default=1.0, ge=0, le=100)
    """Weight in the combined (Kayenta-style) score."""
    dry_run: bool = False
    """Measured and shown, never deciding."""

    @model_validator(mode="after")
    def _settings_match_type(self) -> Self:
        custom, drift = self.type == MetricType.CUSTOM, self.type == MetricType.DRIFT
        _require(not custom or self.query is not None, rules.CUSTOM_NEEDS_QUERY)
        _require(not custom or self.threshold_range is not None, rules.CUSTOM_NEEDS_THRESHOLD_RANGE)
        _require(not drift or self.statistic is not None, rules.DRIFT_NEEDS_STATISTIC)
        _require(not drift or self.max is not None, rules.DRIFT_NEEDS_MAX)
        _require(self.statistic is None or drift, rules.STATISTIC_ONLY_FOR_DRIFT)
        patterned = self.patterns is not None
        _require(
            not patterned or self.type == MetricType.ERROR_PATTERN, rules.PATTERNS_ONLY_FOR_ERROR_PATTERN
        )
        _require(not patterned or self.query is None, rules.PATTERNS_NOT_WITH_QUERY)
        bounded = self.max is not None or self.threshold_range is not None
        _require(self.type != MetricType.RESOURCE or bounded, rules.RESOURCE_NEEDS_BOUND)
        margins = (self.max_relative_increase, self.max_absolute_increase)
        has_margin = any(margin is not None for margin in margins)
        _require(self.type not in rules.MARGIN_METRIC_TYPES or has_margin, rules.MARGIN_REQUIRED)
        _require(None in margins, rules.ONE_MARGIN)
        fitting = rules.FIXED_TESTS.get(self.type, ())
        _require(self.fixed_test is None or self.fixed_test in fitting, rules.FIXED_TEST_FITS_TYPE)
        return self


class ScoreThresholdsSpec(ApiModel):
    """Kayenta's canary-score thresholds (as Argo Rollouts' Kayenta provider takes them).

    The score is the weighted share of passing metrics, 0-100. Fail once it stays below
    `marginal` even if every undecided metric passed; Pass once it reaches `pass` even if every
    undecided metric failed; in between the analysis is Inconclusive. A critical metric's Fail
    vetoes whatever the score. Without this block any deciding Fail fails and Pass needs every
    metric to pass (the same as 100 and 100).
    """

    passing: int = Field(default=100, ge=1, le=100, alias="pass")
    """Score at or above which the candidate passes (at least 1: some metric must pass)."""
    marginal: int | None = Field(default=None, ge=0, le=100)
    """Score below which it fails; defaults to `pass` (no marginal band in between)."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _require(self.marginal is None or self.marginal <= self.passing, rules.SCORE_THRESHOLDS_ORDERED)
        return self

    @property
    def fail_below(self) -> int:
        return self.passing if self.marginal is None else self.marginal


class AnalysisSpec(ApiModel):
    """The metrics, the test and the policies that turn evidence into promotion or rollback."""

    interval: str = Field(default="30s", pattern=DURATION_PATTERN, max_length=32)
    """How often the metrics are queried and tested (5s to 1h)."""
    prometheus: PrometheusSpec | None = None
    """The Prometheus to query; required when metrics are listed."""
    method: AnalysisMethod = AnalysisMethod.SEQUENTIAL
    """`sequential` (anytime-valid, default) or `fixed` (one classical test at maxDuration, chosen
    per metric by `fixedTest`)."""
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    """Significance level: the false-rollback rate the tests are built to stay under."""
    min_samples: int = Field(default=200, ge=0, le=100_000_000)
    """Candidate requests needed before testing starts; fewer is Inconclusive, never a failure."""
    max_duration: str = Field(default="30m", pattern=DURATION_PATTERN, max_length=32)
    """How long an analysis step may collect evidence before `onInconclusive` applies."""
    on_inconclusive: InconclusivePolicy = InconclusivePolicy.PAUSE
    """What to do when `maxDuration` passes without a verdict."""
    on_failure: FailurePolicy = FailurePolicy.ROLLBACK
    """`rollback` (default) or `pause` to keep a human in the loop."""
    metrics: list[MetricSpec] = Field(default_factory=list, max_length=32)
    """The metrics to test, by unique name."""
    score_thresholds: ScoreThresholdsSpec | None = None
    """Judge Kayenta-style on the weighted score instead of failing on any deciding metric."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        interval = parse_duration(self.interval)
        bounds = (parse_duration(rules.INTERVAL_MIN), parse_duration(rules.INTERVAL_MAX))
        _require(bounds[0] <= interval <= bounds[1], rules.INTERVAL_BOUNDS)
        _require(parse_duration(self.max_duration) >= interval, rules.MAX_DURATION_COVERS_INTERVAL)
        names = [metric.name for metric in self.metrics]
        _require(len(set(names)) == len(names), rules.METRIC_NAMES_UNIQUE)
        _require(not self.metrics or self.prometheus is not None, rules.PROMETHEUS_FOR_METRICS)
        chosen = any(metric.fixed_test is not None for metric in self.metrics)
        _require(self.method == AnalysisMethod.FIXED or not chosen, rules.FIXED_TEST_NEEDS_FIXED_METHOD)
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
    """Total replicas split between the versions by the `replicas` traffic provider."""
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
    revision_history_limit: int = Field(default=2, ge=0, le=10)
    """Old stable Deployments kept at zero replicas for a quick revert."""

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
        self._check_analysis_steps()
        return self

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
