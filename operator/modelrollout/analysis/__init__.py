"""Statistics for rollout decisions: pure numpy/scipy, no I/O.

Sequential (anytime-valid) non-inferiority tests for rates and latency histograms, classical
fixed-horizon tests, drift distances on histogram buckets, threshold checks, and the judge that
combines metric results into one verdict.
"""

from .drift import drift_distance, test_drift
from .fixed import (
    EffectSize,
    FixedTestResult,
    chi_square,
    cohens_d,
    g_test,
    hedges_g,
    holm,
    mann_whitney_u,
    relative_change,
    two_proportion_z,
    welch_t,
)
from .judge import judge
from .latency import test_latency
from .rates import test_rate
from .threshold import check_threshold
from .types import (
    HistogramSample,
    JudgedMetric,
    Judgement,
    Margin,
    MetricTest,
    RateSample,
    ScoreThresholds,
    TestConfig,
)

# pytest collects any module-level callable named test_* from a test module's namespace; these
# are library functions that tests (ours and the evaluation layer's) import by name.
for _function in (test_rate, test_latency, test_drift):
    vars(_function)["__test__"] = False
TestConfig.__test__ = False  # type: ignore[attr-defined]

__all__ = [
    "EffectSize",
    "FixedTestResult",
    "HistogramSample",
    "JudgedMetric",
    "Judgement",
    "Margin",
    "MetricTest",
    "RateSample",
    "ScoreThresholds",
    "TestConfig",
    "check_threshold",
    "chi_square",
    "cohens_d",
    "drift_distance",
    "g_test",
    "hedges_g",
    "holm",
    "judge",
    "mann_whitney_u",
    "relative_change",
    "test_drift",
    "test_latency",
    "test_rate",
    "two_proportion_z",
    "welch_t",
]
