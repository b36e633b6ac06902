"""The shadow comparison's tests: verdicts on clear cases, intervals that hold the truth, and the
error rates of the betting e-processes at the margin, looked at after every batch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelrollout.analysis import AssessConfig
from modelrollout.analysis.assess.shadow import assess_agreement, assess_score_difference
from modelrollout.analysis.sequential.bounded_mean import (
    above_log_evidence,
    mean_interval,
    within_log_evidence,
)
from modelrollout.api.v1alpha1 import AnalysisMethod, Verdict

EDGES = (0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, math.inf)
"""The router's difference histogram."""
CONFIG = AssessConfig(min_samples=50)


def histogram(differences: np.ndarray) -> list[float]:
    """Cumulative counts per edge, as Prometheus holds them."""
    return [float(np.sum(differences <= edge)) for edge in EDGES]


def test_agreement_well_above_the_margin_passes_and_far_below_fails() -> None:
    good = assess_agreement(495, 500, 0.95, CONFIG)
    assert good.verdict == Verdict.PASS and good.effect == pytest.approx(0.99)
    assert good.interval is not None and 0.95 < good.interval[0] < 0.99 < good.interval[1]
    bad = assess_agreement(70, 100, 0.95, CONFIG)
    assert bad.verdict == Verdict.FAIL and bad.e_value is not None and bad.e_value >= 20
    assert bad.interval is not None and bad.interval[1] < 0.95


def test_too_few_comparisons_or_none_is_inconclusive() -> None:
    assert assess_agreement(10, 10, 0.95, CONFIG).verdict == Verdict.INCONCLUSIVE
    assert "minSamples" in assess_agreement(10, 10, 0.95, CONFIG).explanation
    assert assess_agreement(0, 0, 0.95, CONFIG).verdict == Verdict.INCONCLUSIVE
    assert assess_score_difference(EDGES, [0.0] * 10, None, 0.05, CONFIG).verdict == Verdict.INCONCLUSIVE


def test_agreement_near_the_margin_keeps_collecting() -> None:
    assert assess_agreement(955, 1000, 0.95, CONFIG).verdict == Verdict.INCONCLUSIVE


def test_the_fixed_method_reads_the_evidence_only_at_the_last_look() -> None:
    fixed = AssessConfig(method=AnalysisMethod.FIXED, min_samples=50)
    assert assess_agreement(495, 500, 0.95, fixed).verdict == Verdict.INCONCLUSIVE
    last = AssessConfig(method=AnalysisMethod.FIXED, min_samples=50, final=True)
    assert assess_agreement(495, 500, 0.95, last).verdict == Verdict.PASS


def test_small_score_differences_pass_and_a_shift_fails() -> None:
    rng = np.random.default_rng(1)
    close = histogram(rng.uniform(0, 0.008, 300))
    result = assess_score_difference(EDGES, close, 1.2, 0.05, CONFIG)
    assert result.verdict == Verdict.PASS and result.effect == pytest.approx(0.004)
    assert result.interval is not None and result.interval[1] < 0.05
    shifted = histogram(rng.uniform(0.2, 0.4, 100))
    failed = assess_score_difference(EDGES, shifted, 30.0, 0.05, CONFIG)
    assert failed.verdict == Verdict.FAIL and failed.interval is not None and failed.interval[0] > 0.05


def test_identical_predictions_pass() -> None:
    result = assess_score_difference(EDGES, histogram(np.zeros(200)), 0.0, 0.05, CONFIG)
    assert result.verdict == Verdict.PASS


def test_a_difference_past_the_histogram_never_passes() -> None:
    differences = np.concatenate([np.zeros(10_000), [3.0]])
    result = assess_score_difference(EDGES, histogram(differences), 3.0, 0.05, CONFIG)
    assert result.verdict == Verdict.INCONCLUSIVE and "so no Pass" in result.explanation
    assert result.interval is not None and math.isinf(result.interval[1])


def test_the_bucket_bounds_never_exceed_the_evidence_of_the_exact_values() -> None:
    """Values replaced by their bucket's end can only lose evidence (the monotone factors)."""
    rng = np.random.default_rng(2)
    values = rng.uniform(0, 0.3, 400)
    counts = np.ones_like(values)
    cumulative = np.array(histogram(values))
    per_bucket = np.diff(np.concatenate([[0.0], cumulative]))
    lower, upper = np.array([0.0, *EDGES[:-1]]), np.array(EDGES)
    for margin in (0.1, 0.15, 0.2):
        assert above_log_evidence(lower, per_bucket, margin) <= above_log_evidence(values, counts, margin)
        assert within_log_evidence(upper, per_bucket, margin, 1.0) <= within_log_evidence(
            values, counts, margin, 1.0
        )


@pytest.mark.parametrize("disagreement", [0.05, 0.2])
def test_at_the_margin_neither_wrong_verdict_exceeds_alpha_under_continuous_looks(
    disagreement: float,
) -> None:
    """Seeded: 400 runs of 60 looks of 20 comparisons each, at exactly the margin, looked at after
    every batch. A Pass (claiming agreement above the margin) or a Fail (below it) are both wrong
    there: each happens in at most alpha of the runs."""
    rng = np.random.default_rng(7)
    alpha, runs, looks, batch = 0.05, 400, 60, 20
    threshold = math.log(1 / alpha)
    passed = failed = 0
    for _ in range(runs):
        disagreed = np.cumsum(rng.binomial(batch, disagreement, looks))
        compared = batch * np.arange(1, looks + 1)
        outcome = None
        for d, n in zip(disagreed, compared, strict=True):
            counts = (n - d, d)
            if above_log_evidence((0.0, 1.0), counts, disagreement) >= threshold:
                outcome = "fail"
                break
            if within_log_evidence((0.0, 1.0), counts, disagreement, 1.0) >= threshold:
                outcome = "pass"
                break
        passed += outcome == "pass"
        failed += outcome == "fail"
    assert passed / runs <= alpha and failed / runs <= alpha, (passed, failed)


def test_the_interval_holds_the_true_mean_in_nearly_every_run() -> None:
    rng = np.random.default_rng(3)
    missed = 0
    for _ in range(200):
        values = rng.beta(1, 30, 300)  # mean 1/31
        per_bucket = np.diff(np.concatenate([[0.0], histogram(values)]))
        low, high = mean_interval([0.0, *EDGES[:-1]], EDGES, per_bucket, 1.0, 0.05)
        missed += not low <= 1 / 31 <= high
    assert missed <= 10
