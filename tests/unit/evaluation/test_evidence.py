"""No data is not zero, a failed query is Inconclusive, and every metric type reaches its test."""

from __future__ import annotations

from datetime import timedelta

from modelrollout.api.v1alpha1 import (
    AnalysisMethod,
    DriftStatistic,
    FixedTest,
    MetricSpec,
    MetricType,
    ThresholdRange,
    Verdict,
)
from modelrollout.evaluation import evaluate_interval, first_interval_end
from modelrollout.metrics import RangeSeries, StaticSource, TemplateContext, render
from modelrollout.metrics import queries as defaults

from ...fixtures.evaluation_fleet import (
    ERRORS,
    INTERVAL,
    LATENCY,
    START,
    Rollout,
    Version,
    analysis,
    fleet_source,
    interval_ends,
    request,
)

FIRST_END = first_interval_end(START, INTERVAL)
AT = FIRST_END + timedelta(seconds=INTERVAL * 9)
ROLLOUT = Rollout("team-a", "fraud")


def context(version: str) -> TemplateContext:
    return TemplateContext("team-a", "fraud", "fraud", version, "v1", "v2", INTERVAL)


def test_a_candidate_without_series_has_no_data_and_is_inconclusive() -> None:
    rollout = Rollout("team-a", "fraud", candidate=Version(requests=0))
    source = fleet_source([Rollout("team-a", "other")], FIRST_END, AT, known_models=(("team-a", "fraud"),))

    result = evaluate_interval(request(rollout, analysis(LATENCY, ERRORS), AT), source)

    assert result.verdict is Verdict.INCONCLUSIVE
    for metric in result.metrics:
        assert metric.verdict is Verdict.INCONCLUSIVE
        assert "no data for stable (v1) and candidate (v2)" in metric.explanation


def test_zero_errors_with_requests_is_a_count_of_zero_not_missing_data() -> None:
    rollout = Rollout("team-a", "fraud", stable=Version(error_rate=None), candidate=Version(error_rate=None))
    source = fleet_source([rollout], FIRST_END, AT)

    (errors,) = evaluate_interval(request(rollout, analysis(ERRORS), AT), source).metrics

    assert "no data" not in errors.explanation
    assert (errors.stable, errors.candidate) == (0.0, 0.0)
    assert (errors.samples_stable, errors.samples_candidate) == (10_000, 10_000)


def test_zero_requests_reported_as_zero_are_data_too() -> None:
    rollout = Rollout("team-a", "fraud", candidate=Version(requests=0.0, error_rate=0.0))
    source = fleet_source([rollout], FIRST_END, AT)

    (errors,) = evaluate_interval(request(rollout, analysis(ERRORS), AT), source).metrics

    assert "no data" not in errors.explanation
    assert errors.samples_candidate == 0
    assert errors.verdict is Verdict.INCONCLUSIVE


def test_an_unreachable_source_makes_every_metric_inconclusive_never_pass_or_fail() -> None:
    source = fleet_source([ROLLOUT], FIRST_END, AT, online=False)

    result = evaluate_interval(request(ROLLOUT, analysis(LATENCY, ERRORS), AT), source)

    assert result.verdict is Verdict.INCONCLUSIVE
    assert [m.verdict for m in result.metrics] == [Verdict.INCONCLUSIVE] * 2
    assert all("could not query the metrics source" in m.explanation for m in result.metrics)


def test_one_failing_query_only_touches_the_metrics_that_need_it() -> None:
    bad = Rollout("team-a", "fraud", candidate=Version(error_rate=0.3))
    failing = {defaults.histogram_sum(defaults.LATENCY_METRIC, INTERVAL)}
    source = fleet_source([bad], FIRST_END, AT, failing=failing)

    latency, errors = evaluate_interval(request(bad, analysis(LATENCY, ERRORS), AT), source).metrics

    assert latency.verdict is Verdict.INCONCLUSIVE and "could not query" in latency.explanation
    assert errors.verdict is Verdict.FAIL


def test_only_the_step_s_metrics_run_and_an_unknown_name_is_inconclusive() -> None:
    source = fleet_source([ROLLOUT], FIRST_END, AT)

    result = evaluate_interval(
        request(ROLLOUT, analysis(LATENCY, ERRORS), AT, metrics=("errors", "typo")), source
    )

    assert [m.name for m in result.metrics] == ["errors", "typo"]
    assert "no metric named 'typo'" in result.metrics[1].explanation
    assert len([call for call in source.calls if call.at is None]) == 2, "errors and requests"
    assert len([call for call in source.calls if call.at is not None]) == 2, "whether they exist"


def test_final_is_the_look_at_max_duration_and_a_step_may_shorten_it() -> None:
    spec = analysis(ERRORS, max_duration="10m")
    source = fleet_source([ROLLOUT], FIRST_END, START + timedelta(minutes=11))

    assert not evaluate_interval(request(ROLLOUT, spec, START + timedelta(minutes=9)), source).final
    assert evaluate_interval(request(ROLLOUT, spec, START + timedelta(minutes=10, seconds=20)), source).final
    assert evaluate_interval(request(ROLLOUT, spec, AT, max_duration="5m"), source).final


def test_a_custom_query_is_rendered_for_the_candidate_and_checked_against_its_range() -> None:
    template = 'sum(rate(business_total{namespace="{{namespace}}", version="{{version}}"}[{{interval}}]))'
    rendered = render(template, context("v2"))
    every_look = interval_ends(FIRST_END, AT)
    source = StaticSource({rendered: [RangeSeries({}, tuple((t, 0.8) for t in every_look))]})
    passing = MetricSpec(
        name="biz", type=MetricType.CUSTOM, query=template, threshold_range=ThresholdRange(min=0.5)
    )
    failing = passing.model_copy(update={"threshold_range": ThresholdRange(min=0.9)})

    (ok,) = evaluate_interval(request(ROLLOUT, analysis(passing), AT), source).metrics
    (low,) = evaluate_interval(request(ROLLOUT, analysis(failing), AT), source).metrics

    assert (ok.verdict, ok.candidate) == (Verdict.PASS, 0.8)
    assert low.verdict is Verdict.FAIL
    (call, *_) = [call for call in source.calls if call.promql == rendered]
    assert (call.end, call.step) == (AT, INTERVAL), "every look of the step up to the evaluation"


def test_a_custom_query_without_result_is_inconclusive() -> None:
    spec = MetricSpec(
        name="biz", type=MetricType.CUSTOM, query="vector(1)", threshold_range=ThresholdRange(max=2)
    )

    (metric,) = evaluate_interval(request(ROLLOUT, analysis(spec), AT), StaticSource()).metrics

    assert metric.verdict is Verdict.INCONCLUSIVE


def test_a_bad_template_is_inconclusive_with_the_reason() -> None:
    spec = MetricSpec(
        name="biz", type=MetricType.CUSTOM, query='x{v="{{verison}}"}', threshold_range=ThresholdRange(max=1)
    )

    (metric,) = evaluate_interval(request(ROLLOUT, analysis(spec), AT), StaticSource()).metrics

    assert metric.verdict is Verdict.INCONCLUSIVE and "verison" in metric.explanation


def test_a_resource_guardrail_checks_the_busiest_candidate_pod_and_shows_the_stable() -> None:
    spec = MetricSpec(name="cpu", type=MetricType.RESOURCE, max=1.5)
    cpu = defaults.CPU_METRIC
    every_look = interval_ends(FIRST_END, AT)
    source = StaticSource(
        {
            defaults.pod_resource(cpu, "team-a", "fraud", "v1", INTERVAL): [
                RangeSeries({}, tuple((t, 0.7) for t in every_look))
            ],
            defaults.pod_resource(cpu, "team-a", "fraud", "v2", INTERVAL): [
                RangeSeries({}, tuple((t, 2.0) for t in every_look))
            ],
        }
    )

    (metric,) = evaluate_interval(request(ROLLOUT, analysis(spec), AT), source).metrics

    assert (metric.verdict, metric.stable, metric.candidate) == (Verdict.FAIL, 0.7, 2.0)


def test_drift_compares_the_prediction_histograms_of_both_versions() -> None:
    spec = MetricSpec(name="drift", type=MetricType.DRIFT, statistic=DriftStatistic.PSI, max=0.2)
    times = interval_ends(FIRST_END, AT)
    shapes = {"v1": (100.0, 500.0, 900.0, 1000.0), "v2": (10.0, 100.0, 400.0, 1000.0)}
    series = [
        RangeSeries(
            {"namespace": "team-a", "model": "fraud", "version": version, "le": le},
            tuple((t, count) for t in times),
        )
        for version, counts in shapes.items()
        for le, count in zip(("0.25", "0.5", "0.75", "+Inf"), counts, strict=True)
    ]
    source = StaticSource({defaults.histogram_buckets(defaults.PREDICTION_METRIC, INTERVAL): series})

    (metric,) = evaluate_interval(request(ROLLOUT, analysis(spec), AT), source).metrics

    assert metric.verdict is Verdict.FAIL
    assert metric.samples_candidate == 10_000


def test_an_error_pattern_is_a_rate_per_request() -> None:
    spec = MetricSpec(name="oom", type=MetricType.ERROR_PATTERN, max_absolute_increase=0.001)
    times = interval_ends(FIRST_END, AT)
    labels = {"namespace": "team-a", "model": "fraud"}
    hits = [
        RangeSeries({**labels, "version": "v1", "pattern": "OOM"}, tuple((t, 1.0) for t in times)),
        RangeSeries({**labels, "version": "v2", "pattern": "OOM"}, tuple((t, 100.0) for t in times)),
    ]
    source = fleet_source([ROLLOUT], FIRST_END, AT)
    source = StaticSource(
        {
            defaults.grouped_increase(defaults.LOG_PATTERN_METRIC, INTERVAL): hits,
            defaults.requests(defaults.REQUESTS_METRIC, INTERVAL): source.query_range(
                defaults.requests(defaults.REQUESTS_METRIC, INTERVAL), FIRST_END, AT, INTERVAL
            ),
        }
    )

    (metric,) = evaluate_interval(request(ROLLOUT, analysis(spec), AT), source).metrics

    assert metric.verdict is Verdict.FAIL
    assert metric.candidate == 0.1


def test_listed_error_patterns_are_queried_alone_and_literally() -> None:
    spec = MetricSpec(
        name="oom", type=MetricType.ERROR_PATTERN, max_absolute_increase=0.001, patterns=["OOM", "a|b"]
    )
    source = StaticSource()

    evaluate_interval(request(ROLLOUT, analysis(spec), AT), source)

    asked = {call.promql for call in source.calls}
    assert 'increase(model_log_pattern_total{pattern=~"OOM|a\\\\|b"}[30s])' in " ".join(asked)
    assert defaults.grouped_increase(defaults.LOG_PATTERN_METRIC, INTERVAL) not in asked


def test_each_metric_uses_its_fixed_test_at_the_final_look_and_latency_shows_cohens_d() -> None:
    worse = Rollout("team-a", "fraud", candidate=Version(error_rate=0.05, median_latency=0.3))
    latency = LATENCY.model_copy(update={"fixed_test": FixedTest.MANN_WHITNEY})
    errors = ERRORS.model_copy(update={"fixed_test": FixedTest.CHI_SQUARE})
    spec = analysis(latency, errors, method=AnalysisMethod.FIXED, max_duration="5m")
    source = fleet_source([worse], FIRST_END, AT)

    slow, failing = evaluate_interval(request(worse, spec, AT), source).metrics

    assert (slow.verdict, failing.verdict) == (Verdict.FAIL, Verdict.FAIL)
    assert "Mann-Whitney" in slow.explanation and "chi-square" in failing.explanation
    assert slow.cohens_d is not None and slow.cohens_d > 1 and slow.hedges_g is not None
    assert failing.cohens_d is None
