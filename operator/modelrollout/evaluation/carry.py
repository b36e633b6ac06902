"""Evidence carried across a rollout's analysis steps: Fail on all of it, Pass on the step's own.

One range query per metric reads every interval since the evidence start; the step's part is its
suffix, so carrying costs no query. Why the two sides differ: a rollback needs evidence that the
candidate was worse than the margin at some point of the rollout, which every interval since the
first analysis step adds to whatever its traffic split (each interval weighed with its own split);
a promotion to the next weight needs evidence that it is within the margin now, under the load of
this step, so a Pass rests on this step's intervals alone, after `minSamples` candidate requests
at its own weight. Proof and figures: docs/statistics.md#evidence-across-steps
"""

from __future__ import annotations

from dataclasses import replace

from ..analysis import MetricTest
from ..api.v1alpha1 import Verdict
from ..metrics import RangeSeries
from .slices import Answers


def step_part(answers: Answers, step_from: float) -> Answers:
    """The answers as the step alone saw them: range points at or after its first look (instant
    answers, such as whether a series exists at all, are the same for both)."""
    return {
        name: [
            RangeSeries(labels=series.labels, points=tuple(p for p in series.points if p[0] >= step_from))
            if isinstance(series, RangeSeries)
            else series
            for series in answer
        ]
        for name, answer in answers.items()
    }


def combine(carried: MetricTest, step: MetricTest | None, span: str) -> MetricTest:
    """One metric's result from the evidence since the rollout's first analysis step (`carried`)
    and the step's own (`step`, None when `carried` alone decides: a Fail or a configuration
    error); `span` says what the carried evidence covers, for a reader.

    Fail only on the carried evidence, so alpha is spent once per rollout, not once per step; the
    step's own evidence then decides Pass or keeps collecting. A step whose own evidence alone
    crosses the Fail threshold while the carried evidence does not is held (Inconclusive): its
    intervals are part of the carried evidence, which is the one test a rollback rests on.
    """
    if carried.configuration_error is not None:
        return carried
    if carried.verdict is Verdict.FAIL or step is None:
        return replace(carried, explanation=f"{carried.explanation} Evidence carried across steps: {span}.")
    carried_e = carried.e_value
    note = f"evidence that it is worse carried across steps ({span})"
    if carried_e is not None:
        note += f": e-value {carried_e:.3g}"
    if step.verdict is Verdict.FAIL:
        return replace(
            step,
            verdict=Verdict.INCONCLUSIVE,
            e_value=carried_e,
            explanation=f"{step.explanation} Held: a rollback rests on the {note}, not yet decisive.",
        )
    return replace(
        step,
        e_value=carried_e if carried_e is not None else step.e_value,
        explanation=f"{step.explanation} The {note}.".strip(),
    )
