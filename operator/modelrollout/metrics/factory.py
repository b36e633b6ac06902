"""Picks the `MetricSource` for an analysis spec: Prometheus when configured, else the no-op."""

from __future__ import annotations

from ..api.v1alpha1 import PrometheusSpec, parse_duration
from .nop import NopSource
from .prometheus import PrometheusCredentials, PrometheusSource
from .source import MetricSource

__all__ = ["new_metric_source"]


def new_metric_source(
    spec: PrometheusSpec | None,
    credentials: PrometheusCredentials | None = None,
    *,
    address: str | None = None,
) -> MetricSource:
    """The source for `spec`; `address` overrides the spec's (a backtest pointed elsewhere).

    Without a Prometheus the no-op source (`NopSource`) answers every query with no data, so an
    analysis that lists metrics stays Inconclusive instead of passing on nothing.
    """
    if spec is None and address is None:
        return NopSource()
    return PrometheusSource(
        address or (spec.address if spec else ""),
        timeout=parse_duration(spec.timeout) if spec else 10.0,
        credentials=credentials,
        insecure_skip_verify=spec.insecure_skip_verify if spec else False,
    )
