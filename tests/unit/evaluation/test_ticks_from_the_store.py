"""Analysis on the clock: each tick reads only the newest points into a `PointStore`, and the
verdicts and evidence equal those of reading every window whole, tick after tick."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest

from modelrollout.api.v1alpha1 import AnalysisMethod, AnalysisSpec
from modelrollout.evaluation import EvaluationRequest, evaluate_intervals, first_interval_end
from modelrollout.metrics import BatchedQuerier, PointStore

from ...fixtures.evaluation_fleet import ERRORS, INTERVAL, LATENCY, START, Rollout, analysis, request
from ...fixtures.ticking_fleet import ERRORS as ERRORS_QUERY
from ...fixtures.ticking_fleet import REQUESTS, TEMPLATES, Model, TickingPrometheus, wall

FIRST_END = first_interval_end(START, INTERVAL)
SPEC = analysis(LATENCY, ERRORS, method=AnalysisMethod.FIXED)
"""The fixed-horizon method: its tests cost little CPU, and what is compared is the evidence."""
ERRORS_ONLY = analysis(ERRORS, method=AnalysisMethod.FIXED)
"""For the large fleet: a fifth of the CPU per rollout of `SPEC`, so the test stays fast."""


def _fleet(count: int) -> list[Model]:
    return [Model(f"team-{i % 3}", f"model-{i}", (0.01, 0.01 if i % 4 else 0.03)) for i in range(count)]


def _request(model: Model, tick: int, started_tick: int, spec: AnalysisSpec = SPEC) -> EvaluationRequest:
    rollout = Rollout(model.namespace, model.model)
    at = FIRST_END + timedelta(seconds=INTERVAL * tick)
    started = START + timedelta(seconds=INTERVAL * started_tick)
    return replace(request(rollout, spec, at, presence_at=at), started_at=started)


def _evidence(results: list) -> list:  # type: ignore[type-arg]
    return [(r.verdict, r.intervals, r.status()) for r in results]


def _tick(
    prometheus: TickingPrometheus, store: PointStore, batches: list[list[EvaluationRequest]], at: float
) -> list:  # type: ignore[type-arg]
    """The batches of one tick, each a little later than the one before; their results."""
    results = []
    for offset, batch in enumerate(batches):
        prometheus.now = at + 0.3 + 4 * offset
        results += evaluate_intervals(batch, BatchedQuerier(prometheus, store=store))
    return results


def _ticks(
    prometheus: TickingPrometheus, store: PointStore, models: list[Model], ticks: range, started: int = 0
) -> None:
    """Every rollout of `models` due at each of `ticks`, in one batch per tick."""
    for tick in ticks:
        due = [_request(m, tick, started) for m in models]
        _tick(prometheus, store, [due], wall(FIRST_END, tick * INTERVAL))


def _fresh(models: list[Model], batches: list[list[EvaluationRequest]], at: float) -> list:  # type: ignore[type-arg]
    """Today's path: every window read whole, at the same wall times."""
    results = []
    for offset, batch in enumerate(batches):
        prometheus = TickingPrometheus(models, now=at + 0.3 + 4 * offset)
        results += evaluate_intervals(batch, BatchedQuerier(prometheus))
    return results


@pytest.mark.parametrize(
    ("rollouts", "ticks", "compared", "spec", "templates", "presence_texts"),
    [(10, 10, 10, SPEC, TEMPLATES, 3), (200, 4, 12, ERRORS_ONLY, (REQUESTS, ERRORS_QUERY), 2)],
)
def test_each_tick_reads_the_newest_points_once_per_template_and_judges_as_a_fresh_read(
    rollouts: int,
    ticks: int,
    compared: int,
    spec: AnalysisSpec,
    templates: tuple[str, ...],
    presence_texts: int,
) -> None:
    models = _fleet(rollouts)
    # Analyses started at three different times; a third of the rollouts asks late in each tick.
    started = {m.model: i % 3 for i, m in enumerate(models)}
    prometheus, store = TickingPrometheus(models), PointStore(clock=lambda: prometheus.now)
    for tick in range(ticks):
        boundary = wall(FIRST_END, INTERVAL * tick)
        due = [_request(m, tick, started[m.model], spec) for m in models]
        batches = [due[: 2 * len(due) // 3], due[2 * len(due) // 3 :]]
        before = len(prometheus.calls)
        results = _tick(prometheus, store, batches, boundary)

        ranges = [c for c in prometheus.calls[before:] if c.start is not None]
        instants = [c for c in prometheus.calls[before:] if c.at is not None]
        assert sorted(c.promql for c in ranges) == sorted(templates), "one query per template per tick"
        assert len(instants) == presence_texts, "one presence query per text per tick"
        if tick > 0:
            assert max(prometheus.points_asked(before)) <= 2, "the previous point again and the newest"
        # Compare a sample of the fleet (all of it when small) with reading every window whole.
        early, late = batches[0][:compared], batches[1][: compared // 2]
        fresh = _fresh(models, [early, late], boundary)
        first = len(batches[0])
        mine = results[: len(early)] + results[first : first + len(late)]
        assert _evidence(mine) == _evidence(fresh)


def test_a_point_read_again_at_the_next_boundary_with_its_late_samples_changes_the_evidence() -> None:
    model = Model("ns", "m", (0.01, 0.05))
    prometheus, store = TickingPrometheus([model]), PointStore(clock=lambda: prometheus.now)
    first = _tick(prometheus, store, [[_request(model, 2, 0)]], wall(FIRST_END, 2 * INTERVAL))
    before = len(prometheus.calls)
    second = _tick(prometheus, store, [[_request(model, 3, 0)]], wall(FIRST_END, 3 * INTERVAL))

    ranges = [c for c in prometheus.calls[before:] if c.start is not None]
    assert {(c.start, c.end) for c in ranges} == {
        (FIRST_END + timedelta(seconds=2 * INTERVAL), FIRST_END + timedelta(seconds=3 * INTERVAL))
    }
    # The point of tick 2 was read with half its interval; read again, it counts whole.
    held = next(t for (text, _), t in store.tables.items() if text == TEMPLATES[2])
    tick_two = (FIRST_END + timedelta(seconds=2 * INTERVAL)).timestamp()
    candidate = next(s for s in held.series.values() if s.labels["version"] == "v2")
    assert candidate.values[list(held.times).index(tick_two)] == pytest.approx(
        1000.0 * (1.0 + 0.5 * math.sin(tick_two / 97.0))
    )
    errors = [next(m for m in r.metrics if m.name == "errors") for r in (first[0], second[0])]
    fresh = _fresh([model], [[_request(model, 3, 0)]], wall(FIRST_END, 3 * INTERVAL))
    assert _evidence(second) == _evidence(fresh)
    assert (
        errors[1].samples_candidate
        == next(m for m in fresh[0].metrics if m.name == "errors").samples_candidate
    )


def test_after_a_restart_the_whole_window_is_read_once_then_only_the_newest_points() -> None:
    models = _fleet(5)
    prometheus = TickingPrometheus(models)
    store = PointStore(clock=lambda: prometheus.now)
    _ticks(prometheus, store, models, range(6))
    restarted = PointStore(clock=lambda: prometheus.now)
    for tick, longest in ((6, 7), (7, 2)):
        before = len(prometheus.calls)
        boundary = wall(FIRST_END, tick * INTERVAL)
        due = [_request(m, tick, 0) for m in models]
        results = _tick(prometheus, restarted, [due], boundary)
        assert len([c for c in prometheus.calls[before:] if c.start is not None]) == len(TEMPLATES)
        assert max(prometheus.points_asked(before)) == longest
        assert _evidence(results) == _evidence(_fresh(models, [due], boundary))


def test_the_series_of_rollouts_nobody_asks_for_any_more_are_forgotten() -> None:
    models = _fleet(6)
    prometheus = TickingPrometheus(models)
    store = PointStore(clock=lambda: prometheus.now)
    _ticks(prometheus, store, models, range(4))
    # Half the fleet is deleted: its series leave Prometheus' answers, and the analysis of the
    # rest starts anew, so the old points are older than every start still asked for.
    prometheus.models = models[:3]
    _ticks(prometheus, store, models[:3], range(4, 9), started=4)
    held_models = {s.labels["model"] for table in store.tables.values() for s in table.series.values()}
    assert held_models == {m.model for m in models[:3]}
    assert all(len(table.times) <= 6 for table in store.tables.values())
    # Nobody asks any more: the queries themselves go after a few intervals.
    prometheus.now += 4 * INTERVAL
    store.forget(prometheus.now)
    assert store.tables == {} and store.instants == {}
