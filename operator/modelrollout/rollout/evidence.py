"""One line of evidence per deciding metric, for the verdict Events: a person reading
`kubectl get events` sees why a step passed or failed (values, effect and its interval, e-value
or p-value, samples) without reading status, a Pass as much as a Fail."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..api.v1alpha1 import MetricResult


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3g}"


def evidence_line(metric: MetricResult) -> str:
    """`name Verdict: stable S, candidate C, effect E [low, high], e-value V, samples s/c`,
    each part only when measured."""
    parts = []
    if metric.stable is not None:
        parts.append(f"stable {_number(metric.stable)}")
    if metric.candidate is not None:
        parts.append(f"candidate {_number(metric.candidate)}")
    if metric.effect is not None:
        interval = (
            f" [{_number(metric.interval_low)}, {_number(metric.interval_high)}]"
            if metric.interval_low is not None and metric.interval_high is not None
            else ""
        )
        parts.append(f"effect {_number(metric.effect)}{interval}")
    if metric.e_value is not None:
        parts.append(f"e-value {_number(metric.e_value)}")
    if metric.p_value is not None:
        parts.append(f"p-value {_number(metric.p_value)}")
    if metric.samples_stable is not None or metric.samples_candidate is not None:
        stable = "?" if metric.samples_stable is None else str(metric.samples_stable)
        candidate = "?" if metric.samples_candidate is None else str(metric.samples_candidate)
        parts.append(f"samples {stable}/{candidate}")
    if metric.configuration_error:
        parts.append(metric.configuration_error)
    details = ", ".join(parts) or "no data"
    return f"{metric.name} {metric.verdict.value}: {details}"


def evidence(metrics: Iterable[MetricResult]) -> str:
    """The deciding metrics' lines joined; dry-run metrics decide nothing, so they are left out."""
    return "; ".join(evidence_line(metric) for metric in metrics if not metric.dry_run)
