"""`make bench-router` runs end to end: wrk through nginx, the router and directly to one model
server, and the shadow comparison. Not a measurement (numbers come from the full run): this only
keeps the benchmark's code working, with real processes on loopback."""

from __future__ import annotations

import shutil

from benchmarks.router.report import markdown
from benchmarks.router.run import PATHS, BenchSettings, run


def test_quick_run_measures_every_path_and_reports_the_targets() -> None:
    for tool in ("wrk", "nginx"):
        assert shutil.which(tool), f"{tool} is missing: `make deps` installs the Debian package"
    results = run(BenchSettings(duration=1.0, rounds=1, warmup=0.0, connections=(32,)))

    row = results["cells"]["32"]
    assert set(row) == set(PATHS)
    assert all(cell["requests"] > 0 and cell["errors"] == 0 for cell in row.values()), row
    assert results["shadow"]["router+shadow"]["requests"] > 0
    assert results["errors"] == 0
    assert [target["target"] for target in results["targets"]] == [
        "router throughput >= 0.5x nginx at 32 connections",
        "shadow adds <= 0.2 ms p50 (candidate 2x slower)",
    ]
    text = markdown(results, "test")
    assert "| 32 | router |" in text and "Shadow adds" in text
