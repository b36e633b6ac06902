"""A batch reading from the point store holds one rollout's points as objects at a time, not the
whole fleet's (issue 22): as tuples a point costs about 100 bytes against 9 in the store, so
assembling every rollout's selections at once made each tick's peak grow with fleet and window."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import UTC, datetime, timedelta

from modelrollout.metrics import BatchedQuerier, PointStore, RangeQuery, RangeSeries, StaticSource

ROLLOUTS = 200
POINTS = 40
STEP = 30.0
START = datetime(2030, 1, 1, tzinfo=UTC)
END = START + timedelta(seconds=STEP * (POINTS - 1))
PROMQL = "sum by (namespace, model, version, le) (rate(x[30s]))"
PEAK_KB_PER_ROLLOUT = 20.0
"""Reading every rollout's 24 series of 40 points, one rollout at a time: about 2 KB per
rollout measured (one rollout's series, amortised); 113 KB with every selection assembled at
once (e5a0c98)."""


def _fleet() -> list[RangeSeries]:
    times = [(START + timedelta(seconds=STEP * i)).timestamp() for i in range(POINTS)]
    return [
        RangeSeries(
            labels={"namespace": "bench", "model": f"m-{r:05d}", "version": version, "le": str(le)},
            points=tuple((t, float(i + r)) for i, t in enumerate(times)),
        )
        for r in range(ROLLOUTS)
        for version in ("v1", "v2")
        for le in range(12)
    ]


def test_each_rollout_s_series_are_assembled_when_read() -> None:
    store = PointStore(clock=lambda: END.timestamp() + 2 * STEP)
    querier = BatchedQuerier(StaticSource({PROMQL: _fleet()}), store=store)
    query = RangeQuery(PROMQL, START, END, STEP)
    wanted = [(query, (("model", f"m-{r:05d}"),)) for r in range(ROLLOUTS)]
    querier.select(wanted)  # fills the store: what a tick holds before the batch reads it
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        outcomes = querier.select(wanted)
        counted = 0
        for selection in wanted:
            series = outcomes[selection]
            assert isinstance(series, list) and len(series) == 24
            counted += sum(len(s.points) for s in series if isinstance(s, RangeSeries))
            del series
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert counted == ROLLOUTS * 24 * POINTS
    assert peak / 1024 / ROLLOUTS < PEAK_KB_PER_ROLLOUT, f"{peak / 1024 / ROLLOUTS:.1f} KB per rollout"
