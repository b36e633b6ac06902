"""The scale benchmark's exporter serves consistent histograms for every model's two versions,
and its report renders a level (the benchmark itself runs out of CI: `make bench-scale`)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.scale.exporter import SyntheticExporter
from benchmarks.scale.report import markdown, per_rollout_rows
from prometheus_client.parser import text_string_to_metric_families


def test_every_version_has_requests_errors_and_a_histogram_that_adds_up() -> None:
    exporter = SyntheticExporter("bench", ["m-00000", "m-00001"])
    exporter._started = 0.0  # as if it had served for decades: large, exact counts

    families = {f.name: f for f in text_string_to_metric_families(exporter.render())}

    requests = families["model_requests"].samples
    buckets = [s for s in families["model_request_duration_seconds"].samples if s.name.endswith("_bucket")]
    assert len(requests) + len(families["model_request_duration_seconds"].samples) == exporter.series
    for model in ("m-00000", "m-00001"):
        for version in ("v1", "v2"):
            mine = {
                s.labels["outcome"]: s.value
                for s in requests
                if s.labels["model"] == model and s.labels["version"] == version
            }
            assert 0 < mine["error"] < mine["success"]
            counts = [
                s.value for s in buckets if s.labels["model"] == model and s.labels["version"] == version
            ]
            assert counts == sorted(counts) and counts[-1] == mine["error"] + mine["success"]


def test_report_has_a_column_per_level_and_a_row_per_request_kind(tmp_path: Path) -> None:
    level = {
        "level": {"rollouts": 5, "intervals": 2, "interval": 5.0, "scrape_interval": "1s"},
        "rollouts": 5, "series": 130, "creation_seconds": 2.0, "time_to_analysis_seconds": 3.4,
        "operator": {"rss_idle_mb": 176.0, "rss_mb": 182.0, "rss_per_rollout_kb": 1162.0,
                     "cpu_seconds_per_interval": 1.5, "cpu_ms_per_rollout_per_interval": 295.0},
        "requests": {"per_rollout_per_interval": 12.0, "by_verb_resource": {"get services": 2.0, "create events": 1.0}},
        "apiserver": {"cpu_seconds_per_interval": 0.36, "floor_cpu_seconds_per_interval": 0.15, "ratio_to_floor": 2.3,
                      "floor_status_bytes": 2831.0, "floor_failures": 0.0},
        "latency": {"p50_seconds": 1.9, "p99_seconds": 2.0, "max_seconds": 2.0, "written": 10, "skipped": 0, "watch_errors": 0,
                    "query_seconds_per_interval": 0.5, "cpu_bound_seconds": 0.93, "cores": 2},
        "promql": {"queries_per_interval": 10.5, "prometheus_cpu_seconds_per_interval": 0.03,
                   "scrape_only_cpu_seconds_per_interval": 0.01,
                   "per_rollout_mode": {"queries_per_interval": 10.0, "prometheus_cpu_seconds_per_interval": 0.01,
                                        "slowest_interval_seconds": 0.02, "failures": 0.0}},
    }  # fmt: skip
    dearer = json.loads(json.dumps(level))
    dearer["rollouts"] = 50
    dearer["operator"]["cpu_ms_per_rollout_per_interval"] = 354.0
    results = {"command": "python -m benchmarks.scale --smoke", "commit": "abc", "levels": [level, dearer]}

    text = markdown(json.loads(json.dumps(results)))

    assert "| | 5 rollouts | 50 rollouts |" in text
    assert "| get services | 2.00 | 2.00 |" in text and "(2.30x)" in text
    assert "| p99 target (10 s + the tick's query time) / the CPU bound | 10.5 s / 0.9 s |" in text
    assert "| operator CPU | 1.00x | 1.20x |" in text, "each level's cost per rollout against the first's"


def test_a_level_measured_before_and_after_a_larger_one_is_compared_by_its_mean() -> None:
    """`--levels 100,1000,100`: the machine's speed drifts by tens of percent within the hour
    (the same 100 rollouts cost 19.6 ms and then 16.0 ms), so the larger level is compared with
    the mean of the runs around it."""

    def level(rollouts: int, cpu_ms: float, loop_ms: float) -> dict[str, object]:
        return {
            "rollouts": rollouts,
            "operator": {"cpu_ms_per_rollout_per_interval": cpu_ms, "rss_per_rollout_kb": 100.0,
                         "event_loop_cpu_ms_per_rollout_per_interval": loop_ms},
            "requests": {"per_rollout_per_interval": 1.0},
            "apiserver": {"cpu_seconds_per_interval": rollouts * 0.02},
            "promql": {"prometheus_cpu_seconds_per_interval": rollouts * 0.001},
        }  # fmt: skip

    levels = [level(100, 20.0, 2.0), level(1000, 19.8, 3.0), level(100, 16.0, 2.0)]

    rows = dict(line.split(" | ", 1) for line in per_rollout_rows(levels))

    assert rows["| operator CPU"] == "1.11x | 1.10x | 0.89x |"
    assert rows["| operator CPU: event loop"] == "1.00x | 1.50x | 1.00x |"
    assert rows["| operator CPU: threads"] == "1.12x | 1.05x | 0.88x |"
