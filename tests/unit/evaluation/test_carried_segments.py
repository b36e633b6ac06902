"""Evidence carried across steps whose canary weight differs is counted one split at a time: the
evaluation cuts the window where the split changed (`split_changes`, from status) and hands the
analysis the path with its segment starts, for errors and for latency."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np

from modelrollout.analysis import (
    AssessConfig,
    HistogramSample,
    Margin,
    RateSample,
    assess_latency,
    assess_rate,
)
from modelrollout.api.v1alpha1 import AnalysisSpec, MetricSpec, MetricType, Verdict
from modelrollout.evaluation import EvaluationRequest, evaluate_interval
from modelrollout.metrics import RangeSeries, StaticSource
from modelrollout.metrics import queries as defaults

from ...fixtures.carried_steps import (
    ERRORS,
    LABELS,
    Stretch,
    error_source,
    look,
    source,
    step_request,
    step_start,
)
from ...fixtures.evaluation_fleet import INTERVAL, analysis

TEN_THEN_FIFTY = [
    Stretch(6, 40, 360, candidate_error_rate=0.015),
    Stretch(6, 200, 200, candidate_error_rate=0.015),
]
"""Errors 1% -> 1.5% at a +0.5 pp margin: six intervals at 10%, then six at 50%."""
CHANGE = step_start(TEN_THEN_FIFTY, 1)
"""The weight went to 50% as step two started, on the grid: its first look starts the segment."""


def _segmented(request: EvaluationRequest) -> EvaluationRequest:
    return replace(request, split_changes=(CHANGE,))


def _rate_path(stretches: list[Stretch], looks: int, starts: tuple[int, ...]) -> RateSample:
    """The cumulative counts of ``stretches`` at each of their first ``looks`` looks."""
    per_look = [s for s in stretches for _ in range(s.intervals)][:looks]
    running, path = np.zeros(4), []
    for s in per_look:
        running += np.asarray(
            (
                s.stable_requests * s.stable_error_rate,
                s.stable_requests,
                s.candidate_requests * s.candidate_error_rate,
                s.candidate_requests,
            )
        )
        path.append(RateSample(*(float(v) for v in running)))
    return replace(path[-1], earlier=tuple(path[:-1]), segment_starts=starts)


def test_the_carried_window_across_a_weight_change_is_judged_per_segment() -> None:
    """Without the change (as before) the window is one split; with it the e-value is the analysis'
    segmented one, computed on the same counts with the 50% step as its own segment."""
    at = 11
    prometheus = source(TEN_THEN_FIFTY)
    one_split = evaluate_interval(step_request(TEN_THEN_FIFTY, 1, at), prometheus).metrics[0]
    segmented = evaluate_interval(_segmented(step_request(TEN_THEN_FIFTY, 1, at)), prometheus).metrics[0]

    config = AssessConfig(min_samples=analysis(ERRORS).min_samples)
    margin = Margin(absolute=0.005)
    expected = assess_rate(_rate_path(TEN_THEN_FIFTY, at + 1, (6,)), margin, config)
    as_one = assess_rate(_rate_path(TEN_THEN_FIFTY, at + 1, ()), margin, config)
    assert segmented.e_value is not None and expected.e_value is not None and as_one.e_value is not None
    assert math.isclose(segmented.e_value, expected.e_value, rel_tol=1e-9)
    assert math.isclose(one_split.e_value or 0.0, as_one.e_value, rel_tol=1e-9)
    assert not math.isclose(expected.e_value, as_one.e_value, rel_tol=1e-3), "the cut changes the evidence"


def test_a_change_between_looks_makes_the_mixed_look_a_segment_of_its_own() -> None:
    """A change a third of the way into an interval: that look saw both splits, so it is alone."""
    at = 11
    within = CHANGE - timedelta(seconds=2 * INTERVAL / 3)
    request = replace(step_request(TEN_THEN_FIFTY, 1, at), split_changes=(within,))

    result = evaluate_interval(request, source(TEN_THEN_FIFTY)).metrics[0]

    expected = assess_rate(
        _rate_path(TEN_THEN_FIFTY, at + 1, (5, 6)), Margin(absolute=0.005), AssessConfig(min_samples=50)
    )
    assert result.e_value is not None and expected.e_value is not None
    assert math.isclose(result.e_value, expected.e_value, rel_tol=1e-9)


def test_changes_outside_the_carried_window_or_without_carrying_cut_nothing() -> None:
    prometheus = source(TEN_THEN_FIFTY)
    plain = evaluate_interval(step_request(TEN_THEN_FIFTY, 1, 11), prometheus).metrics
    early = replace(step_request(TEN_THEN_FIFTY, 1, 11), split_changes=(look(0) - timedelta(hours=1),))
    alone = replace(step_request(TEN_THEN_FIFTY, 1, 11, carried=False), split_changes=(CHANGE,))

    assert evaluate_interval(early, prometheus).metrics == plain
    assert (
        evaluate_interval(alone, prometheus).metrics
        == evaluate_interval(step_request(TEN_THEN_FIFTY, 1, 11, carried=False), prometheus).metrics
    )


# -- latency -----------------------------------------------------------------------------------

EDGES = (0.05, 0.1, 0.25, 0.5, 1.0, math.inf)
LATENCY = MetricSpec(name="latency", type=MetricType.LATENCY, max_relative_increase=0.1)
STABLE_SHARES = (0.1, 0.4, 0.8, 0.95, 0.99, 1.0)
SLOWER_SHARES = (0.05, 0.3, 0.7, 0.9, 0.98, 1.0)


def _latency_source(requests: list[tuple[float, float]]) -> StaticSource:
    """Per look (candidate, stable) requests, the candidate slower; buckets per version."""
    times = [look(i).timestamp() for i in range(len(requests))]
    buckets = []
    for version, index, shares in (("v1", 1, STABLE_SHARES), ("v2", 0, SLOWER_SHARES)):
        for edge, share in zip(EDGES, shares, strict=True):
            labels = {**LABELS, "version": version, "le": "+Inf" if edge == math.inf else repr(edge)}
            buckets.append(
                RangeSeries(
                    labels, tuple((t, r[index] * share) for t, r in zip(times, requests, strict=True))
                )
            )
    present = [RangeSeries(LABELS, tuple((t, 1.0) for t in times))]
    return StaticSource(
        {
            defaults.histogram_buckets(defaults.LATENCY_METRIC, INTERVAL): buckets,
            defaults.histogram_sum(defaults.LATENCY_METRIC, INTERVAL): [],
            defaults.series_presence(f"{defaults.LATENCY_METRIC}_bucket"): present,
        }
    )


def _histogram_path(requests: list[tuple[float, float]], starts: tuple[int, ...]) -> HistogramSample:
    looks, candidate, stable = [], 0.0, 0.0
    for c, s in requests:
        candidate, stable = candidate + c, stable + s
        looks.append(
            HistogramSample(
                EDGES,
                tuple(stable * share for share in STABLE_SHARES),
                tuple(candidate * share for share in SLOWER_SHARES),
            )
        )
    return replace(looks[-1], earlier=tuple(looks[:-1]), segment_starts=starts)


def test_latency_is_judged_on_the_histogram_path_per_segment() -> None:
    requests = [(20.0, 180.0)] * 6 + [(100.0, 100.0)] * 6
    spec = analysis(LATENCY)
    request = replace(step_request(TEN_THEN_FIFTY, 1, 11, spec), split_changes=(CHANGE,))

    result = evaluate_interval(request, _latency_source(requests)).metrics[0]

    config = AssessConfig(min_samples=spec.min_samples)
    expected = assess_latency(_histogram_path(requests, (6,)), Margin(relative=0.1), config)
    as_one = assess_latency(_histogram_path(requests, ()), Margin(relative=0.1), config)
    assert result.e_value is not None and expected.e_value is not None and as_one.e_value is not None
    assert math.isclose(result.e_value, expected.e_value, rel_tol=1e-9)
    assert not math.isclose(expected.e_value, as_one.e_value, rel_tol=1e-3)


# -- calibration through the evaluation ----------------------------------------------------------

RUNS = 100
AT_MARGIN = MetricSpec(name="errors", type=MetricType.ERROR_RATE, max_relative_increase=0.2)


def test_a_candidate_at_the_margin_across_weight_changes_is_rolled_back_at_most_alpha() -> None:
    """The hardest null (errors exactly 20% above the stable's, margin +20%) through the whole
    evaluation, the weight going 10% -> 50% -> 90% over three steps, looked at every interval of
    the later steps with the evidence carried and cut at each change: at most alpha of the runs
    fail (seeded, 100 runs)."""
    rng = np.random.default_rng(24)
    spec = analysis(AT_MARGIN, alpha=0.05, min_samples=50)
    weights = (0.1, 0.5, 0.9)
    stretches = [Stretch(4, 0, 0) for _ in weights]
    changes = (step_start(stretches, 1), step_start(stretches, 2))
    failed = 0
    for _ in range(RUNS):
        counts = []
        for weight in weights:
            for _ in range(4):
                n_c, n_s = rng.poisson(300 * weight), rng.poisson(300 * (1 - weight))
                counts.append((n_c, rng.binomial(n_c, 0.024), n_s, rng.binomial(n_s, 0.02)))
        prometheus = _rate_source(counts)
        verdicts = {
            evaluate_interval(
                replace(_request(spec, stretches, step, at), split_changes=changes), prometheus
            ).verdict
            for step in (1, 2)
            for at in range(4 * step, 4 * step + 4)
        }
        failed += Verdict.FAIL in verdicts
    assert failed <= 0.05 * RUNS


def _request(spec: AnalysisSpec, stretches: list[Stretch], step: int, at: int) -> EvaluationRequest:
    return step_request(stretches, step, at, spec)


def _rate_source(counts: list[tuple[int, int, int, int]]) -> StaticSource:
    """Per look: candidate requests and errors, stable requests and errors."""
    times = [look(i).timestamp() for i in range(len(counts))]
    per_version = {"v1": [(c[2], c[3]) for c in counts], "v2": [(c[0], c[1]) for c in counts]}
    return error_source(times, LABELS, per_version)


# -- the interval shown --------------------------------------------------------------------------

WORSE = [Stretch(6, 40, 360, candidate_error_rate=0.03), Stretch(10, 200, 200, candidate_error_rate=0.03)]
"""Errors 1% -> 3% against a +0.5 pp margin: six intervals at 10%, then 50%."""


def test_counting_the_splits_apart_costs_two_looks_here_and_still_beats_restarting() -> None:
    """The price of validity on this candidate: judged as one split the carried window failed at
    look 10 (`test_carried_evidence`), counted per split at look 12; step two alone fails at 14."""
    prometheus = source(WORSE)
    verdicts = [
        evaluate_interval(
            replace(step_request(WORSE, 1, at), split_changes=(step_start(WORSE, 1),)), prometheus
        ).verdict
        for at in range(6, 16)
    ]

    assert verdicts.index(Verdict.FAIL) == 6


def test_a_fail_across_splits_shows_no_one_split_interval() -> None:
    """The one-split inversion over a window of several splits is not what the verdict rests on,
    so a Fail on the segmented evidence shows the effect without an interval."""
    request = replace(step_request(WORSE, 1, 12), split_changes=(step_start(WORSE, 1),))

    (errors,) = evaluate_interval(request, source(WORSE)).metrics

    assert errors.verdict is Verdict.FAIL
    assert errors.interval_low is None and errors.interval_high is None
    assert errors.effect is not None and math.isclose(errors.effect, 0.02, rel_tol=1e-9)
    assert "no interval" in errors.explanation


def test_while_the_step_goes_on_the_interval_shown_is_the_steps_own() -> None:
    """Not decided yet: the interval is the step's own (one split, the one a Pass rests on)."""
    at = 8
    request = replace(step_request(TEN_THEN_FIFTY, 1, at), split_changes=(CHANGE,))
    alone = replace(step_request(TEN_THEN_FIFTY, 1, at, carried=False))

    (carried,) = evaluate_interval(request, source(TEN_THEN_FIFTY)).metrics
    (own,) = evaluate_interval(alone, source(TEN_THEN_FIFTY)).metrics

    assert carried.verdict is Verdict.INCONCLUSIVE
    assert (carried.interval_low, carried.interval_high) == (own.interval_low, own.interval_high)
    assert carried.interval_low is not None


def test_the_analysis_gives_no_interval_for_a_path_of_several_splits() -> None:
    path = _rate_path(WORSE, 11, (6,))
    config = AssessConfig(min_samples=50)

    for margin in (Margin(absolute=0.005), Margin(relative=0.2)):
        result = assess_rate(path, margin, config)
        assert result.interval is None and result.effect is not None, margin
    latency = assess_latency(
        _histogram_path([(20.0, 180.0)] * 6 + [(100.0, 100.0)] * 6, (6,)), Margin(relative=0.1), config
    )
    assert latency.interval is None and latency.effect is not None
