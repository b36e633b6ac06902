"""`plot`: its queries, its time range and the PNG it draws."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from modelrollout.cli.plot import draw
from modelrollout.cli.plot_data import Panel, PlotData, markers, metric_names, panels, time_range

from .samples import PAUSED_AT_STEP_2, event, rollout

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_queries_select_the_rollouts_model_and_honour_metric_names() -> None:
    spec = {"analysis": {"metrics": [{"name": "lat", "type": "latency", "metricName": "serving_seconds"}]}}
    body = rollout(PAUSED_AT_STEP_2, **spec)
    assert metric_names(body)["latency"] == "serving_seconds"
    latency, errors, drift = panels(body, 10)
    assert 'serving_seconds_bucket{namespace="team-a",model="fraud-scorer"}[10s]' in latency.promql
    assert 'model_requests_total{namespace="team-a",model="fraud-scorer",outcome="error"}' in errors.promql
    assert "model_prediction_sum" in drift.promql and "sum by (version)" in drift.promql


def test_the_range_covers_the_last_rollout_with_a_minute_before() -> None:
    finished = {
        "phase": "Promoted", "stableVersion": "v2",
        "history": [{"candidate": "v2", "stable": "v1", "outcome": "Promoted",
                     "startedAt": "2026-12-06T10:01:00Z", "finishedAt": "2026-12-06T10:03:00Z"}],
    }  # fmt: skip
    start, end = time_range(rollout(finished), datetime(2026, 12, 6, 11, tzinfo=UTC))
    assert (start.isoformat(), end.isoformat()) == ("2026-12-06T10:00:48+00:00", "2026-12-06T10:03:10+00:00")
    running_start, running_end = time_range(
        rollout(PAUSED_AT_STEP_2), datetime(2026, 12, 6, 10, 2, tzinfo=UTC)
    )
    assert running_start.isoformat() == "2026-12-06T10:00:50+00:00" and running_end.minute == 2
    at = datetime(2026, 12, 6, 10, 2, tzinfo=UTC).timestamp()
    close = [
        event(reason, "", f"2026-12-06T10:02:0{i}Z")
        for i, reason in enumerate(["Aborted", "Aborted", "Resumed"])
    ]
    assert markers([*close, event("Old", "", "2026-12-05T00:00:00Z"), event("Promoted", "", "2026-12-06T10:03:00Z")],
                   start, end) == [(at, "Aborted, Resumed"), (at + 60, "Promoted")]  # fmt: skip


def test_draw_writes_a_png(tmp_path: Path) -> None:
    t0 = datetime(2026, 12, 6, 10, tzinfo=UTC).timestamp()
    line = [(t0 + i, 0.1 + i / 1000) for i in range(60)]
    data = PlotData(
        datetime.fromtimestamp(t0, UTC), datetime.fromtimestamp(t0 + 60, UTC),
        panels=[(Panel("p95 latency", "seconds", "q"), {"v1": line, "v2": line}),
                (Panel("error rate", "errors per request", "q"), {})],
        markers=[(t0 + 30, "StepCompleted"), (t0 + 50, "Promoted")], verdict="v2 Promoted",
    )  # fmt: skip
    path = tmp_path / "plot.png"
    draw(data, "team-a/fraud-scorer", path)
    assert path.read_bytes().startswith(PNG_SIGNATURE) and path.stat().st_size > 10_000
