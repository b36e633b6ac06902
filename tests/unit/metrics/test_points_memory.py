"""What the point store holds per rollout between ticks stays small (issue 22): a rollout's ~24
series of a batched range query at a few points each."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import UTC, datetime, timedelta

from modelrollout.metrics import PointStore
from modelrollout.metrics.source import RangeSeries

ROLLOUTS = 300
STEP = 30.0
BOUND_KB = 7.5
"""Per rollout, 24 series at 4 points: 6.2 KB measured (labels and row number 5 KB of it); 9.9 KB
with an object, an array and a bytearray per series."""
START = datetime(2030, 1, 1, tzinfo=UTC)


def _answer(points: int) -> list[RangeSeries]:
    times = [(START + timedelta(seconds=STEP * i)).timestamp() for i in range(points)]
    return [
        RangeSeries(
            labels={"namespace": "bench", "model": f"m-{r:05d}", "version": version, "le": le},
            points=tuple((t, float(i)) for i, t in enumerate(times)),
        )
        for r in range(ROLLOUTS)
        for version in ("v1", "v2")
        for le in ("0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5", "10", "+Inf", "x")
    ]


def test_a_rollout_s_held_series_cost_a_few_kb() -> None:
    answer = _answer(4)
    end = START + timedelta(seconds=STEP * 3)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = PointStore(clock=lambda: end.timestamp() + 120)
        table = store.table("sum by (le) (rate(x[30s]))", STEP, [START], end.timestamp() + 120)
        table.store(START, end, answer, end.timestamp() + 120, STEP)
        picked = table.select(START, end, (("model", "m-00007"),))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del answer
    assert len(picked) == 24 and all(len(s.points) == 4 for s in picked)
    assert table.point_count() == ROLLOUTS * 24 * 4
    assert held / 1024 / ROLLOUTS < BOUND_KB, f"{held / 1024 / ROLLOUTS:.1f} KB per rollout"
