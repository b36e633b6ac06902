"""Prometheus answers go straight into the point store's columns (issue 22): a tick's batched
range answer costs little more than its own bytes at its peak, and the numbers are the ones a
parse into a tree gives."""

from __future__ import annotations

import gc
import json
import math
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelrollout.metrics import (
    BatchedQuerier,
    InstantQuery,
    MetricSourceError,
    PointStore,
    PrometheusSource,
    RangeQuery,
    Series,
)
from tests.fixtures.loopback import answering

ROOT = Path(__file__).resolve().parents[3]
"""The repository: `tests` is a package from there."""
STEP = 30.0
START = datetime(2030, 1, 1, tzinfo=UTC)
ROLLOUTS = 300
BUCKETS = ("0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5", "10", "+Inf", "x")
PEAK_BYTES_PER_SERIES = 900
"""A tick's answer (two points per series) at its peak, the store's growth included: about 510
bytes measured (the body twice, as bytes and as decoded text, and one key per series); 1,560
through a JSON tree, `RangeSeries` and their regrouping (e5a0c98)."""


def _matrix(series: list[tuple[dict[str, str], list[list[object]]]]) -> bytes:
    result = [{"metric": labels, "values": values} for labels, values in series]
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}).encode()


def _fleet(points: int) -> bytes:
    times = [(START + timedelta(seconds=STEP * i)).timestamp() for i in range(points)]
    return _matrix(
        [
            (
                {"__name__": "x", "namespace": "bench", "model": f"m-{r:05d}", "version": v, "le": le},
                [[t, f"{r * 0.37 + i:.6g}"] for i, t in enumerate(times)],
            )
            for r in range(ROLLOUTS)
            for v in ("v1", "v2")
            for le in BUCKETS
        ]
    )


def _tick_peak_bytes_per_series() -> float:
    """One tick's batched answer parsed into the store, traced: its peak per series."""
    body = _fleet(2)
    series = ROLLOUTS * 2 * len(BUCKETS)
    end = START + timedelta(seconds=STEP)
    with answering(200, body) as url:
        source = PrometheusSource(url, timeout=5)
        store = PointStore(clock=lambda: end.timestamp() + 60)
        querier = BatchedQuerier(source, store=store)
        query = RangeQuery("sum by (le) (rate(x[30s]))", START, end, STEP)
        querier.select([(query, (("model", "m-00001"),))])  # the session's own first allocations
        store.tables.clear()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            picked = querier.select([(query, (("model", "m-00007"),))])
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
        source.close()
    mine = picked[(query, (("model", "m-00007"),))]
    assert isinstance(mine, list) and len(mine) == 2 * len(BUCKETS)
    assert store.point_count() == series * 2
    return peak / series


def test_a_tick_s_batched_answer_peaks_at_a_few_hundred_bytes_per_series() -> None:
    # tracemalloc counts every thread's allocations: in a test worker, threads other tests left
    # running (their servers and pools) once doubled the figure (1,046 B), so it is measured in an
    # interpreter of its own
    code = f"from {__name__} import _tick_peak_bytes_per_series as m; print(m())"
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert found.returncode == 0, found.stderr
    per_series = float(found.stdout.strip().splitlines()[-1])
    assert per_series < PEAK_BYTES_PER_SERIES, f"{per_series:.0f} bytes per series at the peak"


def test_the_store_holds_the_numbers_a_json_tree_gives() -> None:
    values = ["1", "0.1", "1e-7", "-2.5", "NaN", "+Inf", "-Inf", "12345678901234567890", "3.000000000000001"]
    times = [1893456000, 1893456030.5, 1893456060.25]
    series = [
        (
            {"model": 'a"b\\c\u00e9', "le": str(i)},
            [[t, values[(i + j) % len(values)]] for j, t in enumerate(times)],
        )
        for i in range(len(values))
    ] + [({}, [[times[0], "7"]])]
    body = _matrix(series)
    start, end = datetime.fromtimestamp(times[0], UTC), datetime.fromtimestamp(times[-1], UTC)
    query = RangeQuery("q", start, end, 0.25)
    with answering(200, body) as url:
        source = PrometheusSource(url, timeout=5)
        from_tree = source.query_range("q", start, end, 0.25)
        store = PointStore(clock=lambda: end.timestamp() + 60)
        held = BatchedQuerier(source, store=store).select([(query, ())])[(query, ())]
        source.close()
    assert isinstance(held, list)

    def comparable(found: list[object]) -> list[tuple[object, ...]]:
        return sorted(
            (
                tuple(sorted(s.labels.items())),  # type: ignore[attr-defined]
                tuple((t, "nan" if math.isnan(v) else v) for t, v in s.points),  # type: ignore[attr-defined]
            )
            for s in found
        )

    assert comparable(list(held)) == comparable(list(from_tree))
    assert len(held) == len(series)


def test_instant_answers_keep_their_labels_and_values() -> None:
    body = json.dumps(
        {
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": [
                    {"metric": {"model": "m", "version": "v1"}, "value": [1893456000.5, "3.25"]},
                    {"metric": {}, "value": [1893456000.5, "NaN"]},
                ],
            },
        }
    ).encode()
    with answering(200, body) as url:
        source = PrometheusSource(url, timeout=5)
        found = source.query("q", START)
        batched = BatchedQuerier(source, store=PointStore()).select([(InstantQuery("q", START), ())])
        source.close()
    assert [(dict(s.labels), s.timestamp) for s in found] == [
        ({"model": "m", "version": "v1"}, 1893456000.5),
        ({}, 1893456000.5),
    ]
    assert found[0].value == 3.25 and math.isnan(found[1].value)
    (held,) = batched.values()
    assert isinstance(held, list)
    assert [(s.labels, s.timestamp) for s in held if isinstance(s, Series)] == [
        (s.labels, s.timestamp) for s in found
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_matrix([({"a": "b"}, [[1, "x"]])]), "unexpected answer to 'q'"),
        (_matrix([({"a": "b"}, [[1]])]), "unexpected answer to 'q'"),
        (
            b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{}}]}}',
            "unexpected answer",
        ),
        (b"<html>", "malformed answer"),
        (b'{"status":"success"}', "malformed answer"),
    ],
)
def test_an_answer_that_is_not_a_matrix_is_an_error(body: bytes, message: str) -> None:
    with answering(200, body) as url:
        source = PrometheusSource(url, timeout=5)
        store = PointStore()
        query = RangeQuery("q", START, START, STEP)
        outcome = BatchedQuerier(source, store=store).select([(query, ())])[(query, ())]
        source.close()
    assert isinstance(outcome, MetricSourceError) and message in str(outcome), outcome
