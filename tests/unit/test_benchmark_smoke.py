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
    assert "tuned to keep the margin" in text
    assert scenarios["A/A drift"]["margin_tuned_baselines"] is None, "drift has no single margin pair"
    checks = results["cells"][0]["margin_carry_over"]
    assert set(checks) == {
        "latency, 240 looks",
        "errors, 240 looks",
        "errors, stable rate 0.1%",
        "errors, stable rate 5%",
    }
    assert "carry over" in text


def test_margin_tuned_baselines_are_never_looser_than_the_a_a_tuned_ones() -> None:
    """A candidate on the margin is a harder null than A/A, so its threshold can only be stricter."""
    results = run(40, 200, seed=5, cells=(Cell(1.0, 0.5),))
    for name in ("latency +20%", "errors +5 pp"):
        scenario = results["cells"][0]["scenarios"][name]
        for method, tuned in scenario["margin_tuned_baselines"].items():
            a_a = scenario["methods"][method]
            assert tuned["rollback_rate"] <= a_a["rollback_rate"], (name, method)


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
