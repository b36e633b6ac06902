"""Inputs and results of the statistical tests: small immutable values, no I/O.

Counts are cumulative over the analysis window (since the analysis step started), per version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..api.v1alpha1 import AnalysisMethod, FixedTest, Verdict


@dataclass(frozen=True)
class RateSample:
    """Events (errors, slow requests, pattern hits) out of an exposure (requests) per version."""

    stable_events: float
    stable_exposure: float
    candidate_events: float
    candidate_exposure: float
    earlier: tuple[RateSample, ...] = ()
    """The cumulative counts at each earlier look of the analysis, oldest first. The sequential
    test for an absolute margin hands weight between its parts along this path, so its e-value
    depends on it; without it the sample is the analysis' only look."""
    segment_starts: tuple[int, ...] = ()
    """Indices into the path (``earlier`` then this sample) of the looks where the traffic split
    changed, e.g. the first look of each later step when evidence is carried across steps: each
    segment is then counted at its own split (``sequential/segments.py``). Empty: one split."""


@dataclass(frozen=True)
class HistogramSample:
    """Prometheus histogram buckets per version.

    `edges` are the `le` upper bounds in increasing order, the last one `inf`. The counts are
    cumulative per edge, exactly as `_bucket` series hold them (so the last count is `_count`).
    `*_sum` is the `_sum` series (None when unknown).
    """

    edges: tuple[float, ...]
    stable_counts: tuple[float, ...]
    candidate_counts: tuple[float, ...]
    stable_sum: float | None = None
    candidate_sum: float | None = None
    earlier: tuple[HistogramSample, ...] = ()
    """The cumulative buckets at each earlier look of the evidence window, oldest first, on the
    same edges. Used only with ``segment_starts``: the latency evidence is then a path."""
    segment_starts: tuple[int, ...] = ()
    """As :attr:`RateSample.segment_starts`, into ``earlier`` then this sample."""


@dataclass(frozen=True)
class Margin:
    """Non-inferiority margin: how much worse the candidate may be. At most one is set."""

    relative: float | None = None
    """E.g. 0.10: the candidate's value may be up to 10% above the stable's."""
    absolute: float | None = None
    """E.g. 0.005: the candidate's rate may be up to 0.5 percentage points above."""


@dataclass(frozen=True)
class AssessConfig:
    """How a metric is assessed: the method, its level, and where the analysis window stands."""

    method: AnalysisMethod = AnalysisMethod.SEQUENTIAL
    alpha: float = 0.05
    min_samples: int = 200
    """Candidate exposure (requests) needed before any verdict but Inconclusive."""
    final: bool = False
    """True at the last look (maxDuration): the `fixed` method decides only then."""
    fixed_test: FixedTest | None = None
    """The classical test of the `fixed` method; None: the metric type's default."""
    fail_only: bool = False
    """Only a Fail matters (the evidence carried across steps, whose Pass and interval the step's
    own evidence gives): short of a Fail the result is Inconclusive with the Fail side's e-value,
    and nothing that only describes it (intervals, quantile bounds, the Pass side) is computed. A
    Fail is the whole result, as without it."""


@dataclass(frozen=True)
class MetricTest:
    """One metric's result; every field that applies is filled so status can explain it."""

    verdict: Verdict
    method: str
    """Name of the test, e.g. "mixture-SPRT (conditional binomial)", "Welch t", "PSI"."""
    stable: float | None = None
    candidate: float | None = None
    effect: float | None = None
    interval: tuple[float, float] | None = None
    p_value: float | None = None
    e_value: float | None = None
    cohens_d: float | None = None
    """Standardised difference of binned mean log latency (latency only), descriptive."""
    hedges_g: float | None = None
    """Cohen's d with Hedges' small-sample correction (latency only), descriptive."""
    samples_stable: int = 0
    samples_candidate: int = 0
    explanation: str = ""
    configuration_error: str | None = None
    """A `Reason` value (`MetricNotFound`, `MetricShapeInvalid`) when the query is wrong rather
    than the candidate undecided: the verdict is Inconclusive and the judge never passes on it."""


@dataclass(frozen=True)
class JudgedMetric:
    """A metric's result with how much it counts in the judgement."""

    name: str
    result: MetricTest
    critical: bool = False
    weight: float = 1.0
    dry_run: bool = False
    goal: bool = False
    """An A/B test's goal: its Pass means superior, and it is judged apart from the guardrails
    (`winner`)."""


@dataclass(frozen=True)
class ScoreThresholds:
    """Kayenta's canary-score limits, 0..100: Pass at `passing` or above, Fail below `marginal`.

    Without them the judge is strict: any deciding Fail fails, and Pass needs every metric to
    pass, which is what `ScoreThresholds(100, 100)` does too while every metric weighs above 0.
    """

    passing: float = 100.0
    marginal: float = 100.0


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    score: float
    """Kayenta-style: weighted share of passing metrics, 0..100."""
    explanation: str
    metrics: tuple[JudgedMetric, ...] = field(default_factory=tuple)
