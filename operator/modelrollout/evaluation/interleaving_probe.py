"""The interleaving experiment's test, read like any metric of an analysis step.

The router counts, per model and version, the merged lists it showed
(`ROUTER_INTERLEAVING_IMPRESSIONS`, one per version and impression) and the impressions each version
won on clicks, or tied (`ROUTER_INTERLEAVING_WINS`, `version="tie"`). Both are read as the other
counters are: the batched increase per interval over the step's window, so a fleet of experiments
sends two queries per interval, and a restarted operator re-reads the same totals. The test is
`analysis.assess_interleaving` on the totals: anytime valid, so reading it every interval is fine.

Its result joins the step's metrics under the name `interleaving`, critical (a preference for the
stable fails the step whatever the guardrails say, and needs no correction across them: it is
tested at its own alpha). Its fields in `status.analysis.metrics`: `stable` and `candidate` are the
impressions each version won, `samplesStable` the impressions shown, `samplesCandidate` those
credited (won, or tied), `effect` the candidate's share of the impressions won by either side, with
its confidence interval, and `eValue` the evidence against "no preference".
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from ..analysis import InterleavingCounts, InterleavingSettings, MetricTest, assess_interleaving
from ..api.router_config import ROUTER_INTERLEAVING_IMPRESSIONS, ROUTER_INTERLEAVING_WINS
from ..api.v1alpha1 import INTERLEAVING_METRIC, InterleavedStrategy, MetricSpec, MetricType, Verdict
from ..metrics import queries as defaults
from . import samples
from .slices import CANDIDATE, STABLE, Answers, Probe, Slice, inconclusive, ranges, settled

if TYPE_CHECKING:
    from .probes import Planner

__all__ = ["TIE", "interleaving_metric", "interleaving_probe", "waiting_interleaving"]

TIE = "tie"
"""The `version` label of impressions credited to neither version."""
METHOD = "interleaving (Beta-mixture e-value on per-impression wins)"
_LARGEST_LOG = 700.0
"""exp() of more overflows a float; such evidence is far past any threshold anyway."""


def interleaving_metric() -> MetricSpec:
    """The experiment's test as a metric of the step: critical, deciding, weight 1."""
    return MetricSpec.model_construct(name=INTERLEAVING_METRIC, type=MetricType.CUSTOM, critical=True)


def waiting_interleaving(explanation: str) -> Probe:
    return settled(interleaving_metric(), inconclusive(METHOD, explanation))


def interleaving_probe(planner: Planner, strategy: InterleavedStrategy) -> Probe:
    interval = planner.interval
    wins = planner.range_query(defaults.grouped_increase(ROUTER_INTERLEAVING_WINS, interval))
    shown = planner.range_query(defaults.grouped_increase(ROUTER_INTERLEAVING_IMPRESSIONS, interval))
    tie_labels = {**planner.labels(STABLE), "version": TIE}
    slices = {
        f"wins/{STABLE}": Slice(wins, planner.labels(STABLE)),
        f"wins/{CANDIDATE}": Slice(wins, planner.labels(CANDIDATE)),
        f"wins/{TIE}": Slice(wins, tie_labels),
        "shown": Slice(shown, planner.labels(CANDIDATE)),
    }
    alpha = strategy.alpha if strategy.alpha is not None else planner.request.analysis.alpha
    settings = InterleavingSettings(alpha=alpha)
    needed = strategy.min_impressions

    def measure(answers: Answers) -> MetricTest:
        def counted(key: str) -> float:
            return max(samples.total(ranges(answers, key)) or 0.0, 0.0)

        candidate, stable, ties = (counted(f"wins/{side}") for side in (CANDIDATE, STABLE, TIE))
        impressions = counted("shown")
        if impressions < needed:
            explanation = (
                f"{round(impressions)} of the {needed} impressions needed before a decision shown so far "
                f"(candidate won {round(candidate)}, stable {round(stable)}, ties {round(ties)})"
            )
            return _described(Verdict.INCONCLUSIVE, candidate, stable, ties, impressions, explanation)
        result = assess_interleaving(InterleavingCounts(candidate, stable, ties), settings)
        threshold = 1 / alpha
        e_value = math.exp(min(result.log_evidence, _LARGEST_LOG))
        low, high = result.low, result.high
        share = f"win share {result.win_share:.3f} [{low:.3f}, {high:.3f}]"
        if result.verdict == Verdict.PASS:
            verdict_text = "users prefer the candidate's ranking"
        elif result.verdict == Verdict.FAIL:
            verdict_text = "users prefer the stable's ranking"
        else:
            verdict_text = "no preference shown yet"
        explanation = (
            f"{verdict_text}: candidate won {round(candidate)}, stable {round(stable)}, ties {round(ties)} "
            f"of {round(impressions)} impressions; {share}; e-value {e_value:.3g} (decides at {threshold:g})"
        )
        test = _described(result.verdict, candidate, stable, ties, impressions, explanation)
        return replace(test, effect=result.win_share, interval=(low, high), e_value=e_value)

    return Probe(interleaving_metric(), measure, slices)


def _described(
    verdict: Verdict, candidate: float, stable: float, ties: float, impressions: float, explanation: str
) -> MetricTest:
    return MetricTest(
        verdict=verdict,
        method=METHOD,
        stable=stable,
        candidate=candidate,
        samples_stable=round(impressions),
        samples_candidate=round(candidate + stable + ties),
        explanation=explanation,
    )
