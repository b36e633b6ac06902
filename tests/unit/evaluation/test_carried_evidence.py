"""Evidence carried across analysis steps: the window reaches back to the rollout's first analysis
step, a Fail carries, a Pass waits for `minSamples` candidate requests at the step's own weight,
and `restartPerStep` (or the fixed method) judges each step alone."""

from __future__ import annotations

from modelrollout.api.v1alpha1 import AnalysisMethod, EvidenceSpan, Verdict, format_timestamp
from modelrollout.evaluation import evaluate_interval

from ...fixtures.carried_steps import ERRORS, START, Stretch, source, step_request
from ...fixtures.evaluation_fleet import analysis

WORSE = [Stretch(6, 40, 360, candidate_error_rate=0.03), Stretch(10, 200, 200, candidate_error_rate=0.03)]
"""Errors 1% -> 3% against a +0.5 pp margin: six intervals at a 10% weight, then 50%."""
HEALTHY = [Stretch(8, 300, 700, 0.0, 0.0), Stretch(10, 400, 600, 0.0, 0.0)]
"""No errors on either version: a 30% weight, then 40%."""


def test_step_one_alone_does_not_detect_the_worse_candidate() -> None:
    verdicts = {evaluate_interval(step_request(WORSE, 0, at), source(WORSE)).verdict for at in range(6)}

    assert verdicts == {Verdict.INCONCLUSIVE}


def test_the_window_spans_both_steps_and_a_fail_carries_into_step_two() -> None:
    result = evaluate_interval(step_request(WORSE, 1, 10), source(WORSE))

    assert result.verdict is Verdict.FAIL
    assert (result.intervals, result.evidence_intervals) == (5, 11)
    (errors,) = result.metrics
    assert errors.samples_candidate == 6 * 40 + 5 * 200, "the Fail rests on both steps' requests"
    assert "Evidence carried across steps: 11 intervals since" in errors.explanation
    status = result.status()
    assert (status.runs, status.evidence_intervals) == (5, 11)
    assert status.evidence_started_at == format_timestamp(START)


def test_restarting_the_evidence_at_step_two_detects_the_same_candidate_four_intervals_later() -> None:
    prometheus = source(WORSE)
    carried = [evaluate_interval(step_request(WORSE, 1, at), prometheus).verdict for at in range(6, 16)]
    restarted = [
        evaluate_interval(step_request(WORSE, 1, at, carried=False), prometheus).verdict
        for at in range(6, 16)
    ]

    assert carried.index(Verdict.FAIL) == 4
    assert restarted.index(Verdict.FAIL) == 8
    fresh = evaluate_interval(step_request(WORSE, 1, 10, carried=False), prometheus)
    assert fresh.evidence_intervals == fresh.intervals == 5


def test_a_pass_waits_for_min_samples_candidate_requests_at_the_steps_own_weight() -> None:
    spec = analysis(ERRORS, min_samples=1000)
    prometheus = source(HEALTHY)
    first_step = [
        evaluate_interval(step_request(HEALTHY, 0, at, spec), prometheus).verdict for at in range(8)
    ]
    assert first_step.index(Verdict.PASS) == 4, "step one passes on its own"

    second = [evaluate_interval(step_request(HEALTHY, 1, at, spec), prometheus) for at in range(8, 12)]

    assert [r.verdict for r in second] == [Verdict.INCONCLUSIVE] * 3 + [Verdict.PASS]
    assert [r.metrics[0].samples_candidate for r in second] == [400, 800, 1200, 1600]
    assert "fewer than minSamples 1000" in second[0].metrics[0].explanation
    assert second[0].evidence_intervals == 9, "the carried evidence (which alone would pass) was read"


def test_restart_per_step_judges_each_step_alone_even_with_an_evidence_start() -> None:
    spec = analysis(ERRORS, evidence=EvidenceSpan.RESTART_PER_STEP)
    prometheus = source(WORSE)

    result = evaluate_interval(step_request(WORSE, 1, 10, spec), prometheus)

    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.evidence_intervals == result.intervals == 5
    assert result.status().evidence_started_at == result.status().started_at
    assert result.metrics == evaluate_interval(step_request(WORSE, 1, 10, carried=False), prometheus).metrics


def test_the_fixed_method_tests_each_step_on_its_own() -> None:
    spec = analysis(ERRORS, method=AnalysisMethod.FIXED)

    result = evaluate_interval(step_request(WORSE, 1, 10, spec), source(WORSE))

    assert result.evidence_intervals == result.intervals == 5
    assert result.metrics[0].samples_candidate == 5 * 200


TURNS_WORSE = [
    Stretch(20, 400, 600, candidate_error_rate=0.01),
    Stretch(20, 400, 600, candidate_error_rate=0.04),
]
"""Healthy for twenty intervals, then 4% errors in the next step (a load-dependent regression)."""


def test_a_fail_of_the_steps_own_evidence_is_held_until_the_carried_evidence_decides() -> None:
    """The price of spending alpha once per rollout: a candidate that turns worse only at a later
    step waits for the carried evidence, diluted by the healthy steps before (measured in
    docs/statistics.md#evidence-across-steps; `restartPerStep` judges such steps alone)."""
    prometheus = source(TURNS_WORSE)
    restart = analysis(ERRORS, evidence=EvidenceSpan.RESTART_PER_STEP)

    carried = [evaluate_interval(step_request(TURNS_WORSE, 1, at), prometheus) for at in range(20, 40)]
    alone = [
        evaluate_interval(step_request(TURNS_WORSE, 1, at, restart), prometheus).verdict
        for at in range(20, 40)
    ]

    assert alone.index(Verdict.FAIL) == 1
    assert [r.verdict for r in carried].index(Verdict.FAIL) == 9
    held = carried[1].metrics[0]
    assert (
        held.verdict is Verdict.INCONCLUSIVE and "Held: a rollback rests on the evidence" in held.explanation
    )
    assert held.e_value is not None and held.e_value < 1, "the e-value shown is the carried one"
