"""The CEL rules of `spec.analysis`: the metrics, their settings, and where they come from.

Split from `crd_rules` (which re-exports them, so validators and tests read every rule as
`crd_rules.X`) because the metric types' settings grow with each metric kind.
"""

from __future__ import annotations

from .cel import CelRule, forbidden, given_durations, quoted, spoken
from .enums import AnalysisMethod, FixedTest, MetricType

INTERVAL_MIN = "5s"
"""Shortest `analysis.interval`: below it Prometheus' scrape interval dominates every sample."""
INTERVAL_MAX = "1h"
"""Longest `analysis.interval`: beyond it a rollout takes days to reach a verdict."""
PROMETHEUS_TIMEOUT_MIN = "1s"
"""Shortest query `timeout`: below it a healthy Prometheus under load already times out."""
PROMETHEUS_TIMEOUT_MAX = "60s"
"""Longest query `timeout`: an analysis tick may take three of them, and waiting longer only holds
the step on a server that is not answering."""
MARGIN_METRIC_TYPES = (MetricType.LATENCY, MetricType.ERROR_RATE)
"""Metric types compared between versions, which need a non-inferiority margin."""
THRESHOLD_CHECK_TYPES = (MetricType.CUSTOM, MetricType.RESOURCE)
"""Metric types that check the candidate's value against bounds at each look (`failureThreshold`)."""

FIXED_TESTS: dict[MetricType, tuple[FixedTest, ...]] = {
    MetricType.LATENCY: (FixedTest.WELCH, FixedTest.MANN_WHITNEY),
    MetricType.ERROR_RATE: (FixedTest.TWO_PROPORTION_Z, FixedTest.CHI_SQUARE, FixedTest.G_TEST),
    MetricType.ERROR_PATTERN: (FixedTest.TWO_PROPORTION_Z, FixedTest.CHI_SQUARE, FixedTest.G_TEST),
}
"""The classical tests that fit each metric type, its default (used when `fixedTest` is unset)
first. Types not listed have no fixed-horizon comparison between versions."""


# --- spec.analysis (AnalysisSpec) ----------------------------------------------------------------

INTERVAL_BOUNDS = CelRule(
    rule=given_durations(
        f"duration(self.interval) >= duration('{INTERVAL_MIN}') && "
        f"duration(self.interval) <= duration('{INTERVAL_MAX}')",
        "self.interval",
    ),
    message=f"interval must be between {INTERVAL_MIN} and {INTERVAL_MAX}",
    field_path=".interval",
)
MAX_DURATION_COVERS_INTERVAL = CelRule(
    rule=given_durations(
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
ERRORS_ONLY_FOR_ERROR_RATE = forbidden(
    ".errors",
    f"!has(self.errors) || self.type == '{MetricType.ERROR_RATE.value}'",
    "errors applies to errorRate metrics only",
)
ERRORS_NOT_WITH_QUERY = forbidden(
    ".errors",
    "!has(self.errors) || !has(self.query)",
    "errors selects the series of the default query; with a query of your own, select the errors in it",
)
REQUEST_METRIC_ONLY_FOR_ERROR_PATTERN = forbidden(
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
FAILURE_THRESHOLD_ONLY_FOR_THRESHOLD_CHECKS = CelRule(
    rule=f"!has(self.failureThreshold) || self.type in {quoted(tuple(t.value for t in THRESHOLD_CHECK_TYPES))}",
    message="failureThreshold applies to custom and resource metrics only",
    field_path=".failureThreshold",
    reason="FieldValueForbidden",
)
MARGIN_REQUIRED = CelRule(
    rule=(
        f"!(self.type in {quoted(tuple(t.value for t in MARGIN_METRIC_TYPES))}) || "
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


def _fixed_test_fits_type() -> CelRule:
    allowed = " || ".join(
        f"(self.type == '{kind.value}' && self.fixedTest in {quoted(tuple(t.value for t in tests))})"
        for kind, tests in FIXED_TESTS.items()
    )
    types_by_tests: dict[tuple[FixedTest, ...], list[str]] = {}
    for kind, tests in FIXED_TESTS.items():
        types_by_tests.setdefault(tests, []).append(kind.value)
    fits = "; ".join(
        f"{spoken([t.value for t in tests], 'or')} for {spoken(kinds, 'and')}"
        for tests, kinds in types_by_tests.items()
    )
    return CelRule(
        rule=f"!has(self.fixedTest) || {allowed}",
        message=f"fixedTest must fit the metric type: {fits}",
        field_path=".fixedTest",
    )


FIXED_TEST_FITS_TYPE = _fixed_test_fits_type()
"""Generated from `FIXED_TESTS`, so the message lists exactly the tests that are implemented."""

GOAL_SETTINGS_MATCH_TYPE = CelRule(
    rule=f"(self.type == '{MetricType.GOAL.value}') == has(self.goal)",
    message="a goal metric needs goal (its kind), and goal applies to goal metrics only",
    field_path=".goal",
)
GOAL_NEEDS_METRIC_NAME = CelRule(
    rule=f"self.type != '{MetricType.GOAL.value}' || has(self.metricName)",
    message="a goal metric needs metricName: the event counter of a rate, the _sum/_count base of a mean",
    field_path=".metricName",
    reason="FieldValueRequired",
)
GOAL_NOT_WITH_QUERY = forbidden(
    ".query",
    f"self.type != '{MetricType.GOAL.value}' || !has(self.query)",
    "a goal metric reads its default series (metricName); query does not apply",
)

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

# --- spec.analysis.prometheus (PrometheusSpec) --------------------------------------------------

PROMETHEUS_TIMEOUT_BOUNDS = CelRule(
    rule=given_durations(
        f"duration(self.timeout) >= duration('{PROMETHEUS_TIMEOUT_MIN}') && "
        f"duration(self.timeout) <= duration('{PROMETHEUS_TIMEOUT_MAX}')",
        "self.timeout",
    ),
    message=f"timeout must be between {PROMETHEUS_TIMEOUT_MIN} and {PROMETHEUS_TIMEOUT_MAX}",
    field_path=".timeout",
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

# --- spec.analysis.prometheus (PrometheusSpec) ---------------------------------------------------

AUTH_NEEDS_HTTPS = CelRule(
    rule="!has(self.auth) || self.address.startsWith('https://')",
    message="auth credentials are sent only over https: the address must start with https://",
    field_path=".address",
)

ANALYSIS_RULES: dict[str, tuple[CelRule, ...]] = {
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
        FAILURE_THRESHOLD_ONLY_FOR_THRESHOLD_CHECKS,
        MARGIN_REQUIRED,
        ONE_MARGIN,
        FIXED_TEST_FITS_TYPE,
        GOAL_SETTINGS_MATCH_TYPE,
        GOAL_NEEDS_METRIC_NAME,
        GOAL_NOT_WITH_QUERY,
    ),
    "ErrorSeriesSpec": (ERROR_SERIES_EXACTLY_ONE,),
    "ThresholdRange": (THRESHOLD_RANGE_BOUNDED, THRESHOLD_RANGE_ORDERED),
    "PrometheusSpec": (PROMETHEUS_TIMEOUT_BOUNDS, AUTH_NEEDS_HTTPS),
    "PrometheusAuth": (BASIC_AUTH_PAIRED, ONE_AUTH_KIND),
    "ScoreThresholdsSpec": (SCORE_THRESHOLDS_ORDERED,),
}
"""The rules above by the name of the pydantic model whose schema carries them (see `crd_rules.RULES`)."""
