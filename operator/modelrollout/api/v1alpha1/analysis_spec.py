"""`ModelRollout.spec.analysis`: the metrics, where they come from, and how evidence is judged.

Field docstrings become the CRD's descriptions (`kubectl explain`), so they speak to that reader.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from . import crd_rules as rules
from . import enums
from ._model import NAME_PATTERN, ApiModel
from ._model import require as _require
from .durations import DURATION_PATTERN, parse_duration
from .enums import (
    AnalysisMethod,
    DriftStatistic,
    FailurePolicy,
    FixedTest,
    GoalKind,
    InconclusivePolicy,
    MetricType,
)


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
    """Timeout of one query, 1s to 60s; a timeout makes the interval Inconclusive, never a
    failure. One analysis interval ends within three timeouts however Prometheus behaves."""
    auth: PrometheusAuth | None = None
    """Credentials for a protected Prometheus; sent only over https (the address must start with
    `https://`), and read only from Secrets labelled `modelrollout.io/prometheus-credentials:
    "true"` unless the operator runs with `--prometheus-allowed-url`."""
    insecure_skip_verify: bool = False
    """Skip TLS certificate verification (testing only); refused unless the operator runs with
    `--allow-insecure-prometheus`."""
    ca_secret: SecretKeyRef | None = None
    """A CA bundle (PEM) to verify the Prometheus server with (a Secret labelled like `auth`'s)."""

    @model_validator(mode="after")
    def _credentials_over_https(self) -> Self:
        _require(self.auth is None or self.address.startswith("https://"), rules.AUTH_NEEDS_HTTPS)
        return self

    @model_validator(mode="after")
    def _bounded_timeout(self) -> Self:
        bounds = (parse_duration(rules.PROMETHEUS_TIMEOUT_MIN), parse_duration(rules.PROMETHEUS_TIMEOUT_MAX))
        _require(bounds[0] <= parse_duration(self.timeout) <= bounds[1], rules.PROMETHEUS_TIMEOUT_BOUNDS)
        return self


DEFAULT_FAILURE_THRESHOLD = 3
"""Failed looks that fail a `custom` or `resource` check when `failureThreshold` is unset. One or
two bad scrapes in a step are noise a guardrail should ride out, a third is a pattern; at the
default 30s interval a sustained breach still fails within 1.5 minutes (Flagger's examples count
5 to 10 failed checks at 1m intervals)."""


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


METRIC_NAME_PATTERN = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"


class ErrorSeriesSpec(ApiModel):
    """Where an `errorRate` metric finds the errors: exactly one of `selector` or `metricName`.

    Unset, the errors are `{outcome="error"}` on the request counter (`metricName`, by default
    `model_requests_total`).
    """

    selector: str | None = Field(default=None, pattern=r"^\{.+\}$", max_length=512)
    """Label matchers, in braces, that pick the errors out of the request counter, e.g.
    `{outcome="error"}` or `{code=~"5.."}`."""
    metric_name: str | None = Field(default=None, pattern=METRIC_NAME_PATTERN, max_length=200)
    """A counter of its own holding the errors (e.g. `fraud_request_errors_total`), labelled
    with `namespace`, `model` and `version` like the request counter."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        _require((self.selector is None) != (self.metric_name is None), rules.ERROR_SERIES_EXACTLY_ONE)
        return self


class GoalSpec(ApiModel):
    """What an A/B test's goal measures, and by how much the candidate must beat the stable."""

    kind: GoalKind
    """`rate`: `metricName` events per request (the request counter of the other metrics), e.g.
    conversions per request; `mean`: `<metricName>_sum / <metricName>_count`, e.g. order value.
    Higher is better."""
    min_effect: float = Field(default=0.0, ge=0, le=1_000_000)
    """How much better the candidate must be to win, in the goal's units: candidate minus
    stable must be shown above it (a rate: 0.005 is half a percentage point). 0, the default:
    strictly better."""


class MetricSpec(ApiModel):
    """One metric the candidate is judged on."""

    name: str = Field(pattern=NAME_PATTERN, max_length=63)
    """A name, unique in the list; shown in status and events."""
    type: MetricType
    """`latency` and `errorRate` are compared between versions with sequential tests, `drift`
    compares prediction histograms, `custom` checks a PromQL value against `thresholdRange`,
    `resource` guards CPU/memory of the candidate's pods, `errorPattern` counts log patterns."""
    query: str | None = Field(default=None, max_length=1024)
    """PromQL template overriding the type's default (at most 1024 characters). Variables:
    `{{model}}`, `{{version}}`, `{{namespace}}`, `{{interval}}`, `{{name}}`; values are escaped."""
    metric_name: str | None = Field(default=None, pattern=METRIC_NAME_PATTERN, max_length=200)
    """Base metric name for the type's default queries (e.g. `model_request_duration_seconds`):
    the histogram for `latency` and `drift`, the request counter for `errorRate`, the pattern
    counter for `errorPattern`, the container series for `resource`."""
    errors: ErrorSeriesSpec | None = None
    """For `errorRate`: where the errors are, a selector on the request counter or a counter of
    their own; `{outcome="error"}` on the request counter when unset."""
    request_metric_name: str | None = Field(default=None, pattern=METRIC_NAME_PATTERN, max_length=200)
    """For `errorPattern`: the request counter the pattern hits are divided by
    (`model_requests_total` when unset)."""
    patterns: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, min_length=1, max_length=16
    )
    """For `errorPattern`: the values of the counter's `pattern` label to count (each matched
    literally; at most 16, each at most 64 characters); every pattern when absent."""
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
    failure_threshold: int | None = Field(default=None, ge=1, le=100)
    """For `custom` and `resource`: how many failed looks (one per interval, value outside the
    bounds) within the analysis step fail the metric, like Flagger's `threshold` (Argo's
    `failureLimit: N` is `failureThreshold: N+1`). Default 3; 1 decides on the first bad look.
    A look without a value (empty or NaN) is never a failure. The check passes once it has had
    this many looks with a value, the latest one is within the bounds and the candidate has
    `minSamples` requests."""
    critical: bool = False
    """A failure of a critical metric fails the analysis whatever the other metrics say."""
    weight: float = Field(default=1.0, ge=0, le=100)
    """Weight in the combined (Kayenta-style) score."""
    dry_run: bool = False
    """Measured and shown, never deciding."""
    goal: GoalSpec | None = None
    """For `goal` (an ABTest's goal metric): its kind and the smallest effect that wins."""

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
        counted = self.failure_threshold is None or self.type in rules.THRESHOLD_CHECK_TYPES
        _require(counted, rules.FAILURE_THRESHOLD_ONLY_FOR_THRESHOLD_CHECKS)
        errors = self.errors is not None
        _require(not errors or self.type == MetricType.ERROR_RATE, rules.ERRORS_ONLY_FOR_ERROR_RATE)
        _require(not errors or self.query is None, rules.ERRORS_NOT_WITH_QUERY)
        _require(
            self.request_metric_name is None or self.type == MetricType.ERROR_PATTERN,
            rules.REQUEST_METRIC_ONLY_FOR_ERROR_PATTERN,
        )
        bounded = self.max is not None or self.threshold_range is not None
        _require(self.type != MetricType.RESOURCE or bounded, rules.RESOURCE_NEEDS_BOUND)
        margins = (self.max_relative_increase, self.max_absolute_increase)
        has_margin = any(margin is not None for margin in margins)
        _require(self.type not in rules.MARGIN_METRIC_TYPES or has_margin, rules.MARGIN_REQUIRED)
        _require(None in margins, rules.ONE_MARGIN)
        goal = self.type == MetricType.GOAL
        _require(goal == (self.goal is not None), rules.GOAL_SETTINGS_MATCH_TYPE)
        _require(not goal or self.metric_name is not None, rules.GOAL_NEEDS_METRIC_NAME)
        _require(not goal or self.query is None, rules.GOAL_NOT_WITH_QUERY)
        fitting = rules.FIXED_TESTS.get(self.type, ())
        _require(self.fixed_test is None or self.fixed_test in fitting, rules.FIXED_TEST_FITS_TYPE)
        return self

    @property
    def failed_looks_to_fail(self) -> int:
        """`failureThreshold`, or its default when unset."""
        return self.failure_threshold or DEFAULT_FAILURE_THRESHOLD


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
    min_samples: int = Field(default=50, ge=0, le=100_000_000)
    """Candidate requests needed before a verdict (fewer is Inconclusive, never a failure): on the
    evidence since its start for a Fail, at the step's own weight for a Pass. 50 by default: the
    tests are valid at any count and gate their asymptotic parts themselves; the floor of 200 made
    large effects 3-4x slower at low traffic (docs/statistics.md#evidence-across-steps)."""
    max_duration: str = Field(default="30m", pattern=DURATION_PATTERN, max_length=32)
    """How long an analysis step may collect evidence before `onInconclusive` applies."""
    evidence: enums.EvidenceSpan = enums.EvidenceSpan.CARRY
    """`carry` (default): the sequential tests' evidence that the candidate is worse runs from the
    rollout's first analysis step across every later one, each interval weighed with its own
    traffic split; a step passes only on its own evidence, after `minSamples` candidate requests
    at its own weight. `restartPerStep`: each analysis step starts from zero. The `fixed` method
    always tests each step on its own (a classical test is valid only when looked at once)."""
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
