"""The statistics benchmark runs end to end on a small cell, and its oracles are ordered.

Not a measurement (numbers come from `make bench`): this only keeps the benchmark's code
working and its reference points sane, so a broken benchmark cannot hide behind a green CI.
"""

from __future__ import annotations

import numpy as np
from benchmarks.stats.methods import RolloutSpec, oracle, oracle_stable_known
from benchmarks.stats.report import markdown, target_rows
from benchmarks.stats.run import ORACLE, ORACLE_STABLE_KNOWN, OURS, run
from benchmarks.stats.simulate import SCENARIOS, Cell, simulate
from benchmarks.stats.windows import NEVER


def test_quick_run_reports_every_method_and_target() -> None:
    results = run(40, 40, seed=3, cells=(Cell(1000.0, 0.25),))
    rows = target_rows(results)
    assert rows, "every cell has effects beyond the margin"
    scenarios = results["cells"][0]["scenarios"]
    assert scenarios["A/A errors"]["methods"][OURS]["rollback_rate"] <= 0.05
    assert scenarios["latency +50%"]["methods"][ORACLE]["rollback_rate"] == 1.0
    text = markdown(results, "test")
    assert "1/3 reachable" in text and ORACLE_STABLE_KNOWN in text


def test_two_sample_oracle_is_never_faster_than_the_one_told_the_stable() -> None:
    """The least favourable null is closer to the truth than the one at the true stable rate."""
    spec = RolloutSpec()
    cell = Cell(1.0, 0.5)
    for scenario in (s for s in SCENARIOS if s.name in ("errors +5 pp", "latency +50%")):
        streams = simulate(cell, scenario, 300, seed=8)
        two_sample = oracle(streams, scenario, spec, cell.candidate_weight)
        known = oracle_stable_known(streams, scenario, spec)
        assert two_sample is not None and known is not None
        looks_two_sample = np.where(two_sample.rollback == NEVER, streams.looks, two_sample.rollback)
        looks_known = np.where(known.rollback == NEVER, streams.looks, known.rollback)
        assert np.median(looks_two_sample) >= np.median(looks_known), scenario.name
