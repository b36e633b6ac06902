"""An A/B test's verdict: the candidate wins when its goal is superior and its guardrails hold.

The goal metric asks whether the candidate is better; every other metric is a guardrail asking,
as in a canary, whether it is no worse than its margin (judged by `judge` exactly as a canary's
metrics are, Holm's correction over the guardrails' Fail evidence included). A win is an
intersection-union claim (the goal superior at ``alpha`` *and* each guardrail non-inferior at
``alpha``), so the chance of crowning a candidate that is not better, or that breaks a
guardrail, stays under ``alpha`` with no further correction.

* a guardrail's Fail fails the test whatever the goal says (the candidate is worse where it must
  not be: the rollout's `onFailure` applies at once);
* the goal superior and every guardrail passing is a Pass: the candidate won;
* anything else is Inconclusive, including a goal shown *not* superior: that is no failure of the
  candidate, only no winner, which the rollout hands to `onInconclusive`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..api.v1alpha1 import Verdict
from .types import JudgedMetric, Judgement

__all__ = ["crown"]


def _goal_line(goals: Sequence[JudgedMetric]) -> str:
    return " ".join(f"Goal {goal.name}: {goal.result.explanation}" for goal in goals)


def crown(guardrails: Judgement, metrics: Sequence[JudgedMetric]) -> Judgement:
    """The A/B test's judgement from the guardrails' own (`judge` of every non-goal metric) and
    the goal's result, the metrics in their original order."""
    goals = [metric for metric in metrics if metric.goal]
    deciding_goals = [goal for goal in goals if not goal.dry_run]
    guarded = any(not metric.dry_run for metric in guardrails.metrics)
    held = guardrails.verdict if guarded else Verdict.PASS
    superior = bool(deciding_goals) and all(goal.result.verdict == Verdict.PASS for goal in deciding_goals)
    if held == Verdict.FAIL:
        verdict = Verdict.FAIL
        headline = f"Fail: a guardrail failed, so the candidate cannot win. {guardrails.explanation}"
    elif superior and held == Verdict.PASS:
        verdict = Verdict.PASS
        headline = "Winner: the goal is superior and every guardrail holds."
    elif not deciding_goals:
        verdict = Verdict.INCONCLUSIVE
        headline = "Inconclusive: the goal is dry-run, so no candidate can win."
    elif any(goal.result.verdict == Verdict.FAIL for goal in deciding_goals):
        verdict = Verdict.INCONCLUSIVE
        headline = "No winner: the goal is shown not superior."
    else:
        verdict = Verdict.INCONCLUSIVE
        waiting = "the goal" if not superior else "the guardrails"
        headline = f"Inconclusive: no winner yet, waiting for {waiting}."
    guardrail_text = f" Guardrails: {guardrails.explanation}" if guarded and verdict != Verdict.FAIL else ""
    corrected = iter(guardrails.metrics)
    ordered = tuple(metric if metric.goal else next(corrected) for metric in metrics)
    return replace(
        guardrails,
        verdict=verdict,
        explanation=f"{headline} {_goal_line(goals)}{guardrail_text}".strip(),
        metrics=ordered,
    )
