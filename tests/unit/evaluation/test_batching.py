"""evaluate_intervals over a fleet: one query per template, each rollout judged on its own data."""

from __future__ import annotations

from datetime import timedelta

from modelrollout.api.v1alpha1 import Verdict
from modelrollout.evaluation import evaluate_interval, evaluate_intervals, first_interval_end
from modelrollout.metrics import SourceCall

from ...fixtures.evaluation_fleet import (
    ERRORS,
    INTERVAL,
    LATENCY,
    START,
    Rollout,
    Version,
    analysis,
    fleet_source,
    moment,
    request,
)

FIRST_END = first_interval_end(START, INTERVAL)
AT = FIRST_END + timedelta(seconds=INTERVAL * 9)


def test_three_rollouts_cost_one_query_per_template_and_each_gets_its_own_data() -> None:
    rollouts = [
        Rollout("team-a", "fraud", candidate=Version(requests=1000)),
        Rollout("team-a", "ranker", candidate=Version(requests=500, error_rate=0.2)),
        Rollout("team-b", "fraud", candidate=Version(requests=200)),
    ]
    source = fleet_source(rollouts, FIRST_END, AT)
    spec = analysis(LATENCY, ERRORS)

    results = evaluate_intervals([request(r, spec, AT) for r in rollouts], source)

    ranges, presences = _split(source.calls)
    assert len(ranges) == 4, "buckets, sum, requests, errors: once each for the whole fleet"
    assert all(call.step == INTERVAL for call in ranges)
    assert len(presences) == 3, "whether requests, errors and latency buckets exist at all: once each"
    errors = [next(m for m in result.metrics if m.name == "errors") for result in results]
    assert [m.samples_candidate for m in errors] == [10_000, 5_000, 2_000]
    assert errors[1].verdict is Verdict.FAIL
    assert results[1].verdict is Verdict.FAIL
    assert results[0].verdict is not Verdict.FAIL and results[2].verdict is not Verdict.FAIL


def test_rollouts_that_started_at_different_times_share_one_query_and_count_their_own_window() -> None:
    early, late = Rollout("ns", "early"), Rollout("ns", "late")
    source = fleet_source([early, late], FIRST_END, AT)
    spec = analysis(ERRORS)
    late_request = request(late, spec, AT)
    late_request = type(late_request)(
        **{**late_request.__dict__, "started_at": AT - timedelta(seconds=3 * INTERVAL)}
    )

    first, second = evaluate_intervals([request(early, spec, AT), late_request], source)

    ranges, presences = _split(source.calls)
    assert (len(ranges), len(presences)) == (2, 2)
    assert (first.intervals, second.intervals) == (10, 3)
    assert first.metrics[0].samples_candidate == 10_000
    assert second.metrics[0].samples_candidate == 3_000


def test_the_evaluation_time_is_aligned_down_to_the_interval() -> None:
    rollout = Rollout("ns", "m")
    source = fleet_source([rollout], FIRST_END, AT)

    result = evaluate_interval(request(rollout, analysis(ERRORS), AT + timedelta(seconds=17)), source)

    assert result.evaluated_at == AT
    assert result.evaluated_at.timestamp() % INTERVAL == 0
    ranges, presences = _split(source.calls)
    assert {call.end for call in ranges} == {AT}
    assert {call.start for call in ranges} == {moment(START.timestamp() + 50)}
    assert {call.at for call in presences} == {AT}


def test_before_the_first_complete_interval_nothing_is_queried_and_all_is_inconclusive() -> None:
    rollout = Rollout("ns", "m")
    source = fleet_source([rollout], FIRST_END, AT)

    result = evaluate_interval(
        request(rollout, analysis(LATENCY, ERRORS), FIRST_END - timedelta(seconds=1)), source
    )

    assert source.calls == []
    assert result.intervals == 0
    assert result.verdict is Verdict.INCONCLUSIVE
    assert all("first complete interval" in m.explanation for m in result.metrics)


def test_a_restarted_evaluation_sees_the_same_evidence() -> None:
    """Stateless: the counts are re-summed from the analysis start at every look."""
    rollout = Rollout("ns", "m", candidate=Version(error_rate=0.05))
    spec = analysis(ERRORS)
    source = fleet_source([rollout], FIRST_END, AT)

    once = evaluate_interval(request(rollout, spec, AT), source)
    again = evaluate_interval(request(rollout, spec, AT), fleet_source([rollout], FIRST_END, AT))

    assert once.metrics == again.metrics


def _split(calls: list[SourceCall]) -> tuple[list[SourceCall], list[SourceCall]]:
    """Range queries (the increases) and instant queries (whether a series exists at all)."""
    return [c for c in calls if c.at is None], [c for c in calls if c.at is not None]
