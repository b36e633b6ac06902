"""`kubectl modelrollout status`: what a person reads about one rollout."""

from __future__ import annotations

from datetime import UTC, datetime

from modelrollout.cli.status_format import number, render_status, requested_weight, serving_weights

from .samples import ANALYSING, PAUSED_AT_STEP_2, deployment, event, rollout

NOW = datetime(2026, 12, 6, 10, 4, tzinfo=UTC)


def test_the_current_step_is_marked_and_earlier_ones_ticked() -> None:
    text = render_status(rollout(PAUSED_AT_STEP_2), [], [], NOW)
    assert "  ✓  1. setWeight 25" in text
    assert "  => 2. pause (until resumed or promoted)" in text
    assert "     3. analysis (maxDuration 5m)" in text
    assert "Phase:       Paused (PausedByStep)" in text


def test_requested_set_and_serving_weights_are_all_shown() -> None:
    text = render_status(rollout(PAUSED_AT_STEP_2), [], [deployment("v1", 3), deployment("v2", 1)], NOW)
    assert "requested  v2 25% (step 1)" in text
    assert "set        v1 75%, v2 25%" in text
    assert "serving    v1 75% (3 ready), v2 25% (1 ready)" in text


def test_requested_weight_is_the_last_set_weight_at_or_before_the_step() -> None:
    assert requested_weight(rollout({**PAUSED_AT_STEP_2, "currentStep": 0})) == "v2 25% (step 1)"
    assert requested_weight(rollout({**PAUSED_AT_STEP_2, "currentStep": 3})) == "v2 50% (step 4)"
    assert requested_weight(rollout({**PAUSED_AT_STEP_2, "currentStep": 4})) == "v2 100% (all steps done)"
    assert requested_weight(rollout({"phase": "Promoted", "stableVersion": "v1"})) == "-"
    assert serving_weights([]) == "- (no ready pods)"
    assert serving_weights(None) == "unknown (the Deployments could not be read)"


def test_each_metric_shows_verdict_effect_interval_evidence_and_samples() -> None:
    text = render_status(rollout(ANALYSING), [], [], NOW)
    assert "Analysis:    Inconclusive (3 intervals, score 50, last run 2026-12-06T10:03:00Z)" in text
    lines = text.splitlines()
    header = next(line for line in lines if "METRIC" in line)
    assert header.split() == [
        "METRIC", "VERDICT", "STABLE", "CANDIDATE", "EFFECT", "INTERVAL", "E-VALUE", "P-VALUE", "SAMPLES", "S/C",
    ]  # fmt: skip
    errors = next(line for line in lines if line.strip().startswith("errors "))
    assert errors.split() == [
        "errors", "Inconclusive", "0.0101", "0.0125", "0.0024", "[-0.0011,", "0.0061]", "2.5", "-", "3000/1000",
    ]  # fmt: skip
    p95 = next(line for line in lines if line.strip().startswith("p95 "))
    assert "Pass (dry run)" in p95 and "1.2e-05" in p95
    assert "errors: error rate +0.24 points, e-value 2.5 below 20" in text


def test_conditions_last_action_and_recent_events() -> None:
    events = [event("RolloutStarted", "v2 from v1", "2026-12-06T10:01:00Z")] + [
        event("StepCompleted", f"step {i}", "2026-12-06T10:03:30Z") for i in range(12)
    ]
    text = render_status(rollout(ANALYSING), events, [], NOW)
    assert "AnalysisPassing   Unknown   AnalysisInconclusive" in text
    assert "Last action: promote:1a2b3c4d at 2026-12-06T10:02:00Z: step 2 completed" in text
    assert "RolloutStarted" not in text  # only the last 10 Events
    assert "30s   Normal   StepCompleted   step 11" in text


def test_a_rollback_marks_where_it_stopped_and_repeats_no_explanation() -> None:
    rolled_back = {
        **ANALYSING, "phase": "RolledBack",
        "analysis": {**ANALYSING["analysis"], "verdict": "Fail", "runs": 1,
                     "message": "Fail: errors worse. errors: error rate +0.24 points, e-value 2.5 below 20 Score 0/100."},
        "conditions": [{"type": "Degraded", "status": "True", "reason": "RolledBack", "message": "x" * 200,
                        "lastTransitionTime": "2026-12-06T10:03:00Z"}],
    }  # fmt: skip
    text = render_status(rollout(rolled_back), [], [], NOW)
    assert "  ✗  3. analysis (maxDuration 5m)" in text and "requested  v2 0% (rolled back)" in text
    assert "Analysis:    Fail (1 interval," in text and "  Fail: errors worse. Score 0/100." in text
    assert text.count("e-value 2.5 below 20") == 1
    assert "x" * 117 + "..." in text and "x" * 118 not in text


def test_a_rollout_without_status_still_prints() -> None:
    text = render_status(rollout(), [], [], NOW)
    assert "Phase:       Pending" in text and "Analysis:    none yet" in text and "<none>" in text


def test_numbers_are_compact() -> None:
    assert [number(v) for v in (None, 0.0, 0.5, 12.3456, 1.2e-5, 250000.0, float("inf"))] == [
        "-", "0", "0.5", "12.35", "1.2e-05", "2.5e+05", "inf",
    ]  # fmt: skip


def test_an_ab_test_shows_its_split_goal_effect_interval_and_decision() -> None:
    shop = {
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {"strategy": {"type": "ABTest", "abTest": {"split": 30}}},
        "status": {
            "phase": "Progressing",
            "abTest": {
                "split": 30,
                "goal": "conversions",
                "decision": "Superior",
                "verdict": "Pass",
                "stable": 0.05,
                "candidate": 0.08,
                "effect": 0.03,
                "intervalLow": 0.012,
                "intervalHigh": 0.047,
                "eValue": 41.0,
                "samplesStable": 2100,
                "samplesCandidate": 900,
                "intervals": 12,
                "endsAt": "2030-01-01T02:00:00Z",
            },
        },
    }
    text = render_status(shop, [], [], datetime(2030, 1, 1, tzinfo=UTC))
    assert "A/B test:    Superior (candidate at 30%, 12 intervals, ends by 2030-01-01T02:00:00Z)" in text
    assert "goal conversions: Pass, stable 0.05, candidate 0.08, effect 0.03 [0.012, 0.047]" in text
    assert "samples 2100/900" in text


def test_an_ab_test_on_a_segment_says_so_in_place_of_a_split() -> None:
    segment = [{"cookie": {"name": "cohort", "value": "b"}}]
    shop = {
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {"strategy": {"type": "ABTest", "abTest": {"segment": segment}}},
        "status": {
            "phase": "Progressing",
            "abTest": {"segment": segment, "goal": "conversions", "decision": "Collecting", "intervals": 2},
        },
    }
    text = render_status(shop, [], [], datetime(2030, 1, 1, tzinfo=UTC))
    assert "A/B test:    Collecting (candidate on a segment, 2 intervals, ends by -)" in text
