"""A Shadow rollout through the evaluation path: the candidate's latency and errors read from the
router's shadow series against the stable's served ones, and the two comparisons added."""

from __future__ import annotations

import math
from datetime import timedelta

from modelrollout.api.router_config import (
    ROUTER_LATENCY,
    ROUTER_REQUESTS,
    ROUTER_SHADOW_AGREEMENT,
    ROUTER_SHADOW_DIFFERENCE,
    ROUTER_SHADOW_LATENCY,
    ROUTER_SHADOW_REQUESTS,
)
from modelrollout.api.v1alpha1 import ModelRolloutSpec, Verdict
from modelrollout.evaluation import evaluate_interval, first_interval_end, request_for_step
from modelrollout.metrics import RangeSeries, StaticSource
from modelrollout.metrics import queries as defaults

from ...fixtures.evaluation_fleet import EDGES, INTERVAL, START, interval_ends, latency_shares
from ...fixtures.specs import patched, shadow

FIRST_END = first_interval_end(START, INTERVAL)
AT = FIRST_END + timedelta(seconds=INTERVAL * 5)
TIMES = interval_ends(FIRST_END, AT)
STABLE = {"namespace": "ns", "model": "fraud-scorer", "version": "v7"}
CANDIDATE = {**STABLE, "version": "v8"}
MODEL = {"namespace": "ns", "model": "fraud-scorer"}
DIFFERENCE_EDGES = (0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, math.inf)


def per_interval(labels: dict[str, str], value: float) -> RangeSeries:
    return RangeSeries(labels, tuple((t, value) for t in TIMES))


def latency(labels: dict[str, str], requests: float, median: float) -> list[RangeSeries]:
    return [
        per_interval({**labels, "le": "+Inf" if math.isinf(edge) else repr(edge)}, requests * share)
        for edge, share in zip(EDGES, latency_shares(median), strict=True)
    ]


N = 20_000
"""Requests per interval: enough for latency and errors to be shown equal within their margins."""


def source(agreement: float, difference: float, candidate_errors: float) -> StaticSource:
    """`N` requests per interval served by the stable and copied to the candidate; the candidate
    also has served series that say something else entirely (which it must never be judged on)."""
    increase = defaults.grouped_increase
    shadow_requests = f'{ROUTER_SHADOW_REQUESTS}{{outcome!="dropped"}}'
    shadow_errors = f'{ROUTER_SHADOW_REQUESTS}{{outcome="error", outcome!="dropped"}}'
    bucket = next(edge for edge in DIFFERENCE_EDGES if difference <= edge)
    served_errors = defaults.error_series(ROUTER_REQUESTS)
    series = {
        defaults.histogram_buckets(ROUTER_LATENCY, INTERVAL): [
            *latency(STABLE, N, 0.1),
            *latency(CANDIDATE, N, 5.0),
        ],
        defaults.histogram_sum(ROUTER_LATENCY, INTERVAL): [
            per_interval(STABLE, N * 0.113),
            per_interval(CANDIDATE, N * 5.6),
        ],
        defaults.histogram_buckets(ROUTER_SHADOW_LATENCY, INTERVAL): latency(CANDIDATE, N, 0.1),
        defaults.histogram_sum(ROUTER_SHADOW_LATENCY, INTERVAL): [per_interval(CANDIDATE, N * 0.113)],
        defaults.requests(ROUTER_REQUESTS, INTERVAL): [
            per_interval(STABLE, N),
            per_interval(CANDIDATE, N),
        ],
        defaults.request_errors(ROUTER_REQUESTS, INTERVAL): [
            per_interval(STABLE, N * 0.01),
            per_interval(CANDIDATE, N * 0.6),
        ],
        increase(shadow_requests, INTERVAL): [per_interval(CANDIDATE, N)],
        increase(shadow_errors, INTERVAL): [per_interval(CANDIDATE, N * candidate_errors)],
        increase(ROUTER_SHADOW_AGREEMENT, INTERVAL): [per_interval(CANDIDATE, 100)],
        increase(f'{ROUTER_SHADOW_AGREEMENT}{{agree="false"}}', INTERVAL): [
            per_interval(CANDIDATE, 100 * (1 - agreement))
        ],
        defaults.histogram_buckets(ROUTER_SHADOW_DIFFERENCE, INTERVAL): [
            per_interval(
                {**CANDIDATE, "le": "+Inf" if math.isinf(e) else repr(e)}, 100.0 if e >= bucket else 0.0
            )
            for e in DIFFERENCE_EDGES
        ],
        increase(f"{ROUTER_SHADOW_DIFFERENCE}_sum", INTERVAL): [per_interval(CANDIDATE, 100 * difference)],
    }
    presence = [per_interval(MODEL, 1.0)]
    for served in (ROUTER_REQUESTS, f"{ROUTER_LATENCY}_bucket", served_errors):
        both = f"{defaults.series_presence(served)} or {defaults.series_presence(_shadow_name(served))}"
        series[both] = presence
    return StaticSource(series)


def _shadow_name(served: str) -> str:
    if served.startswith(ROUTER_LATENCY):
        return served.replace(ROUTER_LATENCY, ROUTER_SHADOW_LATENCY)
    matchers = served[len(ROUTER_REQUESTS) :].strip("{}")
    return f'{ROUTER_SHADOW_REQUESTS}{{{matchers + ", " if matchers else ""}outcome!="dropped"}}'


def spec(**settings: object) -> ModelRolloutSpec:
    patch = shadow(**settings)
    patch["analysis"]["minSamples"] = 100
    return ModelRolloutSpec.model_validate(patched(patch))


def judge(rollout: ModelRolloutSpec, data: StaticSource) -> dict[str, tuple[Verdict, str]]:
    request = request_for_step(rollout, namespace="ns", name="scorer", started_at=START, at=AT, step=1)
    result = evaluate_interval(request, data)
    by_name = {metric.name: (metric.verdict, metric.explanation) for metric in result.metrics}
    by_name["verdict"] = (result.verdict, result.judgement.explanation)
    return by_name


def test_a_candidate_whose_copies_agree_and_run_as_fast_passes_on_its_shadow_series() -> None:
    judged = judge(spec(), source(agreement=0.995, difference=0.004, candidate_errors=0.01))
    assert {name: verdict for name, (verdict, _) in judged.items()} == {
        "latency": Verdict.PASS,
        "errors": Verdict.PASS,
        "shadow-agreement": Verdict.PASS,
        "shadow-score-difference": Verdict.PASS,
        "verdict": Verdict.PASS,
    }, judged


def test_a_candidate_that_disagrees_fails_on_agreement() -> None:
    judged = judge(spec(), source(agreement=0.7, difference=0.004, candidate_errors=0.01))
    assert judged["shadow-agreement"][0] == Verdict.FAIL and judged["verdict"][0] == Verdict.FAIL
    assert "Agreement 70.00%" in judged["shadow-agreement"][1]


def test_scores_far_from_the_stables_fail_on_the_difference() -> None:
    judged = judge(spec(), source(agreement=0.995, difference=0.25, candidate_errors=0.01))
    assert judged["shadow-score-difference"][0] == Verdict.FAIL and judged["verdict"][0] == Verdict.FAIL


def test_errors_on_the_copies_fail_the_candidate() -> None:
    judged = judge(spec(), source(agreement=0.995, difference=0.004, candidate_errors=0.3))
    assert judged["errors"][0] == Verdict.FAIL and judged["verdict"][0] == Verdict.FAIL


def test_a_margin_turned_off_is_shown_but_never_decides() -> None:
    judged = judge(spec(minAgreement=0), source(agreement=0.7, difference=0.004, candidate_errors=0.01))
    assert judged["verdict"][0] == Verdict.PASS, judged["verdict"]


def test_before_any_comparison_the_comparison_is_inconclusive_not_a_configuration_error() -> None:
    request = request_for_step(spec(), namespace="ns", name="scorer", started_at=START, at=AT, step=1)
    result = evaluate_interval(request, StaticSource({}))
    comparison = [m for m in result.metrics if m.name.startswith("shadow-")]
    assert [m.verdict for m in comparison] == [Verdict.INCONCLUSIVE] * 2
    assert all(m.configuration_error is None and "No compared" in m.explanation for m in comparison)
