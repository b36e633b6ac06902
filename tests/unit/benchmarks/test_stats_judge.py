"""The full-judge benchmark decides as the operator's own assess functions and judge do.

The benchmark judges thousands of rollouts at once on vectorised evidence; here a sample of
its runs and looks goes through `assess_rate`, `assess_latency` and `judge`, the calls the
controller's evaluation makes per interval, and every verdict must agree. The `--quick` run
keeps the command working (its numbers are not a measurement).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from benchmarks.stats.__main__ import main
from benchmarks.stats.judge_run import MSPRT, OURS, SPRT
from benchmarks.stats.judged import JudgeSpec, ours, windows
from benchmarks.stats.rollouts import GROWING, RolloutCell, simulate_rollout
from benchmarks.stats.simulate import LATENCY_EDGES, Scenario

from modelrollout.analysis import (
    AssessConfig,
    HistogramSample,
    JudgedMetric,
    RateSample,
    assess_latency,
    assess_rate,
    judge,
)
from modelrollout.api.v1alpha1 import Verdict


def _operator_verdict(
    streams, run: int, start: int, look: int, spec: JudgeSpec, segments: tuple[int, ...]
) -> Verdict:  # type: ignore[no-untyped-def]
    def total(counts) -> float:  # type: ignore[no-untyped-def]
        return float(np.sum(counts[run, start : look + 1]))

    path = []
    for at in range(start, look + 1):
        path.append(
            RateSample(
                float(streams.errors_stable[run, start : at + 1].sum()),
                float(streams.requests_stable[run, start : at + 1].sum()),
                float(streams.errors_candidate[run, start : at + 1].sum()),
                float(streams.requests_candidate[run, start : at + 1].sum()),
            )
        )
    errors = RateSample(
        total(streams.errors_stable),
        total(streams.requests_stable),
        total(streams.errors_candidate),
        total(streams.requests_candidate),
        earlier=tuple(path[:-1]),
        segment_starts=segments,
    )

    def histogram(at: int) -> HistogramSample:
        stable = np.cumsum(streams.latency_stable[run, start : at + 1].sum(axis=0)).astype(float)
        candidate = np.cumsum(streams.latency_candidate[run, start : at + 1].sum(axis=0)).astype(float)
        return HistogramSample(LATENCY_EDGES, tuple(stable), tuple(candidate))

    earlier = tuple(histogram(at) for at in range(start, look)) if segments else ()
    latency = HistogramSample(
        LATENCY_EDGES,
        histogram(look).stable_counts,
        histogram(look).candidate_counts,
        earlier=earlier,
        segment_starts=segments,
    )
    config = AssessConfig(alpha=spec.alpha, min_samples=spec.min_samples)
    metrics = [
        JudgedMetric("latency", assess_latency(latency, spec.latency_margin, config)),
        JudgedMetric("errors", assess_rate(errors, spec.error_margin, config)),
    ]
    return judge(metrics, spec.alpha).verdict


@pytest.mark.parametrize("carry", [True, False])
def test_vectorised_judge_matches_the_operators_judge(carry: bool) -> None:
    cell = RolloutCell(10.0, GROWING, looks=24)
    spec = JudgeSpec(carry=carry)
    checked = fails = 0
    for seed, scenario in enumerate(
        (
            Scenario("errors", "errors", error_increase=0.02, beyond_margin=True),
            Scenario("latency", "latency", latency_scale=1.3, beyond_margin=True),
        )
    ):
        streams = simulate_rollout(cell, scenario, 4, seed=11 + seed)
        judged = ours(streams, cell, spec)
        segments = tuple(s for s in cell.step_starts() if s > 0) if carry else ()
        for run in range(streams.runs):
            for start, stop in windows(cell, carry):
                for look in range(start, stop, 2):
                    verdict = _operator_verdict(streams, run, start, look, spec, segments)
                    assert (verdict == Verdict.FAIL) == bool(judged.fail[run, look]), (
                        scenario.name,
                        run,
                        look,
                    )
                    checked += 1
                    fails += verdict == Verdict.FAIL
    assert checked >= 90 and 0 < fails < checked, "the sample must hold both verdicts"


def test_holm_needs_two_over_alpha_for_the_first_of_two_metrics() -> None:
    from benchmarks.stats.judged import holm_fails

    spec = JudgeSpec()
    between = math.log(1.5 / spec.alpha)
    above = math.log(2.5 / spec.alpha)
    tested = [np.ones(3, dtype=bool), np.ones(3, dtype=bool)]
    fails = holm_fails([np.asarray([between, above, between]), np.zeros(3)], tested, spec)
    assert fails.tolist() == [False, True, False]
    critical = holm_fails(
        [np.asarray([between]), np.zeros(1)], [t[:1] for t in tested], JudgeSpec(critical=(True, False))
    )
    assert critical.tolist() == [True], "a critical metric vetoes at its own alpha"


def test_quick_run_writes_every_method_and_target(tmp_path: Path) -> None:
    out = tmp_path / "judge.json"
    assert main(["--judge", "--quick", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    scenarios = results["cells"][0]["scenarios"]
    assert scenarios["A/A"]["modes"]["carried"][OURS]["rollback_rate"] <= 0.05
    effect = scenarios["latency +100%"]["modes"]["carried"]
    assert {OURS, SPRT, MSPRT, "ours, latency alone", "ours, errors alone"} <= set(effect)
    assert effect[SPRT]["rollback_rate"] == 1.0
    assert "Targets met" in out.with_suffix(".md").read_text()
