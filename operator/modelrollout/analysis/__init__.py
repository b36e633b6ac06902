"""Statistics for rollout decisions: pure numpy/scipy, no I/O.

Layers, each importing only the ones below it (`.importlinter`, contract analysis-layers):
`judge` combines metric verdicts; `assess` turns one metric's sample into a verdict; `sequential`
(anytime-valid e-values and confidence sequences) and `fixed` (classical tests, read once) are
the tests it chooses between; `histograms` reads Prometheus buckets; `types` holds the values
passed between them. The vectorised evidence functions are public so the benchmark runs the code
the operator runs. Proofs, references and measured figures: docs/statistics.md.
"""

from .assess import (
    MeanSample,
    assess_drift,
    assess_goal_mean,
    assess_goal_rate,
    assess_latency,
    assess_rate,
    assess_threshold,
    check_threshold,
)
from .bandit import (
    ArmCounts,
    ArmReport,
    BanditDecision,
    BanditSettings,
    BestArm,
    BetaPosterior,
    bandit_decision,
    best_arm,
    regret_against,
)
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
from .histograms import (
    binned_margin,
    bucket_representatives,
    corrected_distances,
    drift_distance,
    drift_distances,
)
from .interleaving import (
    InterleavingCounts,
    InterleavingResult,
    InterleavingSettings,
    assess_interleaving,
    interleaving_log_evidence,
)
from .judge import judge
from .sequential import (
    LatencyEvidence,
    RateEvidence,
    drift_bounds,
    gaussian_log_evidence,
    latency_log_evidence,
    rate_log_evidence,
)
from .types import (
    AssessConfig,
    HistogramSample,
    JudgedMetric,
    Judgement,
    Margin,
    MetricTest,
    RateSample,
    ScoreThresholds,
)

__all__ = [
    "ArmCounts",
    "ArmReport",
    "AssessConfig",
    "BanditDecision",
    "BanditSettings",
    "BestArm",
    "BetaPosterior",
    "EffectSize",
    "FixedTestResult",
    "HistogramSample",
    "InterleavingCounts",
    "InterleavingResult",
    "InterleavingSettings",
    "JudgedMetric",
    "Judgement",
    "LatencyEvidence",
    "Margin",
    "MeanSample",
    "MetricTest",
    "RateEvidence",
    "RateSample",
    "ScoreThresholds",
    "assess_drift",
    "assess_goal_mean",
    "assess_goal_rate",
    "assess_interleaving",
    "assess_latency",
    "assess_rate",
    "assess_threshold",
    "bandit_decision",
    "best_arm",
    "binned_margin",
    "bucket_representatives",
    "check_threshold",
    "chi_square",
    "cohens_d",
    "corrected_distances",
    "drift_bounds",
    "drift_distance",
    "drift_distances",
    "g_test",
    "gaussian_log_evidence",
    "hedges_g",
    "holm",
    "interleaving_log_evidence",
    "judge",
    "latency_log_evidence",
    "mann_whitney_u",
    "rate_log_evidence",
    "regret_against",
    "relative_change",
    "two_proportion_z",
    "welch_t",
]
