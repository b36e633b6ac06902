"""`ModelRollout.spec`: what an ML engineer writes.

Field docstrings become the CRD's descriptions (`kubectl explain`), so they speak to that reader.
Cross-field rules (CEL) are attached by the CRD generator in `crd.py`, next to the schema they check.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from .durations import DURATION_PATTERN
from .enums import (
    AnalysisMethod,
    DriftStatistic,
    FailurePolicy,
    InconclusivePolicy,
    MetricType,
    StrategyType,
    TrafficProvider,
    UpstreamFailurePolicy,
)

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""A DNS-1123 label: model names and versions become parts of object names and label values."""


class ApiModel(BaseModel):
    """Base of every API object: camelCase on the wire, snake_case in Python, docstrings as docs."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="ignore",
    )


class VersionSpec(ApiModel):
    version: str = Field(pattern=NAME_PATTERN, max_length=40)
    """The model version, e.g. `v7`. Becomes the label `modelrollout.io/version` and the suffix of
    the Deployment `<rollout-name>-<version>`."""
    template: dict[str, Any] | None = None
    """The PodTemplateSpec of this version (free-form here; checked by a server-side dry-run).
    For the stable version it is required only if its Deployment does not exist yet."""
    parameters: dict[str, Any] | None = None
    """Training parameters, artefact URI, data snapshot...: recorded as-is in the lineage."""


class PauseStep(ApiModel):
    duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """How long to wait, e.g. `5m`. Without a duration the rollout waits for `resume`."""


class StepAnalysis(ApiModel):
    metrics: list[str] | None = Field(default=None, max_length=32)
    """Names of `spec.analysis.metrics` to run at this step; all of them when omitted."""
    max_duration: str | None = Field(default=None, pattern=DURATION_PATTERN, max_length=32)
    """Overrides `spec.analysis.maxDuration` for this step."""


class CanaryStep(ApiModel):
    """One step. Exactly one of `setWeight`, `pause` and `analysis` is set."""

    set_weight: int | None = Field(default=None, ge=0, le=100)
    """Share of traffic, in percent, that the candidate receives from this step on."""
    pause: PauseStep | None = None
    """Wait for a duration, or until resumed."""
    analysis: StepAnalysis | None = None
    """Run the analysis until it reaches a verdict (or `maxDuration`)."""


class CanaryStrategy(ApiModel):
    steps: list[CanaryStep] = Field(min_length=1, max_length=50)
    """The steps, in order. After the last one the candidate is promoted."""


class TrafficSpec(ApiModel):
    provider: TrafficProvider = TrafficProvider.REPLICAS
    """How weights become traffic. `replicas` splits `spec.replicas` between the versions'
    Deployments behind the one Service (coarse: a weight is rounded to whole replicas)."""


class StrategySpec(ApiModel):
    type: StrategyType = StrategyType.CANARY
    """The rollout strategy; its block (e.g. `canary`) must be set."""
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    """The traffic provider."""
    canary: CanaryStrategy | None = None
    """Steps of a Canary rollout; required when `type` is Canary."""


class SecretKeyRef(ApiModel):
    name: str = Field(max_length=253)
    """Name of a Secret in the ModelRollout's namespace."""
    key: str = Field(max_length=253)
    """Key inside the Secret."""


class PrometheusAuth(ApiModel):
    bearer_token: SecretKeyRef | None = None
    """A bearer token read from a Secret."""
    username: SecretKeyRef | None = None
    """Basic-auth user name read from a Secret."""
    password: SecretKeyRef | None = None
    """Basic-auth password read from a Secret."""


class PrometheusSpec(ApiModel):
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


class MetricSpec(ApiModel):
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
    threshold_range: ThresholdRange | None = None
    """Bounds for `custom` (and optionally any metric's candidate value)."""
    max_relative_increase: float | None = Field(default=None, ge=0, le=10)
    """Non-inferiority margin as a fraction: 0.10 allows the candidate 10% worse than stable."""
    max_absolute_increase: float | None = Field(default=None, ge=0, le=1)
    """Non-inferiority margin in absolute units (error rate: 0.005 is half a percentage point)."""
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


class AnalysisSpec(ApiModel):
    interval: str = Field(default="30s", pattern=DURATION_PATTERN, max_length=32)
    """How often the metrics are queried and tested (5s to 1h)."""
    prometheus: PrometheusSpec | None = None
    """The Prometheus to query; required when metrics are listed."""
    method: AnalysisMethod = AnalysisMethod.SEQUENTIAL
    """`sequential` (anytime-valid, default) or `fixed` (one classical test at maxDuration)."""
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
    """The metrics to test."""


class Dependency(ApiModel):
    model: str = Field(pattern=NAME_PATTERN, max_length=63)
    """`spec.model` of an upstream ModelRollout in the same namespace."""
    criticality: float = Field(default=1.0, ge=0, le=1)
    """How much this model depends on the upstream one (0..1); multiplied along a path."""


class ModelRolloutSpec(ApiModel):
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
