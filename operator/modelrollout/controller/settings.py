"""Operator settings: one tree of dataclasses, each field documented; handlers receive it, never
read globals or the environment themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..metrics import PrometheusPolicy


@dataclass
class ReconcileSettings:
    resync_seconds: float = 10.0
    """Longest wait between two reconciles of one rollout when nothing changes."""
    poll_seconds: float = 0.5
    """How often a rollout's daemon checks its (in-memory) object for a change."""
    min_delay_seconds: float = 0.5
    """Shortest wait between two reconciles, so a flapping object cannot spin the operator."""


@dataclass
class AnalysisSettings:
    batch_window_seconds: float = 0.2
    """Analysis requests arriving within this window share one round of Prometheus queries."""
    prometheus: PrometheusPolicy = field(default_factory=PrometheusPolicy)
    """Which Prometheus addresses a spec may name and how they are called
    (`--allow-insecure-prometheus`, `--prometheus-allowed-url`)."""


@dataclass
class FinalizerSettings:
    stable_ready_timeout_seconds: float = 120.0
    """How long deletion waits for the stable version to be Available at full size before it
    removes the candidate anyway (the stable's Deployment is kept either way)."""


@dataclass
class OperatorSettings:
    namespaces: list[str] = field(default_factory=list)
    """Namespaces to watch; empty means all (cluster-wide RBAC needed)."""
    kubeconfig: str | None = None
    """A kubeconfig file; None: $KUBECONFIG, then the in-cluster ServiceAccount."""
    metrics_port: int = 0
    """Port of the operator's own /metrics (0: not served)."""
    health_port: int = 0
    """Port of kopf's liveness endpoint /healthz (0: not served)."""
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    finalizer: FinalizerSettings = field(default_factory=FinalizerSettings)
