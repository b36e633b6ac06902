"""Combining metric results into one verdict, a Kayenta-style score and an explanation.

Rules, in order:

* dry-run metrics are tested and shown but never decide;
* a deciding metric with a configuration error (its series does not exist, or its query has the
  wrong shape) blocks a Pass whatever the score: it is not evidence of health, and no threshold
  may count it as tolerable. A Fail proved by the other metrics still stands;
* a Fail backed by a statistical test must survive Holm's correction across the deciding metrics'
  Fail evidence (``p = 1/e`` for sequential e-values: by Ville's inequality it is an anytime-valid
  p-value, so the correction stays valid under peeking); otherwise it becomes Inconclusive;
* critical metrics are guardrails tested at their own alpha: their Fail vetoes without the
  correction; threshold and drift checks carry no p-value and their Fail stands as it is;
* without score thresholds: any remaining Fail of a deciding metric -> Fail; every deciding
  metric Pass -> Pass (a non-inferiority claim on all metrics at once is an intersection-union
  test and needs no correction); anything else -> Inconclusive;
* with Kayenta-style thresholds (``passing``, ``marginal``): a critical Fail still vetoes;
  otherwise Fail once the score stays below ``marginal`` even if every undecided metric went on
  to pass, Pass once it reaches ``passing`` even if every undecided metric went on to fail, and
  Inconclusive in between ("marginal", which at ``maxDuration`` is ``onInconclusive``'s to
  settle). Counting the undecided both ways is what lets a sequential analysis stop early
  without the score it stops on being overturned by the metrics still collecting. Thresholds
  of 100 and 100 are the strict rules when every deciding metric weighs more than 0 (a metric
  of weight 0 is left out of the score, as in Kayenta); with no weight at all to score, the
  strict rules apply.

The score shown is the weighted share of passing metrics among those with data (Kayenta leaves
metrics without data out of the denominator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

from ..api.v1alpha1 import Verdict
from .fixed import holm
from .types import JudgedMetric, Judgement, MetricTest, ScoreThresholds
from .winner import crown

__all__ = ["fail_evidence_p_value", "judge"]


def fail_evidence_p_value(result: MetricTest) -> float | None:
    """The p-value of the evidence that the candidate is worse, or None if the test has none.

    By convention a `MetricTest` carries a p-value or an e-value only for that evidence; checks
    against a fixed limit (thresholds, drift) carry neither.
    """
    if result.e_value is not None:
        return 1.0 if result.e_value <= 1 else min(1.0, 1 / result.e_value)
    return result.p_value


def _has_data(result: MetricTest) -> bool:
    return (
        result.verdict != Verdict.INCONCLUSIVE or result.samples_candidate > 0 or result.candidate is not None
    )


def _corrected(deciding: list[JudgedMetric], alpha: float) -> list[JudgedMetric]:
    """Deciding metrics with Fails that do not survive Holm's correction turned Inconclusive."""
    tested = [
        (index, p)
        for index, metric in enumerate(deciding)
        if not metric.critical and (p := fail_evidence_p_value(metric.result)) is not None
    ]
    adjusted = dict(zip((i for i, _ in tested), holm([p for _, p in tested]), strict=True))
    corrected = []
    for index, metric in enumerate(deciding):
        adjusted_p = adjusted.get(index)
        if metric.result.verdict == Verdict.FAIL and adjusted_p is not None and adjusted_p > alpha:
            note = (
                f" Not significant after Holm's correction over {len(tested)} metrics"
                f" (adjusted p = {adjusted_p:.3g} > {alpha:g}): held as Inconclusive."
            )
            result = replace(
                metric.result,
                verdict=Verdict.INCONCLUSIVE,
                explanation=metric.result.explanation + note,
            )
            metric = replace(metric, result=result)
        corrected.append(metric)
    return corrected


def _score(deciding: Sequence[JudgedMetric]) -> float:
    with_data = [metric for metric in deciding if _has_data(metric.result)]
    total = sum(metric.weight for metric in with_data)
    if total <= 0:
        return 0.0
    passing = sum(metric.weight for metric in with_data if metric.result.verdict == Verdict.PASS)
    return 100.0 * passing / total


def _names(metrics: Sequence[JudgedMetric]) -> str:
    return ", ".join(metric.name for metric in metrics)


def _details(metrics: Sequence[JudgedMetric]) -> str:
    return " ".join(f"{metric.name}: {metric.result.explanation}" for metric in metrics)


def _explain(
    verdict: Verdict, deciding: Sequence[JudgedMetric], dry_run: Sequence[JudgedMetric], score: float
) -> str:
    failed = [metric for metric in deciding if metric.result.verdict == Verdict.FAIL]
    undecided = [metric for metric in deciding if metric.result.verdict == Verdict.INCONCLUSIVE]
    if not deciding:
        headline = "Inconclusive: no deciding metric (all are dry-run or none are configured)."
    elif verdict == Verdict.FAIL:
        vetoes = [metric for metric in failed if metric.critical]
        veto_text = f" Critical (veto): {_names(vetoes)}." if vetoes else ""
        headline = f"Fail: {_names(failed)} worse than allowed.{veto_text} {_details(failed)}"
    elif verdict == Verdict.PASS and not failed and not undecided:
        headline = f"Pass: all {len(deciding)} deciding metrics within their margins ({_names(deciding)})."
    elif verdict == Verdict.PASS:
        headline = f"Pass: the score reaches the pass threshold.{_tolerated(failed, undecided)}"
    elif undecided:
        headline = f"Inconclusive: not yet decided for {_names(undecided)}. {_details(undecided)}"
    else:
        headline = f"Inconclusive (marginal): the score is between the thresholds.{_tolerated(failed, [])}"
    dry_failures = [metric for metric in dry_run if metric.result.verdict == Verdict.FAIL]
    dry_text = f" Dry-run (not deciding) would fail: {_names(dry_failures)}." if dry_failures else ""
    return f"{headline.strip()}{dry_text} Score {score:.0f}/100."


def _tolerated(failed: Sequence[JudgedMetric], undecided: Sequence[JudgedMetric]) -> str:
    failing = (
        f" Failed, within what the thresholds tolerate: {_names(failed)}. {_details(failed)}"
        if failed
        else ""
    )
    waiting = f" Still undecided: {_names(undecided)}." if undecided else ""
    return failing + waiting


def _weight(deciding: Sequence[JudgedMetric], *verdicts: Verdict) -> Fraction:
    """Summed exactly: a threshold is a boundary, and 1.1 + 2.2 in floats is not 3.3."""
    return sum((Fraction(m.weight) for m in deciding if m.result.verdict in verdicts), Fraction(0))


def _thresholded(deciding: Sequence[JudgedMetric], thresholds: ScoreThresholds) -> tuple[Verdict | None, str]:
    """The verdict the score thresholds give (None: no weight to score, so the strict rules
    apply), and a sentence saying where the score can still end."""
    if any(metric.critical and metric.result.verdict == Verdict.FAIL for metric in deciding):
        return Verdict.FAIL, ""
    total = _weight(deciding, Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE)
    if total <= 0:
        return None, ""
    failing, undecided = _weight(deciding, Verdict.FAIL), _weight(deciding, Verdict.INCONCLUSIVE)
    low, high = 100 * (total - failing - undecided) / total, 100 * (total - failing) / total
    bounds = (
        f" Pass at {thresholds.passing:g}, Fail below {thresholds.marginal:g}: the score ends between"
        f" {float(low):.0f} and {float(high):.0f} whatever the undecided metrics do."
    )
    if high < Fraction(thresholds.marginal):
        return Verdict.FAIL, bounds
    if low >= Fraction(thresholds.passing):
        return Verdict.PASS, bounds
    return Verdict.INCONCLUSIVE, bounds


def judge(
    metrics: Sequence[JudgedMetric], alpha: float = 0.05, thresholds: ScoreThresholds | None = None
) -> Judgement:
    """One verdict for an analysis interval from its metric results (see the module rules). An
    A/B test's goal metric is judged apart: the others are its guardrails (`winner.crown`)."""
    if any(metric.goal for metric in metrics):
        return crown(judge([metric for metric in metrics if not metric.goal], alpha, thresholds), metrics)
    deciding = _corrected([metric for metric in metrics if not metric.dry_run], alpha)
    dry_run = [metric for metric in metrics if metric.dry_run]
    verdicts = [metric.result.verdict for metric in deciding]
    scored, bounds = _thresholded(deciding, thresholds) if thresholds and verdicts else (None, "")
    if not verdicts:
        verdict = Verdict.INCONCLUSIVE
    elif scored is not None:
        verdict = scored
    elif Verdict.FAIL in verdicts:
        verdict = Verdict.FAIL
    elif all(v == Verdict.PASS for v in verdicts):
        verdict = Verdict.PASS
    else:
        verdict = Verdict.INCONCLUSIVE
    misconfigured = [metric for metric in deciding if metric.result.configuration_error is not None]
    blocked = ""
    if verdict == Verdict.PASS and misconfigured:
        verdict = Verdict.INCONCLUSIVE
        blocked = (
            f" Held as Inconclusive: {_names(misconfigured)} cannot be measured (a configuration error)."
        )
    score = _score(deciding)
    corrected = iter(deciding)
    ordered = tuple(metric if metric.dry_run else next(corrected) for metric in metrics)
    return Judgement(
        verdict=verdict,
        score=score,
        explanation=_explain(verdict, deciding, dry_run, score) + bounds + blocked,
        metrics=ordered,
    )
