"""`python -m benchmarks.bandit --quick` runs end to end and its seeded runs say what the issue
asks: the operator's bandit finds the best arm, and interleaving stays within alpha under A/A.
Not a measurement (numbers come from `make bench-bandit`): this keeps the benchmark working."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.bandit.__main__ import main
from benchmarks.bandit.arms import EPSILON, FIXED, OPERATOR, POLICIES


def test_quick_run_writes_both_tables_and_finds_the_best_arm(tmp_path: Path) -> None:
    out = tmp_path / "bandit.json"
    assert main(["--quick", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    scenarios = results["arms"]["scenarios"]
    assert set(scenarios) == {"5% vs 6%", "A/A 5% vs 5%", "5% vs 10%"}
    assert all(set(cell["policies"]) == set(POLICIES) for cell in scenarios.values())
    clear = scenarios["5% vs 10%"]["policies"]
    assert clear[OPERATOR]["stop_rate"] == 1.0 and clear[OPERATOR]["best_found"] == 1.0
    assert clear[OPERATOR]["wrong_stops"] == 0.0
    assert clear[OPERATOR]["regret_mean"] < clear[EPSILON]["regret_mean"] < clear[FIXED]["regret_mean"]
    assert scenarios["A/A 5% vs 5%"]["policies"][FIXED]["regret_mean"] == 0.0
    cells = results["interleaving"]["cells"]
    for rate in (10, 100, 1000):
        assert cells[f"{rate}/0.5"]["ours"]["decided"] <= results["interleaving"]["alpha"]
    assert cells["1000/0.6"]["ours"]["pass"] == 1.0
    rules = results["stop_rules"]
    assert [(r["stop_probability"], r["min_feedback"]) for r in rules] == [
        (0.95, 100.0),
        (0.95, 1000.0),
        (0.99, 100.0),
        (0.99, 1000.0),
    ]
    text = out.with_suffix(".md").read_text()
    assert "| 5% vs 10% | operator" in text and "z-test every look" in text
    assert "What the stop rule trades" in text
