"""The operator's `/metrics` costs a few KB per rollout: each rollout's ~37 gauge series are
values in one dict, served by a collector, not prometheus_client children (a child per series
cost 32 KB per rollout, 32 MB at a thousand rollouts)."""

from __future__ import annotations

import gc
import tracemalloc

from modelrollout.controller.exporter import export_status, forget_rollout

from .test_operator_metrics import status

ROLLOUTS = 300
BOUND_KB = 10.0
"""Measured 5.3 KB per rollout; 32.4 KB with a Gauge child per series."""


def test_the_gauges_of_a_rollout_in_analysis_cost_a_few_kb() -> None:
    metric = {"name": "latency", "verdict": "Inconclusive", "stable": 0.12, "candidate": 0.125,
              "effect": 0.04, "intervalLow": -0.01, "intervalHigh": 0.08, "pValue": 0.3,
              "samplesStable": 1200, "samplesCandidate": 310}  # fmt: skip
    analysed = status(
        analysis={"verdict": "Inconclusive", "score": 50, "lastRun": "2030-01-01T00:00:30Z",
                  "metrics": [metric, {**metric, "name": "errors"}]}
    )  # fmt: skip
    export_status("mem-warm", "r", "m", analysed)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(ROLLOUTS):
            export_status("mem", f"r-{i}", f"model-{i}", analysed)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        for i in range(ROLLOUTS):
            forget_rollout("mem", f"r-{i}")
        forget_rollout("mem-warm", "r")
    assert held / 1024 / ROLLOUTS < BOUND_KB
