"""The operator's own Prometheus metrics per rollout: phase, weights, step, conditions and every
analysis metric's evidence, so nobody has to read status to know why a rollout moved.

Each reconcile exports the status it wrote. The series a rollout had and no longer has (a
version out of the weights, a metric removed from the spec, a condition's old reason) are
removed at once, and all of a deleted rollout's go with it (`forget_rollout`), so `/metrics`
never shows a frozen past. The operator-wide instruments (reconcile time, Prometheus queries)
are `instruments`'.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..api.v1alpha1 import ModelRolloutStatus, Phase, Verdict, parse_timestamp

_LABELS = ("namespace", "rollout", "model")


@dataclass(frozen=True)
class _Gauge:
    """One per-rollout gauge family: its name, help and the labels after `_LABELS`."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()


CANDIDATE_WEIGHT = _Gauge("modelrollout_candidate_weight_percent", "Candidate's share of traffic.")
WEIGHT = _Gauge("modelrollout_weight_percent", "Share of traffic per version.", ("version",))
PHASE = _Gauge("modelrollout_phase", "1 for the rollout's current phase.", ("phase",))
STEP = _Gauge("modelrollout_step_index", "Index of the current step (the step count once done).")
STEP_STARTED = _Gauge(
    "modelrollout_step_started_timestamp_seconds", "When the current step started (unix seconds)."
)
CONDITION = _Gauge(
    "modelrollout_condition",
    "1 for each condition's current status and reason.",
    ("type", "status", "reason"),
)
VERDICT = _Gauge("modelrollout_analysis_verdict", "1 for the last analysis verdict.", ("verdict",))
SCORE = _Gauge("modelrollout_analysis_score", "Score of the last analysis interval (0..100).")
METRIC_VERDICT = _Gauge(
    "modelrollout_analysis_metric_verdict", "1 for an analysis metric's last verdict.", ("metric", "verdict")
)
METRIC_VALUE = _Gauge(
    "modelrollout_analysis_metric_value",
    "Last measured value of an analysis metric per side (stable, candidate, effect, cohens_d).",
    ("metric", "side"),
)
METRIC_INTERVAL = _Gauge(
    "modelrollout_analysis_metric_effect_interval",
    "Bounds of the effect's confidence interval (or sequence) of an analysis metric.",
    ("metric", "bound"),
)
METRIC_EVIDENCE = _Gauge(
    "modelrollout_analysis_metric_evidence",
    "E-value (sequential) or p-value (fixed) of an analysis metric.",
    ("metric", "kind"),
)
METRIC_SAMPLES = _Gauge(
    "modelrollout_analysis_metric_samples",
    "Requests (observations) per version the metric's evidence rests on.",
    ("metric", "side"),
)
_GAUGES = (
    CANDIDATE_WEIGHT, WEIGHT, PHASE, STEP, STEP_STARTED, CONDITION, VERDICT, SCORE,
    METRIC_VERDICT, METRIC_VALUE, METRIC_INTERVAL, METRIC_EVIDENCE, METRIC_SAMPLES,
)  # fmt: skip
VERDICTS = Counter(
    "modelrollout_analysis_verdicts",
    "Analysis intervals judged, by verdict.",
    ("namespace", "rollout", "verdict"),
)
STEP_DURATION = Histogram(
    "modelrollout_step_duration_seconds",
    "How long each completed step took, from its start to the next step's.",
    ("namespace", "rollout"),
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400),
)

_Series = tuple[_Gauge, tuple[str, ...]]
"""A gauge and the values of its labels after `_LABELS`."""


@dataclass
class _Exported:
    """What is exported for one rollout: its model label, its gauges' values (held here, not as
    prometheus_client children: a child per series cost about 30 KB per rollout, a dict entry a
    tenth of that), its step and last analysis run (to tell a new step or interval from the same
    one again)."""

    model: str
    phase: Phase
    values: dict[_Series, float] = field(default_factory=dict)
    step: tuple[int | None, str | None] = (None, None)
    last_run: str | None = None


_lock = threading.Lock()
_exported: dict[tuple[str, str], _Exported] = {}


def export_status(namespace: str, rollout: str, model: str, status: ModelRolloutStatus) -> None:
    """Replaces what `rollout` exports by what `status` says: a series it no longer has (a
    version out of the weights, a condition's old reason) is gone from the next scrape."""
    values = _gauges(status)
    key = (namespace, rollout)
    analysis = status.analysis
    now = _Exported(model, status.phase, values, (status.current_step, status.step_started_at))
    now.last_run = analysis.last_run if analysis else None
    with _lock:
        previous = _exported.get(key)
        _exported[key] = now
    if previous is None:
        return  # first sight since the start: what came before was counted by another process
    old_step, old_started = previous.step
    started = parse_timestamp(status.step_started_at)
    began = parse_timestamp(old_started)
    if old_step is not None and status.current_step != old_step and started and began:
        STEP_DURATION.labels(namespace, rollout).observe(max(0.0, (started - began).total_seconds()))
    if analysis and analysis.verdict and analysis.last_run and analysis.last_run != previous.last_run:
        VERDICTS.labels(namespace, rollout, analysis.verdict.value).inc()


def _gauges(status: ModelRolloutStatus) -> dict[_Series, float]:
    values: dict[_Series, float] = {(CANDIDATE_WEIGHT, ()): float(status.candidate_weight)}
    for version, weight in status.weights.items():
        values[(WEIGHT, (version,))] = float(weight)
    for phase in Phase:
        values[(PHASE, (phase.value,))] = 1 if status.phase is phase else 0
    if status.current_step is not None:
        values[(STEP, ())] = status.current_step
    started = parse_timestamp(status.step_started_at)
    if started is not None:
        values[(STEP_STARTED, ())] = started.timestamp()
    for condition in status.conditions:
        values[(CONDITION, (condition.type, condition.status, condition.reason))] = 1
    analysis = status.analysis
    for verdict in Verdict:
        values[(VERDICT, (verdict.value,))] = 1 if analysis and analysis.verdict is verdict else 0
    if analysis is not None and analysis.score is not None:
        values[(SCORE, ())] = analysis.score
    for metric in analysis.metrics if analysis else []:
        named = (metric.name,)
        values[(METRIC_VERDICT, (*named, metric.verdict.value))] = 1
        measured = (
            (METRIC_VALUE, "stable", metric.stable),
            (METRIC_VALUE, "candidate", metric.candidate),
            (METRIC_VALUE, "effect", metric.effect),
            (METRIC_VALUE, "cohens_d", metric.cohens_d),
            (METRIC_INTERVAL, "low", metric.interval_low),
            (METRIC_INTERVAL, "high", metric.interval_high),
            (METRIC_EVIDENCE, "e_value", metric.e_value),
            (METRIC_EVIDENCE, "p_value", metric.p_value),
            (METRIC_SAMPLES, "stable", metric.samples_stable),
            (METRIC_SAMPLES, "candidate", metric.samples_candidate),
        )
        for gauge, side, value in measured:
            if value is not None:
                values[(gauge, (*named, side))] = value
    return values


def forget_rollout(namespace: str, rollout: str) -> None:
    """Remove every series of a deleted rollout (whatever model or metric it named), so `/metrics`
    does not show it forever in its last phase."""
    with _lock:
        _exported.pop((namespace, rollout), None)
        for verdict in Verdict:
            _remove(VERDICTS, (namespace, rollout, verdict.value))
        _remove(STEP_DURATION, (namespace, rollout))


def _remove(metric: Counter | Histogram, labels: tuple[str, ...]) -> None:
    try:
        metric.remove(*labels)
    except KeyError:
        pass


class _RolloutGauges(Collector):
    """Every rollout's gauges, built from `_exported` at each scrape."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from _families().values()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = _families()
        with _lock:
            exported = list(_exported.items())
        for (namespace, rollout), seen in exported:
            for (gauge, labels), value in seen.values.items():
                families[gauge].add_metric((namespace, rollout, seen.model, *labels), value)
        yield from families.values()


def _families() -> dict[_Gauge, GaugeMetricFamily]:
    return {
        gauge: GaugeMetricFamily(gauge.name, gauge.documentation, labels=(*_LABELS, *gauge.labels))
        for gauge in _GAUGES
    }


class _RolloutsByPhase(Collector):
    """`modelrollout_rollouts{namespace, phase}`: how many rollouts are in each phase, counted
    from what was exported (every phase present, 0 included, per namespace seen)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "modelrollout_rollouts", "Rollouts this operator serves, by phase.", labels=("namespace", "phase")
        )
        with _lock:
            phases = [(namespace, exported.phase) for (namespace, _), exported in _exported.items()]
        for namespace in sorted({namespace for namespace, _ in phases}):
            for phase in Phase:
                count = sum(1 for seen in phases if seen == (namespace, phase))
                family.add_metric((namespace, phase.value), count)
        yield family


REGISTRY.register(_RolloutGauges())
REGISTRY.register(_RolloutsByPhase())
