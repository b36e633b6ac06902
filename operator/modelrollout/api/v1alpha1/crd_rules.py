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

from dataclasses import dataclass

from .durations import DURATION_PATTERN
from .enums import AnalysisMethod, FixedTest, MetricType, StrategyType

INTERVAL_MIN = "5s"
"""Shortest `analysis.interval`: below it Prometheus' scrape interval dominates every sample."""
INTERVAL_MAX = "1h"
"""Longest `analysis.interval`: beyond it a rollout takes days to reach a verdict."""
NAME_MAX_LENGTH = 63
"""`metadata.name` becomes the value of the label `modelrollout.io/rollout`."""

MARGIN_METRIC_TYPES = (MetricType.LATENCY, MetricType.ERROR_RATE)
"""Metric types compared between versions, which need a non-inferiority margin."""

FIXED_TESTS: dict[MetricType, tuple[FixedTest, ...]] = {
    MetricType.LATENCY: (FixedTest.WELCH, FixedTest.MANN_WHITNEY),
    MetricType.ERROR_RATE: (FixedTest.TWO_PROPORTION_Z, FixedTest.CHI_SQUARE, FixedTest.G_TEST),
    MetricType.ERROR_PATTERN: (FixedTest.TWO_PROPORTION_Z, FixedTest.CHI_SQUARE, FixedTest.G_TEST),
}
"""The classical tests that fit each metric type, its default (used when `fixedTest` is unset)
first. Types not listed have no fixed-horizon comparison between versions."""


@dataclass(frozen=True)
class CelRule:
    """One `x-kubernetes-validations` entry."""

    rule: str
    message: str
    """Shown by `kubectl apply` after the field path; pydantic raises the same text."""
    field_path: str | None = None
    """Where the apiserver reports the error, relative to `self` (e.g. `.candidate.version`)."""
    reason: str | None = None
    """`FieldValueRequired` or `FieldValueForbidden`; Invalid when None. (Not `FieldValueDuplicate`:
    the apiserver prints that one without the message.)"""

    def to_schema(self) -> dict[str, str]:
        entry = {"rule": self.rule, "message": self.message}
        if self.field_path is not None:
            entry["fieldPath"] = self.field_path
        if self.reason is not None:
            entry["reason"] = self.reason
        return entry


def strategy_block(strategy: StrategyType) -> str:
    """The `spec.strategy` field holding the settings of a strategy type (`Canary` -> `canary`)."""
    return strategy.value[0].lower() + strategy.value[1:]


def _quoted(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{value}'" for value in values) + "]"


def _given_durations(check: str, *fields: str) -> str:
    """`check` on duration strings, skipped when one is absent or malformed.

    A malformed duration already fails the field's `pattern` with a clear message; without the
    guard, `duration()` would add a "type conversion error" for every rule that reads it.
    """
    present = " && ".join(f"has({field}) && {field}.matches(r'{DURATION_PATTERN}')" for field in fields)
    return f"!({present}) || ({check})"


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
        + _given_durations(
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

# --- spec.strategy.canary.steps[*] (CanaryStep) --------------------------------------------------

STEP_EXACTLY_ONE = CelRule(
    rule=("(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + (has(self.analysis) ? 1 : 0) == 1"),
    message="a step sets exactly one of setWeight, pause and analysis",
)

# --- spec.analysis (AnalysisSpec) ----------------------------------------------------------------

INTERVAL_BOUNDS = CelRule(
    rule=_given_durations(
        f"duration(self.interval) >= duration('{INTERVAL_MIN}') && "
        f"duration(self.interval) <= duration('{INTERVAL_MAX}')",
        "self.interval",
    ),
    message=f"interval must be between {INTERVAL_MIN} and {INTERVAL_MAX}",
    field_path=".interval",
)
MAX_DURATION_COVERS_INTERVAL = CelRule(
    rule=_given_durations(
        "duration(self.maxDuration) >= duration(self.interval)", "self.maxDuration", "self.interval"
    ),
    message="maxDuration must be at least interval",
    field_path=".maxDuration",
)
METRIC_NAMES_UNIQUE = CelRule(
    rule="!has(self.metrics) || self.metrics.all(m, self.metrics.exists_one(n, n.name == m.name))",
    message="metric names must be unique",
    field_path=".metrics",
)
PROMETHEUS_FOR_METRICS = CelRule(
    rule="!has(self.metrics) || size(self.metrics) == 0 || has(self.prometheus)",
    message="prometheus is required when metrics are listed",
    field_path=".prometheus",
    reason="FieldValueRequired",
)

FIXED_TEST_NEEDS_FIXED_METHOD = CelRule(
    rule=(
        f"(has(self.method) && self.method == '{AnalysisMethod.FIXED.value}') || "
        "!has(self.metrics) || self.metrics.all(m, !has(m.fixedTest))"
    ),
    message="a metric's fixedTest applies only when analysis.method is fixed",
    field_path=".metrics",
    reason="FieldValueForbidden",
)


def _forbidden(field_path: str, rule: str, message: str) -> CelRule:
    """A rule refusing a field where it does not apply."""
    return CelRule(rule=rule, message=message, field_path=field_path, reason="FieldValueForbidden")


ERROR_SERIES_EXACTLY_ONE = CelRule(
    rule="has(self.selector) != has(self.metricName)",
    message="errors takes exactly one of selector (matchers on the request counter) or metricName (a counter of its own)",
)

# --- spec.analysis.metrics[*] (MetricSpec) -------------------------------------------------------

CUSTOM_NEEDS_QUERY = CelRule(
    rule=f"self.type != '{MetricType.CUSTOM.value}' || has(self.query)",
    message="a custom metric needs a query",
    field_path=".query",
    reason="FieldValueRequired",
)
CUSTOM_NEEDS_THRESHOLD_RANGE = CelRule(
    rule=f"self.type != '{MetricType.CUSTOM.value}' || has(self.thresholdRange)",
    message="a custom metric needs a thresholdRange",
    field_path=".thresholdRange",
    reason="FieldValueRequired",
)
DRIFT_NEEDS_STATISTIC = CelRule(
    rule=f"self.type != '{MetricType.DRIFT.value}' || has(self.statistic)",
    message="a drift metric needs a statistic",
    field_path=".statistic",
    reason="FieldValueRequired",
)
DRIFT_NEEDS_MAX = CelRule(
    rule=f"self.type != '{MetricType.DRIFT.value}' || has(self.max)",
    message="a drift metric needs max, the largest allowed distance",
    field_path=".max",
    reason="FieldValueRequired",
)
STATISTIC_ONLY_FOR_DRIFT = CelRule(
    rule=f"!has(self.statistic) || self.type == '{MetricType.DRIFT.value}'",
    message="statistic applies to drift metrics only",
    field_path=".statistic",
    reason="FieldValueForbidden",
)
PATTERNS_ONLY_FOR_ERROR_PATTERN = CelRule(
    rule=f"!has(self.patterns) || self.type == '{MetricType.ERROR_PATTERN.value}'",
    message="patterns apply to errorPattern metrics only",
    field_path=".patterns",
    reason="FieldValueForbidden",
)
PATTERNS_NOT_WITH_QUERY = CelRule(
    rule="!has(self.patterns) || !has(self.query)",
    message="patterns select series of the default query; with a query of your own, match the patterns in it",
    field_path=".patterns",
    reason="FieldValueForbidden",
)
ERRORS_ONLY_FOR_ERROR_RATE = _forbidden(
    ".errors",
    f"!has(self.errors) || self.type == '{MetricType.ERROR_RATE.value}'",
    "errors applies to errorRate metrics only",
)
ERRORS_NOT_WITH_QUERY = _forbidden(
    ".errors",
    "!has(self.errors) || !has(self.query)",
    "errors selects the series of the default query; with a query of your own, select the errors in it",
)
REQUEST_METRIC_ONLY_FOR_ERROR_PATTERN = _forbidden(
    ".requestMetricName",
    f"!has(self.requestMetricName) || self.type == '{MetricType.ERROR_PATTERN.value}'",
    "requestMetricName applies to errorPattern metrics only (errorRate takes its request counter from metricName)",
)
RESOURCE_NEEDS_BOUND = CelRule(
    rule=f"self.type != '{MetricType.RESOURCE.value}' || has(self.max) || has(self.thresholdRange)",
    message="a resource metric needs max (the largest allowed usage) or a thresholdRange",
    field_path=".max",
    reason="FieldValueRequired",
)
MARGIN_REQUIRED = CelRule(
    rule=(
        f"!(self.type in {_quoted(tuple(t.value for t in MARGIN_METRIC_TYPES))}) || "
        "has(self.maxRelativeIncrease) || has(self.maxAbsoluteIncrease)"
    ),
    message="latency and errorRate metrics need maxRelativeIncrease or maxAbsoluteIncrease",
    field_path=".maxRelativeIncrease",
    reason="FieldValueRequired",
)
ONE_MARGIN = CelRule(
    rule="!(has(self.maxRelativeIncrease) && has(self.maxAbsoluteIncrease))",
    message="set either maxRelativeIncrease or maxAbsoluteIncrease, not both",
    field_path=".maxAbsoluteIncrease",
    reason="FieldValueForbidden",
)


def _spoken(words: list[str], last: str) -> str:
    """`a`, `a or b`, `a, b or c`: a list as a sentence says it."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _fixed_test_fits_type() -> CelRule:
    allowed = " || ".join(
        f"(self.type == '{kind.value}' && self.fixedTest in {_quoted(tuple(t.value for t in tests))})"
        for kind, tests in FIXED_TESTS.items()
    )
    types_by_tests: dict[tuple[FixedTest, ...], list[str]] = {}
    for kind, tests in FIXED_TESTS.items():
        types_by_tests.setdefault(tests, []).append(kind.value)
    fits = "; ".join(
        f"{_spoken([t.value for t in tests], 'or')} for {_spoken(kinds, 'and')}"
        for tests, kinds in types_by_tests.items()
    )
    return CelRule(
        rule=f"!has(self.fixedTest) || {allowed}",
        message=f"fixedTest must fit the metric type: {fits}",
        field_path=".fixedTest",
    )


FIXED_TEST_FITS_TYPE = _fixed_test_fits_type()
"""Generated from `FIXED_TESTS`, so the message lists exactly the tests that are implemented."""

# --- thresholdRange (ThresholdRange) -------------------------------------------------------------

THRESHOLD_RANGE_BOUNDED = CelRule(
    rule="has(self.min) || has(self.max)",
    message="thresholdRange needs min, max or both",
    reason="FieldValueRequired",
)
THRESHOLD_RANGE_ORDERED = CelRule(
    rule="!has(self.min) || !has(self.max) || self.min <= self.max",
    message="thresholdRange.min must not exceed thresholdRange.max",
    field_path=".min",
)

# --- spec.analysis.scoreThresholds (ScoreThresholdsSpec) -----------------------------------------

SCORE_THRESHOLDS_ORDERED = CelRule(
    rule="!has(self.marginal) || self.marginal <= (has(self.pass) ? self.pass : 100)",
    message="scoreThresholds.marginal must not exceed scoreThresholds.pass",
    field_path=".marginal",
)

# --- spec.analysis.prometheus.auth (PrometheusAuth) ----------------------------------------------

BASIC_AUTH_PAIRED = CelRule(
    rule="has(self.username) == has(self.password)",
    message="username and password are set together",
    field_path=".password",
    reason="FieldValueRequired",
)
ONE_AUTH_KIND = CelRule(
    rule="!has(self.bearerToken) || !has(self.username)",
    message="use either bearerToken or username/password, not both",
    field_path=".bearerToken",
    reason="FieldValueForbidden",
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
        STEP_METRICS_EXIST,
        ANALYSIS_STEP_NEEDS_METRICS,
        STEP_MAX_DURATION_COVERS_INTERVAL,
    ),
    "StrategySpec": STRATEGY_BLOCKS_FOR_TYPE,
    "CanaryStep": (STEP_EXACTLY_ONE,),
    "AnalysisSpec": (
        INTERVAL_BOUNDS,
        MAX_DURATION_COVERS_INTERVAL,
        METRIC_NAMES_UNIQUE,
        PROMETHEUS_FOR_METRICS,
        FIXED_TEST_NEEDS_FIXED_METHOD,
    ),
    "MetricSpec": (
        CUSTOM_NEEDS_QUERY,
        CUSTOM_NEEDS_THRESHOLD_RANGE,
        DRIFT_NEEDS_STATISTIC,
        DRIFT_NEEDS_MAX,
        STATISTIC_ONLY_FOR_DRIFT,
        PATTERNS_ONLY_FOR_ERROR_PATTERN,
        PATTERNS_NOT_WITH_QUERY,
        ERRORS_ONLY_FOR_ERROR_RATE,
        ERRORS_NOT_WITH_QUERY,
        REQUEST_METRIC_ONLY_FOR_ERROR_PATTERN,
        RESOURCE_NEEDS_BOUND,
        MARGIN_REQUIRED,
        ONE_MARGIN,
        FIXED_TEST_FITS_TYPE,
    ),
    "ErrorSeriesSpec": (ERROR_SERIES_EXACTLY_ONE,),
    "ThresholdRange": (THRESHOLD_RANGE_BOUNDED, THRESHOLD_RANGE_ORDERED),
    "PrometheusAuth": (BASIC_AUTH_PAIRED, ONE_AUTH_KIND),
    "ScoreThresholdsSpec": (SCORE_THRESHOLDS_ORDERED,),
}
"""CEL rules by the name of the pydantic model (the `$defs` key) whose schema carries them."""
