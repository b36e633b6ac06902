"""Speed-ups of the analysis must not move a single result: outputs pinned, every number to 1e-12.

`equivalence_i24.json` holds seeded random inputs (rate paths of 1-120 looks, 12-bucket
histograms, both kinds of margin, traffic from 1 to 100 rps) and what the analysis returned for
them: verdicts, e-values, intervals, effects and explanations. Every number must agree to 1e-12
relative.

It was re-recorded on purpose by issue 24's CPU work, which changed the absolute margin's
numbers (and only those) against the earlier pin, `equivalence_412f7c8.json`, kept to bound the
change: the least favourable and restricted rates are now found by safeguarded Newton steps to
1e-14 instead of 40 bisection steps (about 1e-12 absolute, 1e-8 relative at small rates), which
moved the e-values by at most 1e-9 relative; and the interval's ends are found by regula falsi
to a hundredth of a standard error instead of bisection to 1.2e-7, still always at a point whose
evidence rejects, so the interval still contains the exact inversion. Verdicts, methods and
explanations are unchanged.

It was re-recorded once more, on purpose, by issue 24's second CPU step: the rate ratio's
confidence sequence (the relative margin's interval and latency's effect interval) is now found
by probes and secant steps to a hundredth of a standard error of the log ratio instead of 48
bisection steps, always at a ratio whose evidence rejects, so those intervals can only be wider
than the exact inversion, by at most that hundredth (bounded below against 412f7c8). The risk
difference's rates now start Newton at the cubic's closed-form root, which moved the absolute
margin's e-values by rounding only (under 1e-11 relative), and `latency_at_share` is solved in
closed form (under 1e-13 relative from bisection's). Everything else, verdicts included, is
unchanged to 1e-12.

The live code is now pinned by `equivalence_i24_adaptive.json`, re-recorded on purpose when
issue 24 changed the method (not its precision): the mixtures adapt to the effect size (the
binned mean's and the risk difference score's normal mixtures average over a geometric grid of
scales, three quarters of the weight on the earlier scale; the conditional binomial's beta priors span one to
27 margin widths instead of one to nine), which moves every sequential e-value and the intervals
that invert them; docs/statistics.md#adaptive-mixtures says why, and the statistics benchmark
measures the effect. `equivalence_i24.json` stays as the record of the CPU work above, and the
tests bounding that work compare it with `equivalence_412f7c8.json`, both unchanged.

Re-record (only on purpose): PYTHONPATH=operator:. python -m tests.unit.analysis.test_equivalence
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelrollout.analysis import (
    AssessConfig,
    HistogramSample,
    Margin,
    MetricTest,
    RateSample,
    assess_latency,
    assess_rate,
    latency_log_evidence,
    rate_log_evidence,
)
from modelrollout.analysis.histograms import latency_at_share, to_buckets
from modelrollout.analysis.sequential import (
    quantile_confidence_interval,
    rate_ratio_confidence_sequence,
    risk_difference_confidence_sequence,
)

RECORDED = Path(__file__).with_name("equivalence_i24_adaptive.json")
CPU_PIN = Path(__file__).with_name("equivalence_i24.json")
"""The pin of issue 24's CPU work, before the adaptive mixtures: the bounds on that work's
changes compare it with the pin before it (``EARLIER``)."""
EARLIER = Path(__file__).with_name("equivalence_412f7c8.json")
TOLERANCE = 1e-12
EARLIER_E_VALUE_TOLERANCE = 1e-9
"""Relative change of the absolute margin's e-values since 412f7c8 (Newton roots, see above)."""
EARLIER_END_TOLERANCE = 1e-2
"""Change of the absolute margin's interval ends since 412f7c8, in standard errors."""
EDGES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
Case = dict[str, Any]


def _rate_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for looks, rps, stable_rate, candidate_rate, absolute in (
        (120, 1.0, 0.01, 0.01, True),
        (120, 10.0, 0.01, 0.02, True),
        (120, 100.0, 0.01, 0.012, True),
        (60, 100.0, 0.02, 0.01, True),
        (40, 10.0, 0.0, 0.0, True),
        (1, 100.0, 0.05, 0.05, True),
        (7, 1.0, 0.1, 0.3, True),
        (120, 1.0, 0.01, 0.01, False),
        (120, 10.0, 0.01, 0.03, False),
        (120, 100.0, 0.01, 0.01, False),
        (5, 100.0, 0.0, 0.01, False),
        (1, 10.0, 0.02, 0.02, False),
    ):
        stable_n = rng.poisson(rps * 0.9 * 30, looks).astype(float)
        candidate_n = rng.poisson(rps * 0.1 * 30, looks).astype(float)
        path = [
            stable_n.cumsum(),
            rng.binomial(stable_n.astype(np.int64), stable_rate).astype(float).cumsum(),
            candidate_n.cumsum(),
            rng.binomial(candidate_n.astype(np.int64), candidate_rate).astype(float).cumsum(),
        ]
        margin = {"absolute": 0.005} if absolute else {"relative": 0.2}
        cases.append(
            {
                "stable_exposure": path[0].tolist(),
                "stable_events": path[1].tolist(),
                "candidate_exposure": path[2].tolist(),
                "candidate_events": path[3].tolist(),
                "margin": margin,
                "min_samples": int(rng.choice([10, 200])),
            }
        )
    return cases


def _histogram_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    finite = np.asarray(EDGES[:-1])

    def counts(n: int, median: float) -> list[float]:
        shares = np.asarray([0.5 * math.erfc(-math.log(e / median) / (0.6 * math.sqrt(2))) for e in finite])
        per_bucket = rng.multinomial(n, np.diff(np.concatenate(([0.0], shares, [1.0]))))
        return np.cumsum(per_bucket).astype(float).tolist()

    for requests, stable_median, candidate_median, margin in (
        (300, 0.1, 0.1, {"relative": 0.1}),
        (3000, 0.1, 0.13, {"relative": 0.1}),
        (36000, 0.1, 0.1, {"relative": 0.1}),
        (36000, 0.2, 0.25, {"relative": 0.1}),
        (1200, 0.05, 0.05, {"absolute": 0.01}),
        (12000, 0.3, 0.4, {"absolute": 0.05}),
        (40, 0.1, 0.1, {"relative": 0.1}),
        (100000, 1.0, 1.05, {"relative": 0.2}),
    ):
        cases.append(
            {
                "stable": counts(requests * 9, stable_median),
                "candidate": counts(requests, candidate_median),
                "margin": margin,
            }
        )
    return cases


def inputs() -> dict[str, list[Case]]:
    rng = np.random.default_rng(22)
    return {"rate": _rate_cases(rng), "latency": _histogram_cases(rng)}


def _rate_sample(case: Case) -> RateSample:
    looks = [
        RateSample(*values)
        for values in zip(
            case["stable_events"],
            case["stable_exposure"],
            case["candidate_events"],
            case["candidate_exposure"],
            strict=True,
        )
    ]
    return RateSample(
        looks[-1].stable_events,
        looks[-1].stable_exposure,
        looks[-1].candidate_events,
        looks[-1].candidate_exposure,
        earlier=tuple(looks[:-1]),
    )


def _test_fields(result: MetricTest) -> Case:
    return {
        "verdict": str(result.verdict),
        "method": result.method,
        "stable": result.stable,
        "candidate": result.candidate,
        "effect": result.effect,
        "interval": list(result.interval) if result.interval is not None else None,
        "p_value": result.p_value,
        "e_value": result.e_value,
        "cohens_d": result.cohens_d,
        "hedges_g": result.hedges_g,
        "samples": [result.samples_stable, result.samples_candidate],
        "explanation": result.explanation,
    }


def rate_outputs(case: Case) -> Case:
    margin = Margin(**case["margin"])
    config = AssessConfig(min_samples=case["min_samples"])
    path = [
        case[key] for key in ("stable_events", "stable_exposure", "candidate_events", "candidate_exposure")
    ]
    evidence = rate_log_evidence(*path, margin, 0.05)
    last = [values[-1] for values in path]
    if margin.absolute is not None:
        low, high = risk_difference_confidence_sequence(*path, 0.05)
    else:
        low, high = rate_ratio_confidence_sequence(last[2], last[0], last[3], last[1], 0.05)
    return {
        "assess": _test_fields(assess_rate(_rate_sample(case), margin, config)),
        "fail_log_e": evidence.fail_log_e.tolist(),
        "pass_log_e": evidence.pass_log_e.tolist(),
        "bounds": [float(low), float(high)],
    }


def latency_outputs(case: Case) -> Case:
    margin = Margin(**case["margin"])
    sample = HistogramSample(EDGES, tuple(case["stable"]), tuple(case["candidate"]))
    stable, candidate = to_buckets(EDGES, case["stable"]), to_buckets(EDGES, case["candidate"])
    evidence = latency_log_evidence(
        stable.edges,
        stable.cumulative,
        np.asarray(stable.total),
        candidate.cumulative,
        np.asarray(candidate.total),
        margin,
    )
    return {
        "assess": _test_fields(assess_latency(sample, margin, AssessConfig())),
        "edge_index": int(evidence.edge_index),
        "null_ratio": float(evidence.null_ratio),
        "fail_log_e": float(evidence.fail_log_e),
        "pass_log_e": float(evidence.pass_log_e),
        "p95_bounds": list(quantile_confidence_interval(candidate, 0.95, 0.05)),
        "latency_at_shares": [latency_at_share(stable, share) for share in (0.001, 0.05, 0.3, 0.9, 1.0)],
    }


def _recorded(path: Path = RECORDED) -> Case:
    loaded: Case = json.loads(path.read_text())
    return loaded


def _assert_same(actual: object, expected: object, where: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for key in expected:
            _assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for index, (got, wanted) in enumerate(zip(actual, expected, strict=True)):
            _assert_same(got, wanted, f"{where}[{index}]")
    elif isinstance(expected, float) and isinstance(actual, float):
        if math.isnan(expected) or math.isinf(expected):
            assert actual == expected or (math.isnan(actual) and math.isnan(expected)), where
        else:
            assert actual == pytest.approx(expected, rel=TOLERANCE, abs=1e-300), where
    else:
        assert actual == expected, where


def test_the_recorded_inputs_are_the_seeded_ones() -> None:
    assert _recorded()["inputs"] == json.loads(json.dumps(inputs()))


@pytest.mark.parametrize("index", range(len(inputs()["rate"])))
def test_rate_results_are_the_recorded_ones(index: int) -> None:
    recorded = _recorded()
    case = recorded["inputs"]["rate"][index]
    _assert_same(json.loads(json.dumps(rate_outputs(case))), recorded["rate"][index], f"rate[{index}]")


@pytest.mark.parametrize("index", range(len(inputs()["latency"])))
def test_latency_results_are_the_recorded_ones(index: int) -> None:
    recorded = _recorded()
    case = recorded["inputs"]["latency"][index]
    _assert_same(
        json.loads(json.dumps(latency_outputs(case))), recorded["latency"][index], f"latency[{index}]"
    )


def _without_intervals(outputs: Case) -> Case:
    """The outputs but the rate ratio's intervals, which may only widen (tested apart)."""
    kept = {key: value for key, value in outputs.items() if key != "bounds"}
    kept["assess"] = {key: value for key, value in outputs["assess"].items() if key != "interval"}
    return kept


def _contains(wider: list[float], narrower: list[float]) -> bool:
    return wider[0] <= narrower[0] + 1e-15 and wider[1] >= narrower[1] - 1e-15


def test_the_earlier_pin_holds_where_nothing_was_meant_to_change() -> None:
    earlier, recorded = _recorded(EARLIER), _recorded(CPU_PIN)
    assert earlier["inputs"] == recorded["inputs"]
    for index, case in enumerate(earlier["inputs"]["rate"]):
        if "relative" in case["margin"]:
            now, then = recorded["rate"][index], earlier["rate"][index]
            _assert_same(_without_intervals(now), _without_intervals(then), f"rate[{index}]")
            # The ratio's ends: never inside the bisected ones, at most a hundredth of the log
            # ratio's standard error outside them.
            x_c, x_s = case["candidate_events"][-1], case["stable_events"][-1]
            error = math.sqrt(1 / (x_c + 0.5) + 1 / (x_s + 0.5))
            assert _contains(now["bounds"], then["bounds"]), index
            for new, old in zip(now["bounds"], then["bounds"], strict=True):
                if old not in (0.0, math.inf):
                    assert abs(math.log(new) - math.log(old)) <= error / 100 + 1e-12, index
            if then["assess"]["interval"] is not None:
                assert now["assess"]["interval"] == [now["bounds"][0] - 1, now["bounds"][1] - 1]
            else:
                assert now["assess"]["interval"] is None, index
    for index in range(len(earlier["latency"])):
        now, then = recorded["latency"][index], earlier["latency"][index]
        _assert_same(_without_intervals(now), _without_intervals(then), f"latency[{index}]")
        interval, before = now["assess"]["interval"], then["assess"]["interval"]
        assert (interval is None) == (before is None), index
        if interval is not None:
            # The effect is monotone in the ratio, so a wider ratio interval gives a wider one.
            assert _contains(interval, before), index
            assert max(abs(a - b) for a, b in zip(interval, before, strict=True)) <= 0.01 * (
                before[1] - before[0]
            ), index


def _standard_error(case: Case) -> float:
    n_s, n_c = case["stable_exposure"][-1], case["candidate_exposure"][-1]
    pooled = (case["stable_events"][-1] + case["candidate_events"][-1]) / (n_s + n_c)
    return max(math.sqrt(pooled * (1 - pooled) * (1 / n_s + 1 / n_c)), 1e-4)


@pytest.mark.parametrize("index", [i for i, c in enumerate(inputs()["rate"]) if "absolute" in c["margin"]])
def test_the_absolute_margin_moved_only_within_the_stated_precision_since_412f7c8(index: int) -> None:
    earlier, recorded = _recorded(EARLIER)["rate"][index], _recorded(CPU_PIN)["rate"][index]
    tolerance = EARLIER_END_TOLERANCE * _standard_error(_recorded(CPU_PIN)["inputs"]["rate"][index]) + 1.2e-7
    for key in ("verdict", "method", "explanation", "samples", "stable", "candidate", "effect"):
        assert recorded["assess"][key] == earlier["assess"][key], key
    for key in ("fail_log_e", "pass_log_e"):
        assert recorded[key] == pytest.approx(earlier[key], rel=EARLIER_E_VALUE_TOLERANCE, abs=1e-12)
    assert recorded["assess"]["e_value"] == pytest.approx(
        earlier["assess"]["e_value"], rel=EARLIER_E_VALUE_TOLERANCE
    )
    assert recorded["bounds"] == recorded["assess"]["interval"]
    for new, old in zip(recorded["bounds"], earlier["bounds"], strict=True):
        assert abs(new - old) <= tolerance
    # Both are points whose evidence rejects, the earlier within 1.2e-7 of the exact end: the new
    # interval may only be wider than that end.
    low, high = recorded["bounds"]
    assert low <= earlier["bounds"][0] + 1.2e-7
    assert high >= earlier["bounds"][1] - 1.2e-7


def record() -> None:
    cases = inputs()
    RECORDED.write_text(
        json.dumps(
            {
                "inputs": cases,
                "rate": [rate_outputs(case) for case in cases["rate"]],
                "latency": [latency_outputs(case) for case in cases["latency"]],
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    record()
