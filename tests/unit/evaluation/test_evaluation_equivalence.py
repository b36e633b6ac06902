"""Speed-ups of the evaluation must not move a single result: whole evaluations pinned.

`equivalence_evaluation.json` holds what `evaluate_intervals` returned, on 4c1fb86, for the
fleets `hack/analysis_cpu.py` times (seeded; latency and errors, absolute and relative error
margins, one split and evidence carried across four weights to the fourth analysis step): every
rollout's verdict and every metric's status fields, explanations included. Carried evidence
joins two assessments (`evaluation.carry`), which the analysis pins
(`tests/unit/analysis/test_equivalence.py`) do not see; this pin does. Every number must agree to
1e-12 relative, everything else exactly.

Re-record (only on purpose): PYTHONPATH=operator:. python -m tests.unit.evaluation.test_evaluation_equivalence
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hack.analysis_cpu import fleet

from modelrollout.evaluation import evaluate_intervals

from ..analysis.test_equivalence import _assert_same

RECORDED = Path(__file__).with_name("equivalence_evaluation.json")
ROLLOUTS = 12
CONFIGURATIONS = [
    *(
        (seed, absolute, carried, False)
        for seed in (1, 2)
        for absolute in (True, False)
        for carried in (True, False)
    ),
    *((seed, absolute, True, True) for seed in (3, 4) for absolute in (True, False)),
]
"""(seed, absolute margin, carried, regression in the last step only)."""


def outputs(seed: int, absolute: bool, carried: bool, late: bool) -> list[dict[str, Any]]:
    source, requests = fleet(ROLLOUTS, seed, absolute, carried, late)
    return [
        {
            "verdict": str(result.verdict),
            "metrics": [metric.model_dump(mode="json") for metric in result.metrics],
        }
        for result in evaluate_intervals(requests, source)
    ]


def _key(seed: int, absolute: bool, carried: bool, late: bool) -> str:
    margin = "absolute" if absolute else "relative"
    return f"seed {seed}, {margin}, {'carried' if carried else 'one split'}{', late' if late else ''}"


@pytest.mark.parametrize(
    ("seed", "absolute", "carried", "late"), CONFIGURATIONS, ids=[_key(*c) for c in CONFIGURATIONS]
)
def test_the_evaluations_are_the_recorded_ones(seed: int, absolute: bool, carried: bool, late: bool) -> None:
    key = _key(seed, absolute, carried, late)
    recorded = json.loads(RECORDED.read_text())[key]
    _assert_same(json.loads(json.dumps(outputs(seed, absolute, carried, late))), recorded, key)


def test_the_pin_covers_every_way_carried_evidence_is_joined() -> None:
    """Carried Fail, a step's own Fail held, Pass and Inconclusive all occur in the pinned fleets."""
    recorded = json.loads(RECORDED.read_text())
    carried = [
        metric
        for key, results in recorded.items()
        if "carried" in key
        for result in results
        for metric in result["metrics"]
    ]
    for name in ("latency", "errors"):
        verdicts = {metric["verdict"] for metric in carried if metric["name"] == name}
        assert verdicts == {"Pass", "Fail", "Inconclusive"}, name
        assert any(
            "Held: a rollback rests on" in metric["explanation"]
            for metric in carried
            if metric["name"] == name
        ), name


def record() -> None:
    RECORDED.write_text(json.dumps({_key(*c): outputs(*c) for c in CONFIGURATIONS}, indent=1) + "\n")


if __name__ == "__main__":
    record()
