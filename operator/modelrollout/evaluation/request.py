"""What one analysis interval is asked to evaluate, and what it answers.

Time is cut into intervals aligned to whole multiples of `analysis.interval` since the epoch
(`api.v1alpha1.interval_grid`, which `rollout` shares), so the operator (whenever its timer
fires, and after a restart) and a backtest see exactly the same windows. The evidence at an
evaluation time `at` is every complete interval from the first one that starts at or after the
evidence start up to `at`. The evidence start is the step's own start, or, when evidence carries
across steps (`analysis.evidence: carry`), the start of the rollout's first analysis step, which
the rollout keeps in status (`analysis.evidenceStartedAt`) so a restart re-reads the same window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..analysis import ArmCounts, Judgement
from ..api.v1alpha1 import (
    AnalysisMethod,
    AnalysisSpec,
    AnalysisStatus,
    EvidenceSpan,
    InterleavedStrategy,
    MetricResult,
    ModelRolloutSpec,
    StrategyType,
    Verdict,
    align,
    format_timestamp,
    parse_duration,
)
from ..metrics.queries import MODEL_SERVER_SERIES, DefaultSeries, default_series
from .shadow_probe import ShadowComparison, shadow_comparison


@dataclass(frozen=True)
class EvaluationRequest:
    """One rollout's analysis at one evaluation time."""

    namespace: str
    name: str
    """The ModelRollout's name: candidate pods are `<name>-<candidate_version>-...`."""
    model: str
    stable_version: str
    candidate_version: str
    analysis: AnalysisSpec
    started_at: datetime
    """When this analysis step started: its deadline, its `minSamples` and its Pass count from here."""
    at: datetime
    """Evaluation time; aligned down to a multiple of `analysis.interval`."""
    metrics: tuple[str, ...] | None = None
    """Names of `analysis.metrics` this step runs (a step's `analysis.metrics`); None runs all."""
    max_duration: str | None = None
    """The step's override of `analysis.maxDuration`."""
    presence_at: datetime | None = None
    """When to ask whether a series exists at all (aligned like `at`); None: at `at`. The operator
    passes the present: a final look judged after an outage reads a window Prometheus never saw,
    and a series that exists now proves its name right however late it appeared."""
    series: DefaultSeries = MODEL_SERVER_SERIES
    """The default series of latency, errorRate and drift: the router's with `provider: router`."""
    evidence_started_at: datetime | None = None
    """Where evidence carried across steps begins (`status.analysis.evidenceStartedAt`); None: at
    `started_at`. Used only while it carries (see `carries`)."""
    split_changes: tuple[datetime, ...] = ()
    """When the traffic split changed within the carried evidence (`status.analysis.splitChanges`):
    each stretch between them is counted at its own split. Used only while it carries."""
    interleaved: InterleavedStrategy | None = None
    """An interleaving experiment's settings: its test on the router's wins joins the metrics."""
    shadow: ShadowComparison | None = None
    """A Shadow rollout's comparison: the candidate read from its copies (`shadow_probe`)."""
    bandit: bool = False
    """The step is a bandit's (`strategy.type: Bandit`): the router's bandit counters are read too
    (`EvaluationResult.bandit`)."""

    @property
    def carries(self) -> bool:
        """Evidence runs from before this step: the spec carries it, the sequential method can
        (a fixed-horizon test is valid only on one step looked at once), and it started earlier."""
        analysis = self.analysis
        return (
            analysis.evidence == EvidenceSpan.CARRY
            and analysis.method == AnalysisMethod.SEQUENTIAL
            and self.evidence_started_at is not None
            and self.evidence_started_at < self.started_at
        )

    @property
    def evidence_start(self) -> datetime:
        """Where the evidence that may fail the candidate begins."""
        if self.carries and self.evidence_started_at is not None:
            return self.evidence_started_at
        return self.started_at

    @property
    def interval(self) -> float:
        return parse_duration(self.analysis.interval)

    @property
    def evaluated_at(self) -> datetime:
        return align(self.at, self.interval)

    @property
    def presence_checked_at(self) -> datetime:
        return align(self.presence_at or self.at, self.interval)

    @property
    def deadline(self) -> datetime:
        """When the evidence stops growing and the last look (`final`) happens."""
        seconds = parse_duration(self.max_duration or self.analysis.max_duration)
        return datetime.fromtimestamp(self.started_at.timestamp() + seconds, tz=UTC)

    @property
    def final(self) -> bool:
        return self.evaluated_at >= self.deadline


def request_for_step(
    spec: ModelRolloutSpec,
    *,
    namespace: str,
    name: str,
    started_at: datetime,
    at: datetime,
    step: int | None = None,
    stable_version: str | None = None,
    presence_at: datetime | None = None,
    evidence_started_at: datetime | None = None,
    split_changes: tuple[datetime, ...] = (),
) -> EvaluationRequest:
    """The request for a ModelRollout at canary step `step` (None: all metrics, spec maxDuration).

    One place resolves a step's metric selection and maxDuration, so the controller and the
    backtest cannot drift apart. `stable_version` overrides `spec.stable.version` (the controller
    passes `status.stableVersion`). ValueError when there is no candidate or the step is not an
    analysis step.
    """
    if spec.candidate is None:
        raise ValueError("spec.candidate is not set: there is nothing to compare with the stable")
    metrics: tuple[str, ...] | None = None
    max_duration: str | None = None
    if step is not None:
        analysis = spec.strategy.analysis_at(step)  # a canary step's, or a BlueGreen stage's
        if analysis is None:
            raise ValueError(f"step {step} is not an analysis step (or BlueGreen analysis stage)")
        metrics = tuple(analysis.metrics) if analysis.metrics is not None else None
        max_duration = analysis.max_duration
    return EvaluationRequest(
        namespace=namespace,
        name=name,
        model=spec.model,
        stable_version=stable_version or spec.stable.version,
        candidate_version=spec.candidate.version,
        analysis=spec.analysis,
        started_at=started_at,
        at=at,
        metrics=metrics,
        max_duration=max_duration,
        presence_at=presence_at,
        evidence_started_at=evidence_started_at,
        split_changes=split_changes,
        series=default_series(spec.strategy.traffic.provider),
        interleaved=spec.strategy.interleaved if spec.strategy.type == StrategyType.INTERLEAVED else None,
        shadow=shadow_comparison(spec),
        bandit=spec.strategy.type == StrategyType.BANDIT and step is not None,
    )


@dataclass(frozen=True)
class EvaluationResult:
    """The verdict of one interval with the evidence for status, events and backtests."""

    request: EvaluationRequest
    evaluated_at: datetime
    final: bool
    """The last look: `maxDuration` has passed, so an Inconclusive verdict is the outcome."""
    intervals: int
    """Complete intervals of this step the evidence covers (0 before the first one has ended)."""
    judgement: Judgement
    metrics: tuple[MetricResult, ...]
    source_failed: bool = False
    """A query of this interval failed (Prometheus unreachable or erroring): its Inconclusive
    says nothing about the candidate, so the controller never lets it be the final look."""
    evidence_intervals: int = 0
    """Complete intervals since the evidence start: more than `intervals` when it carries."""
    bandit: tuple[ArmCounts, ...] | None = None
    """A bandit step's counts per version since the step started (the stable first); None for
    other steps, before the first complete interval, and when the counters could not be read."""

    @property
    def verdict(self) -> Verdict:
        return self.judgement.verdict

    @property
    def configuration_error(self) -> str | None:
        """What is wrong with the deciding metrics' queries ("<metric>: <explanation naming the
        query>", one per metric), or None. Such an interval's Inconclusive says nothing about the
        candidate either: the controller holds the step, the backtest exits 3."""
        wrong = [m for m in self.metrics if m.configuration_error is not None and not m.dry_run]
        return "; ".join(f"{m.name}: {m.explanation}" for m in wrong) or None

    @property
    def decisive(self) -> bool:
        """Pass or Fail: the analysis step ends here whatever time is left."""
        return self.verdict is not Verdict.INCONCLUSIVE

    def status(self) -> AnalysisStatus:
        """`status.analysis` as the controller writes it after this interval."""
        return AnalysisStatus(
            verdict=self.verdict,
            score=self.judgement.score,
            started_at=format_timestamp(self.request.started_at),
            last_run=format_timestamp(self.evaluated_at),
            runs=self.intervals,
            evidence_started_at=format_timestamp(self.request.evidence_start),
            evidence_intervals=self.evidence_intervals,
            message=self.judgement.explanation,
            metrics=list(self.metrics),
        )
