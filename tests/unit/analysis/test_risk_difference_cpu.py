"""The risk difference's evidence and interval, as the interval search and the carried evidence
compute them, pinned bit for bit on random paths (issue 24's third CPU step).

`equivalence_risk_difference_cpu.json` holds what these functions returned at bae3de6, before
the evaluation of the evidence was made leaner (fewer numpy calls per evaluation and cheaper
loops: the grid computed with its pairs last, the path's counts unbroadcast, Newton's bracket
checked without slopes):
one-split paths of 1-60 looks at 1-1000 requests per look with margins from -0.05 to 0.05, both
sides, and segmented paths with the split changing at random looks. The rewrite keeps every
element's arithmetic, so every number must be the recorded one exactly (0 ulp); the whole
evaluations beside it are pinned by `tests/unit/evaluation/test_evaluation_equivalence.py`.

Re-record (only on purpose): PYTHONPATH=operator:. python -m tests.unit.analysis.test_risk_difference_cpu
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelrollout.analysis.search import secant_to_rejection
from modelrollout.analysis.sequential import (
    risk_difference_final_log_evidence,
    risk_difference_interval_and_evidence,
    risk_difference_segmented_final_log_evidence,
)
from modelrollout.analysis.sequential.risk_difference import least_favourable_rate, restricted_rate

RECORDED = Path(__file__).with_name("equivalence_risk_difference_cpu.json")
CASES = 120
ALPHA = 0.05


def _path(rng: np.random.Generator) -> tuple[list[float], list[float], list[float], list[float]]:
    """Cumulative counts of one path: requests per look from 1 to 1000 at a random split, error
    rates from 0 to 20%, the candidate worse or not."""
    looks = int(rng.integers(1, 61))
    per_look = float(rng.choice([1.0, 10.0, 100.0, 1000.0]))
    weight = float(rng.choice([0.05, 0.1, 0.25, 0.5]))
    stable_rate = float(rng.choice([0.0, 0.001, 0.01, 0.05, 0.2]))
    candidate_rate = min(1.0, stable_rate + float(rng.choice([0.0, 0.005, 0.02, 0.1])))
    n_s = rng.poisson(per_look * (1 - weight), looks)
    n_c = rng.poisson(per_look * weight, looks)
    x_s, x_c = rng.binomial(n_s, stable_rate), rng.binomial(n_c, candidate_rate)
    return tuple(np.cumsum(v).astype(float).tolist() for v in (x_s, n_s, x_c, n_c))  # type: ignore[return-value]


def outputs(index: int) -> dict[str, Any]:
    rng = np.random.default_rng(index)
    x_s, n_s, x_c, n_c = (np.asarray(v) for v in _path(rng))
    looks = x_s.size
    margins = rng.uniform(-0.05, 0.05, (int(rng.integers(1, 6)), 2))
    sign = np.asarray([1.0, -1.0]).reshape((2, 1))
    margin = float(rng.choice([0.001, 0.005, 0.02]))
    starts = tuple(sorted({int(s) for s in rng.integers(1, looks, 3)})) if looks > 2 else ()
    low, high, fail, within = risk_difference_interval_and_evidence(x_s, n_s, x_c, n_c, ALPHA, margin)
    q_s = rng.uniform(1e-4, 0.5, 8)
    q_c = np.clip(q_s + margin + rng.uniform(-0.3, 0.3, 8), 1e-9, 1 - 1e-9)
    return {
        "final": risk_difference_final_log_evidence(x_s, n_s, x_c, n_c, margins[..., None], sign).tolist(),
        "interval": [float(low), float(high), float(fail), float(within)],
        "segmented": list(risk_difference_segmented_final_log_evidence(x_s, n_s, x_c, n_c, margin, starts)),
        "fail_only": risk_difference_segmented_final_log_evidence(x_s, n_s, x_c, n_c, margin, starts, False)[
            0
        ],
        "projection": least_favourable_rate(q_s, q_c, n_s[-1], n_c[-1], margin).tolist(),
        "restricted": restricted_rate(x_s, n_s, x_c, n_c, margin).tolist(),
    }


def _same(found: Any, recorded: Any, where: str) -> None:
    if isinstance(recorded, list):
        assert isinstance(found, list) and len(found) == len(recorded), where
        for position, (a, b) in enumerate(zip(found, recorded, strict=True)):
            _same(a, b, f"{where}[{position}]")
    elif isinstance(recorded, float) and math.isnan(recorded):
        assert math.isnan(found), where
    else:
        assert found == recorded, f"{where}: {found!r} != {recorded!r}"


@functools.cache
def _recorded() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(RECORDED.read_text())
    return loaded


@pytest.mark.parametrize("index", range(CASES))
def test_the_risk_difference_is_the_recorded_one_to_the_bit(index: int) -> None:
    recorded = _recorded()[str(index)]
    _same(json.loads(json.dumps(outputs(index))), recorded, f"case {index}")


def record() -> None:
    RECORDED.write_text(json.dumps({str(i): outputs(i) for i in range(CASES)}) + "\n")


if __name__ == "__main__":
    record()


@pytest.mark.parametrize("seed", range(40))
def test_the_secant_in_python_floats_is_the_numpy_one_to_the_bit(seed: int) -> None:
    """One rollout's ends (two columns) are searched with Python floats; the same problem spread
    over ten columns takes the numpy path, and each column is searched on its own either way."""
    rng = np.random.default_rng(seed)
    slopes, roots = rng.uniform(0.2, 5.0, 2), rng.uniform(-1.0, 1.0, 2)
    curvature = rng.uniform(-0.3, 0.3, 2)

    def excess_of(columns: int) -> Any:
        def excess(points: np.ndarray) -> np.ndarray:
            distance = points - np.tile(roots, columns // 2)
            return np.asarray(
                np.tile(slopes, columns // 2) * distance + np.tile(curvature, columns // 2) * distance**2
            )

        return excess

    probes = np.sort(rng.uniform(-3.0, 3.0, (5, 2)), axis=0)
    tolerance = rng.choice([1e-7, 1e-3, 1e-2], 2)
    few = secant_to_rejection(excess_of(2), probes, excess_of(2)(probes), tolerance)
    wide_probes = np.tile(probes, 5)
    many = secant_to_rejection(excess_of(10), wide_probes, excess_of(10)(wide_probes), np.tile(tolerance, 5))
    assert few[0].tolist() == many[0][:2].tolist()
    assert few[1].tolist() == many[1][:2].tolist()
