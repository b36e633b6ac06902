"""The operator's own Prometheus metrics: weights, phase and every metric's evidence, so nobody
has to read status to know why a rollout moved."""

from __future__ import annotations

from prometheus_client import Gauge

from ..api.v1alpha1 import ModelRolloutStatus, Phase, Verdict

_LABELS = ("namespace", "rollout", "model")
CANDIDATE_WEIGHT = Gauge("modelrollout_candidate_weight_percent", "Candidate's share of traffic.", _LABELS)
PHASE = Gauge("modelrollout_phase", "1 for the rollout's current phase.", (*_LABELS, "phase"))
VERDICT = Gauge("modelrollout_analysis_verdict", "1 for the last analysis verdict.", (*_LABELS, "verdict"))
METRIC_VALUE = Gauge(
    "modelrollout_analysis_metric_value",
    "Last measured value of an analysis metric per side (stable, candidate, effect, cohens_d).",
    (*_LABELS, "metric", "side"),
)
METRIC_EVIDENCE = Gauge(
    "modelrollout_analysis_metric_evidence",
    "E-value (sequential) or p-value (fixed) of an analysis metric.",
    (*_LABELS, "metric", "kind"),
)

_LABEL_NAMES: tuple[tuple[Gauge, tuple[str, ...]], ...] = (
    (CANDIDATE_WEIGHT, _LABELS),
    (PHASE, (*_LABELS, "phase")),
    (VERDICT, (*_LABELS, "verdict")),
    (METRIC_VALUE, (*_LABELS, "metric", "side")),
    (METRIC_EVIDENCE, (*_LABELS, "metric", "kind")),
)
"""Each gauge with its label names in order (what `Gauge.remove` takes)."""


def export_status(namespace: str, rollout: str, model: str, status: ModelRolloutStatus) -> None:
    labels = (namespace, rollout, model)
    CANDIDATE_WEIGHT.labels(*labels).set(status.candidate_weight)
    for phase in Phase:
        PHASE.labels(*labels, phase.value).set(1 if status.phase is phase else 0)
    analysis = status.analysis
    for verdict in Verdict:
        VERDICT.labels(*labels, verdict.value).set(1 if analysis and analysis.verdict is verdict else 0)
    for metric in analysis.metrics if analysis else []:
        for side, value in (
            ("stable", metric.stable),
            ("candidate", metric.candidate),
            ("effect", metric.effect),
            ("cohens_d", metric.cohens_d),
        ):
            if value is not None:
                METRIC_VALUE.labels(*labels, metric.name, side).set(value)
        if metric.e_value is not None:
            METRIC_EVIDENCE.labels(*labels, metric.name, "e_value").set(metric.e_value)
        if metric.p_value is not None:
            METRIC_EVIDENCE.labels(*labels, metric.name, "p_value").set(metric.p_value)


def forget_rollout(namespace: str, rollout: str) -> None:
    """Remove every series of a deleted rollout (whatever model or metric it named), so `/metrics`
    does not show it forever in its last phase."""
    for gauge, label_names in _LABEL_NAMES:
        label_sets = {
            tuple(sample.labels[name] for name in label_names)
            for family in gauge.collect()
            for sample in family.samples
            if sample.labels.get("namespace") == namespace and sample.labels.get("rollout") == rollout
        }
        for labels in label_sets:
            gauge.remove(*labels)
