"""A bandit step's evidence through the evaluation path: the router's three counters per version,
summed over the step's looks from Prometheus' per-interval increases (nothing kept in the
operator), sent as batched queries; a failed query gives no counts, and holds the final look."""

from __future__ import annotations

from datetime import timedelta

from modelrollout.analysis import ArmCounts
from modelrollout.api.router_config import ROUTER_BANDIT_FEEDBACK, ROUTER_BANDIT_PULLS, ROUTER_BANDIT_REWARDS
from modelrollout.api.v1alpha1 import ModelRolloutSpec
from modelrollout.evaluation import EvaluationRequest, evaluate_interval, first_interval_end, request_for_step
from modelrollout.metrics import RangeSeries, StaticSource
from modelrollout.metrics import queries as defaults

from ...fixtures.evaluation_fleet import INTERVAL, START, interval_ends
from ...fixtures.specs import bandit, patched

SPEC = ModelRolloutSpec.model_validate(patched({**bandit(), "analysis": {"metrics": []}}))
FIRST_END = first_interval_end(START, INTERVAL)
AT = FIRST_END + timedelta(seconds=INTERVAL * 3)
PER_LOOK = {"v7": (80.0, 70.0, 14.0), "v8": (20.0, 18.0, 11.0)}
"""(pulls, rewards received, rewards of 1) per interval and version."""


def _source(failing: tuple[str, ...] = ()) -> StaticSource:
    earlier = FIRST_END - timedelta(seconds=INTERVAL)  # before the step's first look: not counted
    times = [earlier.timestamp(), *interval_ends(FIRST_END, AT)]
    series = {}
    for index, name in enumerate((ROUTER_BANDIT_PULLS, ROUTER_BANDIT_FEEDBACK, ROUTER_BANDIT_REWARDS)):
        series[defaults.grouped_increase(name, INTERVAL)] = [
            RangeSeries(
                {"namespace": "ns", "model": SPEC.model, "version": version},
                tuple((t, counts[index]) for t in times),
            )
            for version, counts in PER_LOOK.items()
        ]
    return StaticSource(series, failing=failing)


def _request() -> EvaluationRequest:
    return request_for_step(SPEC, namespace="ns", name="r", started_at=START, at=AT, step=1)


def test_the_counts_are_the_step_s_increases_summed_stable_first() -> None:
    source = _source()
    result = evaluate_interval(_request(), source)
    looks = 4
    assert result.bandit == (
        ArmCounts("v7", 80.0 * looks, 70.0 * looks, 14.0 * looks),
        ArmCounts("v8", 20.0 * looks, 18.0 * looks, 11.0 * looks),
    )
    assert {call.promql for call in source.calls} == {
        defaults.grouped_increase(name, INTERVAL)
        for name in (ROUTER_BANDIT_PULLS, ROUTER_BANDIT_FEEDBACK, ROUTER_BANDIT_REWARDS)
    }, "three batched queries, whatever the number of versions"
    again = evaluate_interval(_request(), _source())
    assert again.bandit == result.bandit, "a restarted operator reads the same counts"


def test_a_failed_query_gives_no_counts_and_marks_the_interval_failed() -> None:
    failing = (defaults.grouped_increase(ROUTER_BANDIT_REWARDS, INTERVAL),)
    result = evaluate_interval(_request(), _source(failing=failing))
    assert result.bandit is None and result.source_failed


def test_other_strategies_read_no_bandit_counters() -> None:
    canary = ModelRolloutSpec.model_validate(patched({}))
    request = request_for_step(canary, namespace="ns", name="r", started_at=START, at=AT)
    assert not request.bandit
    assert evaluate_interval(request, _source()).bandit is None
