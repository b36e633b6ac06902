"""CPU and memory of one analysis tick at fleet scale, with the PointStore or reading every window
whole (run it with PYTHONPATH at another checkout's operator/ to measure that one).

    PYTHONPATH=operator python hack/analysis_store_cost.py 1000 [store|fresh] [fixed|sequential] [cpu] [carried]

`cpu` skips the memory measurement (tracemalloc slows every tick several times). `carried`: the
window is the evidence carried across steps, the current step its last ten intervals (the
sequential comparisons then judge both the whole window and the step's part).

Every rollout compares v1 with v2 on latency (12 buckets and the sum) and error rate, an hour
into its analysis at a 30 s interval, in ten groups that started one interval apart. Answers go
through Prometheus' JSON and the source's parser, so parsing is counted.
"""

from __future__ import annotations

import gc
import json
import math
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from modelrollout.api.v1alpha1 import AnalysisMethod, AnalysisSpec, MetricSpec, MetricType, PrometheusSpec
from modelrollout.evaluation import EvaluationRequest, evaluate_intervals
from modelrollout.metrics import BatchedQuerier, RangeSeries, Series
from modelrollout.metrics import queries as defaults
from modelrollout.metrics.prometheus import _range_series

INTERVAL = 30
EDGES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
WINDOW = 120
"""Intervals in the window: an hour."""
BOUNDARY = datetime(2026, 1, 1, 13, tzinfo=UTC)


class JsonPrometheus:
    def __init__(self, rollouts: int) -> None:
        self.rollouts = rollouts
        self.now = 0.0
        self.points = 0

    def query(self, promql: str, at: datetime) -> list[Series]:
        return [
            Series({"namespace": "ns", "model": f"m{i}"}, 1.0, at.timestamp()) for i in range(self.rollouts)
        ]

    def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[RangeSeries]:
        count = round((end - start).total_seconds() / step) + 1
        times = [start.timestamp() + k * step for k in range(count)]
        result = []
        for i in range(self.rollouts):
            for version, rate in (("v1", 0.01), ("v2", 0.011)):
                labels = {"namespace": "ns", "model": f"m{i}", "version": version}
                for extra, value in _values(promql, rate):
                    values = [[t, str(value * (1 + 0.2 * math.sin(t / 97 + i)))] for t in times]
                    result.append({"metric": {**labels, **extra}, "values": values})
                    self.points += len(values)
        return _range_series(json.loads(json.dumps(result)), promql)

    def is_online(self) -> bool:
        return True


def _values(promql: str, rate: float) -> list[tuple[dict[str, str], float]]:
    if promql == defaults.requests(defaults.REQUESTS_METRIC, INTERVAL):
        return [({}, 1000.0)]
    if promql == defaults.request_errors(defaults.REQUESTS_METRIC, INTERVAL):
        return [({}, 1000.0 * rate)]
    if promql == defaults.histogram_sum(defaults.LATENCY_METRIC, INTERVAL):
        return [({}, 120.0)]
    if promql == defaults.histogram_buckets(defaults.LATENCY_METRIC, INTERVAL):
        return [
            ({"le": "+Inf" if e == math.inf else repr(e)}, 1000.0 * min(1.0, (index + 1) / len(EDGES)))
            for index, e in enumerate(EDGES)
        ]
    return []


def requests(
    rollouts: int, at: datetime, method: AnalysisMethod, carried: bool = False
) -> list[EvaluationRequest]:
    spec = AnalysisSpec(
        interval=f"{INTERVAL}s",
        method=method,
        max_duration="2h",
        prometheus=PrometheusSpec(address="http://prometheus:9090"),
        metrics=[
            MetricSpec(name="latency", type=MetricType.LATENCY, max_relative_increase=0.1),
            MetricSpec(name="errors", type=MetricType.ERROR_RATE, max_absolute_increase=0.005),
        ],
    )
    return [
        EvaluationRequest(
            "ns",
            f"m{i}",
            f"m{i}",
            "v1",
            "v2",
            spec,
            started_at=BOUNDARY - timedelta(seconds=INTERVAL * ((10 if carried else WINDOW) + i % 10)),
            at=at,
            presence_at=at,
            evidence_started_at=BOUNDARY - timedelta(seconds=INTERVAL * (WINDOW + i % 10))
            if carried
            else None,
        )
        for i in range(rollouts)
    ]


def main() -> None:
    rollouts = int(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "store"
    method = AnalysisMethod(sys.argv[3] if len(sys.argv) > 3 else "fixed")
    source = JsonPrometheus(rollouts)
    store = None
    if mode == "store":
        from modelrollout.metrics import PointStore

        store = PointStore(clock=lambda: source.now)
    measure_memory = store is not None and "cpu" not in sys.argv[4:]
    carried = "carried" in sys.argv[4:]
    tracemalloc.start()
    for tick in range(4 if measure_memory else 1 if store is not None else 0):
        at = BOUNDARY + timedelta(seconds=INTERVAL * tick)
        source.now = at.timestamp() + 0.3
        source.points = 0
        batch = requests(rollouts, at, method, carried)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        started = time.process_time()
        evaluate_intervals(batch, BatchedQuerier(source, store=store) if store else BatchedQuerier(source))
        cpu = time.process_time() - started
        del batch
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        print(
            f"tick {tick}: {cpu / rollouts * 1000:.2f} ms CPU per rollout (tracemalloc on), "
            f"{source.points} points read, retained {held / rollouts / 1024:.1f} KB per rollout"
        )
    if measure_memory:
        tracemalloc.stop()
        gc.collect()
        tracemalloc.start()
        # The store's size: rebuild a copy of it from scratch under tracemalloc alone.
        from modelrollout.metrics import PointStore

        fresh = PointStore(clock=lambda: source.now)
        at = BOUNDARY + timedelta(seconds=INTERVAL * 3)
        batch = requests(rollouts, at, method, carried)
        base = tracemalloc.get_traced_memory()[0]
        nobody = (("model", "nobody"),)  # what the requests get is not the store's memory
        BatchedQuerier(source, store=fresh).select({(q, nobody) for q in _queries(batch)})
        gc.collect()
        print(
            f"store: {(tracemalloc.get_traced_memory()[0] - base) / rollouts / 1024:.1f} KB per rollout, "
            f"{fresh.point_count()} points held"
        )
    tracemalloc.stop()
    # CPU without tracemalloc
    for tick in range(4, 7):
        at = BOUNDARY + timedelta(seconds=INTERVAL * tick)
        source.now = at.timestamp() + 0.3
        batch = requests(rollouts, at, method, carried)
        started = time.process_time()
        evaluate_intervals(batch, BatchedQuerier(source, store=store) if store else BatchedQuerier(source))
        print(f"tick {tick}: {(time.process_time() - started) / rollouts * 1000:.2f} ms CPU per rollout")


def _queries(batch: list[EvaluationRequest]) -> set:  # type: ignore[type-arg]
    from modelrollout.evaluation.evaluate import _plan

    return {piece.query for r in batch for probe in _plan(r).probes for piece in probe.slices.values()}


if __name__ == "__main__":
    main()
