"""The public names of `analysis` are pinned: changing them is a deliberate act."""

from __future__ import annotations

import modelrollout.analysis as analysis


def test_analysis_exports() -> None:
    assert set(analysis.__all__) == {
        "ArmCounts",
        "ArmReport",
        "BanditDecision",
        "BanditSettings",
        "BestArm",
        "BetaPosterior",
        "bandit_decision",
        "best_arm",
        "regret_against",
        "AssessConfig",
        "EffectSize",
        "FixedTestResult",
        "HistogramSample",
        "JudgedMetric",
        "Judgement",
        "LatencyEvidence",
        "Margin",
        "MetricTest",
        "RateEvidence",
        "RateSample",
        "ScoreThresholds",
        "assess_drift",
        "assess_latency",
        "assess_rate",
        "assess_threshold",
        "binned_margin",
        "bucket_representatives",
        "check_threshold",
        "chi_square",
        "cohens_d",
        "gaussian_log_evidence",
        "corrected_distances",
        "drift_bounds",
        "drift_distance",
        "drift_distances",
        "g_test",
        "hedges_g",
        "holm",
        "judge",
        "latency_log_evidence",
        "mann_whitney_u",
        "rate_log_evidence",
        "relative_change",
        "two_proportion_z",
        "welch_t",
    }
    assert all(hasattr(analysis, name) for name in analysis.__all__)
