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

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..api.v1alpha1 import ModelRolloutStatus, Phase, Verdict, parse_timestamp

_LABELS = ("namespace", "rollout", "model")
CANDIDATE_WEIGHT = Gauge("modelrollout_candidate_weight_percent", "Candidate's share of traffic.", _LABELS)
WEIGHT = Gauge("modelrollout_weight_percent", "Share of traffic per version.", (*_LABELS, "version"))
PHASE = Gauge("modelrollout_phase", "1 for the rollout's current phase.", (*_LABELS, "phase"))
STEP = Gauge("modelrollout_step_index", "Index of the current step (the step count once done).", _LABELS)
STEP_STARTED = Gauge(
    "modelrollout_step_started_timestamp_seconds", "When the current step started (unix seconds).", _LABELS
)
CONDITION = Gauge(
    "modelrollout_condition", "1 for each condition's current status and reason.",
    (*_LABELS, "type", "status", "reason"),
)  # fmt: skip
VERDICT = Gauge("modelrollout_analysis_verdict", "1 for the last analysis verdict.", (*_LABELS, "verdict"))
SCORE = Gauge("modelrollout_analysis_score", "Score of the last analysis interval (0..100).", _LABELS)
METRIC_VERDICT = Gauge(
    "modelrollout_analysis_metric_verdict", "1 for an analysis metric's last verdict.",
    (*_LABELS, "metric", "verdict"),
)  # fmt: skip
METRIC_VALUE = Gauge(
    "modelrollout_analysis_metric_value",
    "Last measured value of an analysis metric per side (stable, candidate, effect, cohens_d).",
    (*_LABELS, "metric", "side"),
)
METRIC_INTERVAL = Gauge(
    "modelrollout_analysis_metric_effect_interval",
    "Bounds of the effect's confidence interval (or sequence) of an analysis metric.",
    (*_LABELS, "metric", "bound"),
)
METRIC_EVIDENCE = Gauge(
    "modelrollout_analysis_metric_evidence",
    "E-value (sequential) or p-value (fixed) of an analysis metric.",
    (*_LABELS, "metric", "kind"),
)
METRIC_SAMPLES = Gauge(
    "modelrollout_analysis_metric_samples",
    "Requests (observations) per version the metric's evidence rests on.",
    (*_LABELS, "metric", "side"),
)
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

_Series = tuple[Gauge, tuple[str, ...]]


@dataclass
class _Exported:
    """What was exported for one rollout: its gauges' series (to remove those it no longer has),
    its step and last analysis run (to tell a new step or interval from the same one again)."""

    phase: Phase
    series: set[_Series] = field(default_factory=set)
    step: tuple[int | None, str | None] = (None, None)
    last_run: str | None = None


_lock = threading.Lock()
_exported: dict[tuple[str, str], _Exported] = {}


def export_status(namespace: str, rollout: str, model: str, status: ModelRolloutStatus) -> None:
    labels = (namespace, rollout, model)
    values = _gauges(labels, status)
    key = (namespace, rollout)
    with _lock:
        previous = _exported.get(key)
        for gauge, series in (previous.series if previous else set()) - values.keys():
            gauge.remove(*series)
        for (gauge, series), value in values.items():
            gauge.labels(*series).set(value)
        now = _Exported(status.phase, set(values), (status.current_step, status.step_started_at))
        analysis = status.analysis
        now.last_run = analysis.last_run if analysis else None
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


def _gauges(labels: tuple[str, str, str], status: ModelRolloutStatus) -> dict[_Series, float]:
    values: dict[_Series, float] = {(CANDIDATE_WEIGHT, labels): status.candidate_weight}
    for version, weight in status.weights.items():
        values[(WEIGHT, (*labels, version))] = weight
    for phase in Phase:
        values[(PHASE, (*labels, phase.value))] = 1 if status.phase is phase else 0
    if status.current_step is not None:
        values[(STEP, labels)] = status.current_step
    started = parse_timestamp(status.step_started_at)
    if started is not None:
        values[(STEP_STARTED, labels)] = started.timestamp()
    for condition in status.conditions:
        values[(CONDITION, (*labels, condition.type, condition.status, condition.reason))] = 1
    analysis = status.analysis
    for verdict in Verdict:
        values[(VERDICT, (*labels, verdict.value))] = 1 if analysis and analysis.verdict is verdict else 0
    if analysis is not None and analysis.score is not None:
        values[(SCORE, labels)] = analysis.score
    for metric in analysis.metrics if analysis else []:
        named = (*labels, metric.name)
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
        exported = _exported.pop((namespace, rollout), None)
        for gauge, series in exported.series if exported else ():
            gauge.remove(*series)
        for verdict in Verdict:
            _remove(VERDICTS, (namespace, rollout, verdict.value))
        _remove(STEP_DURATION, (namespace, rollout))


def _remove(metric: Counter | Histogram, labels: tuple[str, ...]) -> None:
    try:
        metric.remove(*labels)
    except KeyError:
        pass


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


REGISTRY.register(_RolloutsByPhase())
