"""The evidence carried across steps decides only Fail (`evaluation.carry`), so its pass computes
what a Fail needs and no more: the step's own assessment is the one that shows intervals, quantile
bounds and the Pass side. Counted calls, not timings, so the check does not depend on the load;
the CPU figures are `hack/analysis_cpu.py`'s (docs/statistics.md#cpu-budget)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hack.analysis_cpu import fleet

from modelrollout.analysis.assess import latency, rate
from modelrollout.api.v1alpha1 import Verdict
from modelrollout.evaluation import evaluate_intervals


def _counted(monkeypatch: pytest.MonkeyPatch, calls: Counter[str], module: Any, name: str) -> None:
    original: Callable[..., Any] = getattr(module, name)
    key = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"

    def counting(*arguments: Any, **keywords: Any) -> Any:
        calls[key] += 1
        return original(*arguments, **keywords)

    monkeypatch.setattr(module, name, counting)


@pytest.mark.parametrize("absolute", [True, False], ids=["absolute", "relative"])
def test_the_carried_pass_computes_no_interval_or_bound_unless_it_fails(
    monkeypatch: pytest.MonkeyPatch, absolute: bool
) -> None:
    # Given rollouts at their fourth analysis step, evidence carried across four weights, some
    # regressing in that step only
    source, requests = fleet(8, 3, absolute, carried=True, late=True)
    calls: Counter[str] = Counter()
    for module, name in (
        (latency, "quantile_confidence_interval"),
        (latency, "latency_log_evidence"),
        (latency, "rate_ratio_confidence_sequence"),
        (rate, "risk_difference_interval_and_evidence"),
        (rate, "rate_ratio_confidence_sequence"),
    ):
        _counted(monkeypatch, calls, module, name)

    # When they are evaluated
    results = evaluate_intervals(requests, source)

    # Then the p95 bounds and each metric's interval are computed once per rollout: for the step's
    # own result, or for the carried one where it fails (then the step's is not needed); and
    # latency's evidence once for each, once more where the carried evidence fails (its one-split
    # edge, for the effect a Fail shows)
    failed = {
        name: sum(1 for r in results for m in r.metrics if m.name == name and m.verdict == Verdict.FAIL)
        for name in ("latency", "errors")
    }
    assert failed["latency"] and failed["errors"], "the fleet has carried Fails"
    rollouts = len(requests)
    assert calls["latency.quantile_confidence_interval"] == rollouts
    assert calls["latency.latency_log_evidence"] == 2 * rollouts + failed["latency"]
    assert calls["latency.rate_ratio_confidence_sequence"] == rollouts - failed["latency"]
    interval = "risk_difference_interval_and_evidence" if absolute else "rate_ratio_confidence_sequence"
    assert calls[f"rate.{interval}"] == rollouts - failed["errors"]
