"""An interleaving experiment through the evaluation path: the router's wins and impressions read
per interval from the metrics source, the sequential test on the totals, and the verdict judged
beside the guardrails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from modelrollout.api.router_config import ROUTER_INTERLEAVING_IMPRESSIONS, ROUTER_INTERLEAVING_WINS
from modelrollout.api.v1alpha1 import INTERLEAVING_METRIC, ModelRolloutSpec, Verdict
from modelrollout.evaluation import evaluate_interval, first_interval_end, request_for_step
from modelrollout.metrics import RangeSeries, StaticSource
from modelrollout.metrics import queries as defaults

from ...fixtures.evaluation_fleet import INTERVAL, START, interval_ends
from ...fixtures.specs import interleaved, patched

FIRST_END = first_interval_end(START, INTERVAL)
LOOKS = 10
AT = FIRST_END + timedelta(seconds=INTERVAL * (LOOKS - 1))
NAMESPACE = "ml"


def spec(**settings: Any) -> ModelRolloutSpec:
    """An interleaving experiment of v8 against v7 with no guardrail, every 30 s."""
    patch = interleaved(**settings)
    patch["analysis"] = {"interval": "30s", "metrics": []}
    return ModelRolloutSpec.model_validate(patched(patch))


def source(per_look: dict[str, float], impressions: float) -> StaticSource:
    """Each interval: `per_look` impressions won by version (and `tie`), `impressions` shown."""
    times = interval_ends(FIRST_END, AT)
    model = {"namespace": NAMESPACE, "model": "fraud-scorer"}
    wins = [
        RangeSeries({**model, "version": version}, tuple((t, count) for t in times))
        for version, count in per_look.items()
    ]
    shown = [
        RangeSeries({**model, "version": version}, tuple((t, impressions) for t in times))
        for version in ("v7", "v8")
    ]
    return StaticSource(
        {
            defaults.grouped_increase(ROUTER_INTERLEAVING_WINS, INTERVAL): wins,
            defaults.grouped_increase(ROUTER_INTERLEAVING_IMPRESSIONS, INTERVAL): shown,
        }
    )


def evaluate(rollout: ModelRolloutSpec, metrics: StaticSource) -> Any:
    request = request_for_step(
        rollout, namespace=NAMESPACE, name="fraud-scorer", started_at=START, at=AT, step=1
    )
    return evaluate_interval(request, metrics)


def interleaving(result: Any) -> Any:
    return next(metric for metric in result.metrics if metric.name == INTERLEAVING_METRIC)


def test_users_preferring_the_candidates_ranking_pass_it_with_the_counts_in_the_result() -> None:
    result = evaluate(spec(), source({"v8": 12.0, "v7": 4.0, "tie": 4.0}, impressions=30.0))
    metric = interleaving(result)
    assert result.verdict == Verdict.PASS and metric.verdict == Verdict.PASS
    # wins per version, impressions shown and credited: what status.interleaved is made of
    assert (metric.candidate, metric.stable) == (120.0, 40.0)
    assert (metric.samples_stable, metric.samples_candidate) == (300, 200)
    assert metric.effect == pytest.approx(0.75)
    assert metric.interval_low is not None and 0.5 < metric.interval_low < 0.75 < (metric.interval_high or 0)
    assert metric.e_value is not None and metric.e_value >= 20


def test_users_preferring_the_stables_ranking_fail_it() -> None:
    result = evaluate(spec(), source({"v8": 4.0, "v7": 12.0, "tie": 4.0}, impressions=30.0))
    assert result.verdict == Verdict.FAIL and interleaving(result).verdict == Verdict.FAIL
    assert (interleaving(result).interval_high or 1) < 0.5


def test_no_preference_stays_inconclusive() -> None:
    result = evaluate(spec(), source({"v8": 8.0, "v7": 8.0, "tie": 4.0}, impressions=30.0))
    assert result.verdict == Verdict.INCONCLUSIVE
    assert "no preference shown yet" in interleaving(result).explanation


def test_nothing_is_decided_before_the_minimum_of_impressions_shown() -> None:
    result = evaluate(spec(minImpressions=1000), source({"v8": 12.0, "v7": 4.0}, impressions=30.0))
    metric = interleaving(result)
    assert result.verdict == Verdict.INCONCLUSIVE and metric.verdict == Verdict.INCONCLUSIVE
    assert "300 of the 1000 impressions" in metric.explanation


def test_its_own_alpha_overrides_the_analysis_alpha() -> None:
    """45 wins to 15 (an e-value of about 112) is decided at 0.05, not at 0.0001."""
    strict = evaluate(spec(alpha=0.0001), source({"v8": 4.5, "v7": 1.5}, impressions=30.0))
    assert strict.verdict == Verdict.INCONCLUSIVE
    assert evaluate(spec(), source({"v8": 4.5, "v7": 1.5}, impressions=30.0)).verdict == Verdict.PASS


def test_no_impression_at_all_is_inconclusive_not_an_error() -> None:
    result = evaluate(spec(), StaticSource({}))
    assert result.verdict == Verdict.INCONCLUSIVE
    assert "0 of the 100 impressions" in interleaving(result).explanation


def test_a_canary_never_gets_an_interleaving_metric() -> None:
    canary = ModelRolloutSpec.model_validate(patched({}))
    request = request_for_step(canary, namespace=NAMESPACE, name="fraud-scorer", started_at=START, at=AT)
    assert request.interleaved is None
